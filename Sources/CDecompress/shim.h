// stdio streams that read a compressed file's decompressed bytes, so that libpcap (which reads
// from a FILE *) reads gzip-, zstd- and lz4-compressed captures as tshark does. glibc's fopencookie
// is a GNU extension the Glibc module leaves out; its table of functions is declared here as
// glibc lays it out.
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <zlib.h>
#include <zstd.h>
#include <lz4frame.h>

typedef struct {
    ssize_t (*read)(void *cookie, char *buffer, size_t size);
    ssize_t (*write)(void *cookie, const char *buffer, size_t size);
    int (*seek)(void *cookie, long long *offset, int whence);
    int (*close)(void *cookie);
} ftpscope_cookie_functions;

extern FILE *fopencookie(void *cookie, const char *mode, ftpscope_cookie_functions functions);

// --- gzip, through zlib's gzread.

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

// --- zstd, through its streaming decompressor. Frames follow one another (zstd -c a b > c).

typedef struct {
    FILE *file;
    ZSTD_DStream *stream;
    ZSTD_inBuffer input;
    void *inputStorage;
    size_t inputCapacity;
    /// Compressed bytes consumed so far, for progress.
    long long consumed;
} ftpscope_zstd;

static ssize_t ftpscope_zstd_read(void *cookie, char *buffer, size_t size) {
    ftpscope_zstd *z = (ftpscope_zstd *)cookie;
    ZSTD_outBuffer output = { buffer, size, 0 };
    while (output.pos == 0) {
        if (z->input.pos == z->input.size) {
            size_t n = fread(z->inputStorage, 1, z->inputCapacity, z->file);
            if (n == 0) return ferror(z->file) ? -1 : 0;  // a stream cut short ends here too: the reader sees a truncation
            z->input.src = z->inputStorage; z->input.size = n; z->input.pos = 0;
        }
        size_t before = z->input.pos;
        size_t r = ZSTD_decompressStream(z->stream, &output, &z->input);
        z->consumed += (long long)(z->input.pos - before);
        if (ZSTD_isError(r)) return output.pos > 0 ? (ssize_t)output.pos : -1;
    }
    return (ssize_t)output.pos;
}

static int ftpscope_zstd_close(void *cookie) {
    ftpscope_zstd *z = (ftpscope_zstd *)cookie;
    ZSTD_freeDStream(z->stream);
    free(z->inputStorage);
    int r = fclose(z->file);
    free(z);
    return r;
}

/// Opens `path` (zstd-compressed) as a stream of its decompressed bytes; NULL when it cannot be
/// opened. `*state` is left pointing at the decompressor's state, for how far it has read.
static inline FILE *ftpscope_zstd_fopen(const char *path, ftpscope_zstd **state) {
    FILE *in = fopen(path, "rb");
    if (in == NULL) return NULL;
    ftpscope_zstd *z = (ftpscope_zstd *)calloc(1, sizeof *z);
    if (z == NULL) { fclose(in); return NULL; }
    z->file = in;
    z->stream = ZSTD_createDStream();
    z->inputCapacity = ZSTD_DStreamInSize();
    z->inputStorage = malloc(z->inputCapacity);
    if (z->stream == NULL || z->inputStorage == NULL || ZSTD_isError(ZSTD_initDStream(z->stream))) {
        ftpscope_zstd_close(z);
        return NULL;
    }
    ftpscope_cookie_functions functions = { ftpscope_zstd_read, NULL, NULL, ftpscope_zstd_close };
    FILE *f = fopencookie(z, "r", functions);
    if (f == NULL) { ftpscope_zstd_close(z); return NULL; }
    if (state != NULL) *state = z;
    return f;
}

// --- lz4 frames (what `lz4` and Wireshark's "compress with LZ4" write), one after another, and
// skippable frames between them, all handled by lz4frame's decompressor.

typedef struct {
    FILE *file;
    LZ4F_dctx *context;
    unsigned char *input;
    size_t inputCapacity, inputPos, inputSize;
    /// Compressed bytes consumed so far, for progress.
    long long consumed;
} ftpscope_lz4;

static ssize_t ftpscope_lz4_read(void *cookie, char *buffer, size_t size) {
    ftpscope_lz4 *z = (ftpscope_lz4 *)cookie;
    size_t produced = 0;
    while (produced == 0 && size > 0) {
        if (z->inputPos == z->inputSize) {
            size_t n = fread(z->input, 1, z->inputCapacity, z->file);
            if (n == 0) return ferror(z->file) ? -1 : 0;  // cut short: the reader sees a truncation
            z->inputPos = 0; z->inputSize = n;
        }
        size_t out = size, in = z->inputSize - z->inputPos;
        size_t r = LZ4F_decompress(z->context, buffer, &out, z->input + z->inputPos, &in, NULL);
        z->inputPos += in;
        z->consumed += (long long)in;
        produced = out;
        if (LZ4F_isError(r)) return produced > 0 ? (ssize_t)produced : -1;
    }
    return (ssize_t)produced;
}

static int ftpscope_lz4_close(void *cookie) {
    ftpscope_lz4 *z = (ftpscope_lz4 *)cookie;
    if (z->context != NULL) LZ4F_freeDecompressionContext(z->context);
    free(z->input);
    int r = fclose(z->file);
    free(z);
    return r;
}

/// Opens `path` (lz4 frames) as a stream of its decompressed bytes; NULL when it cannot be
/// opened. `*state` is left pointing at the decompressor's state, for how far it has read.
static inline FILE *ftpscope_lz4_fopen(const char *path, ftpscope_lz4 **state) {
    FILE *in = fopen(path, "rb");
    if (in == NULL) return NULL;
    ftpscope_lz4 *z = (ftpscope_lz4 *)calloc(1, sizeof *z);
    if (z == NULL) { fclose(in); return NULL; }
    z->file = in;
    z->inputCapacity = 1 << 16;
    z->input = (unsigned char *)malloc(z->inputCapacity);
    if (z->input == NULL || LZ4F_isError(LZ4F_createDecompressionContext(&z->context, LZ4F_VERSION))) {
        ftpscope_lz4_close(z);
        return NULL;
    }
    ftpscope_cookie_functions functions = { ftpscope_lz4_read, NULL, NULL, ftpscope_lz4_close };
    FILE *f = fopencookie(z, "r", functions);
    if (f == NULL) { ftpscope_lz4_close(z); return NULL; }
    if (state != NULL) *state = z;
    return f;
}
