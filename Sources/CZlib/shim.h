// A stdio stream that reads a gzip file's decompressed bytes, so that libpcap (which reads
// from a FILE *) reads .pcap.gz and .pcapng.gz as tshark does. glibc's fopencookie is a GNU
// extension the Glibc module leaves out; its table of functions is declared here as glibc lays
// it out.
#include <limits.h>
#include <stdio.h>
#include <sys/types.h>
#include <zlib.h>

typedef struct {
    ssize_t (*read)(void *cookie, char *buffer, size_t size);
    ssize_t (*write)(void *cookie, const char *buffer, size_t size);
    int (*seek)(void *cookie, long long *offset, int whence);
    int (*close)(void *cookie);
} ftpscope_cookie_functions;

extern FILE *fopencookie(void *cookie, const char *mode, ftpscope_cookie_functions functions);

static ssize_t ftpscope_gz_read(void *cookie, char *buffer, size_t size) {
    int n = gzread((gzFile)cookie, buffer, (unsigned)(size > INT_MAX ? INT_MAX : size));
    return n < 0 ? -1 : n;
}

static int ftpscope_gz_close(void *cookie) {
    return gzclose((gzFile)cookie) == Z_OK ? 0 : -1;
}

/// Opens `path` (gzip-compressed) as a stream of its decompressed bytes; NULL when it cannot
/// be opened. `*compressed` is left pointing at the gzip handle, for how far it has read.
static inline FILE *ftpscope_gzip_fopen(const char *path, gzFile *compressed) {
    gzFile g = gzopen(path, "rb");
    if (g == NULL) return NULL;
    gzbuffer(g, 1 << 20);
    ftpscope_cookie_functions functions = { ftpscope_gz_read, NULL, NULL, ftpscope_gz_close };
    FILE *f = fopencookie(g, "r", functions);
    if (f == NULL) { gzclose(g); return NULL; }
    if (compressed != NULL) *compressed = g;
    return f;
}
