// stdio streams that read a compressed stream's decompressed bytes, so that libpcap (which reads
// from a FILE *) reads gzip-, zstd- and lz4-compressed captures as tshark does, from a file or
// from a pipe. Each decompressor reads from a FILE * it owns, closed with its stream (or on
// failure to open): a file, or standard input with the bytes read to tell its kind put back.
// glibc's fopencookie is a GNU extension the Glibc module leaves out; its table of functions is
// declared here as glibc lays it out.
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/// A read-only stream over `cookie`; `close` frees it when the stream cannot be made.
static inline FILE *ftpscope_stream(void *cookie, ssize_t (*read)(void *, char *, size_t), int (*close)(void *)) {
    ftpscope_cookie_functions functions = { read, NULL, NULL, close };
    FILE *f = fopencookie(cookie, "r", functions);
    if (f == NULL) close(cookie);
    return f;
}

// --- A pipe read once, its start kept: the bytes read to tell its kind are put back, and the
// first bytes read (up to a limit) are kept so that it can be read from its start once more —
// what a pcapng file whose interfaces differ needs (libpcap stops at the second interface; the
// reader that takes over starts again from the section header).

typedef struct {
    FILE *file;
    /// Bytes read from `file` so far, while there are at most `limit` of them; served again
    /// from `position` (the put-back bytes first, then a second reading).
    unsigned char *kept;
    size_t length, capacity, position, limit;
    /// More than `limit` bytes were read: the start is gone.
    int overflowed;
    /// Whether closing this stream closes `file` (the second reading leaves it to the first).
    int ownsFile;
} ftpscope_replay;

static ssize_t ftpscope_replay_read(void *cookie, char *buffer, size_t size) {
    ftpscope_replay *r = (ftpscope_replay *)cookie;
    if (r->position < r->length) {
        size_t n = r->length - r->position < size ? r->length - r->position : size;
        memcpy(buffer, r->kept + r->position, n);
        r->position += n;
        return (ssize_t)n;
    }
    size_t n = fread(buffer, 1, size, r->file);
    if (n == 0) return ferror(r->file) ? -1 : 0;
    if (!r->overflowed && r->kept != NULL) {
        if (r->length + n > r->limit) {
            r->overflowed = 1;
            free(r->kept); r->kept = NULL; r->length = r->capacity = r->position = 0;
        } else {
            if (r->length + n > r->capacity) {
                size_t capacity = r->capacity * 2 < r->length + n ? r->length + n : r->capacity * 2;
                unsigned char *grown = (unsigned char *)realloc(r->kept, capacity);
                if (grown == NULL) { r->overflowed = 1; free(r->kept); r->kept = NULL; r->length = r->capacity = r->position = 0; return (ssize_t)n; }
                r->kept = grown; r->capacity = capacity;
            }
            memcpy(r->kept + r->length, buffer, n);
            r->length += n;
            r->position = r->length;
        }
    }
    return (ssize_t)n;
}

static int ftpscope_replay_close(void *cookie) {
    ftpscope_replay *r = (ftpscope_replay *)cookie;
    int result = r->ownsFile ? fclose(r->file) : 0;
    free(r->kept);
    free(r);
    return result;
}

static inline FILE *ftpscope_replay_stream(ftpscope_replay *r) {
    return ftpscope_stream(r, ftpscope_replay_read, ftpscope_replay_close);
}

/// `in` read from its start again: `prefix` (already read from it) first, and the first
/// `limit` bytes kept for `ftpscope_replay_again`. `*state` is left pointing at its state.
static inline FILE *ftpscope_replay_open(FILE *in, const unsigned char *prefix, size_t length, size_t limit,
                                         ftpscope_replay **state) {
    ftpscope_replay *r = (ftpscope_replay *)calloc(1, sizeof *r);
    size_t capacity = length > 4096 ? length : 4096;
    unsigned char *kept = r != NULL ? (unsigned char *)malloc(capacity) : NULL;
    if (kept == NULL || length > limit) { free(kept); free(r); fclose(in); return NULL; }
    memcpy(kept, prefix, length);
    *r = (ftpscope_replay){ .file = in, .kept = kept, .length = length, .capacity = capacity, .limit = limit, .ownsFile = 1 };
    if (state != NULL) *state = r;
    return ftpscope_replay_stream(r);
}

/// The same stream from its start once more, while its start is kept: its kept bytes, then
/// on from where the pipe is. The first stream must not be read again. NULL when the start is gone.
static inline FILE *ftpscope_replay_again(ftpscope_replay *first) {
    if (first->overflowed || first->kept == NULL) return NULL;
    ftpscope_replay *r = (ftpscope_replay *)calloc(1, sizeof *r);
    if (r == NULL) return NULL;
    *r = (ftpscope_replay){ .file = first->file, .kept = first->kept, .length = first->length,
                            .capacity = first->capacity, .limit = first->limit, .overflowed = 1, .ownsFile = 0 };
    first->kept = NULL; first->length = first->capacity = first->position = 0;
    first->overflowed = 1;
    return ftpscope_replay_stream(r);
}

/// What every decompressor keeps: its source and how much of it has been consumed (progress).
typedef struct {
    FILE *file;
    unsigned char *input;
    size_t capacity, position, size;
    /// Compressed bytes consumed so far, for progress.
    long long consumed;
    /// The decompressor's word for why it stopped on damaged data; NULL while the data is sound.
    const char *error;
} ftpscope_source;

/// Stops on damaged data: libpcap then reports a read error, whose errno would otherwise be
/// whatever an unrelated call left.
static inline ssize_t ftpscope_source_damaged(ftpscope_source *s, const char *why, size_t produced) {
    s->error = why != NULL ? why : "damaged data";
    if (produced > 0) return (ssize_t)produced;
    errno = EBADMSG;
    return -1;
}

/// Fills an emptied input buffer: 1 with bytes, 0 at the end, -1 on a read error.
static inline int ftpscope_source_fill(ftpscope_source *s) {
    if (s->position < s->size) return 1;
    size_t n = fread(s->input, 1, s->capacity, s->file);
    s->position = 0; s->size = n;
    if (n == 0) return ferror(s->file) ? -1 : 0;
    return 1;
}

static inline int ftpscope_source_init(ftpscope_source *s, FILE *in, size_t capacity) {
    s->file = in;
    s->capacity = capacity;
    s->input = (unsigned char *)malloc(capacity);
    return s->input != NULL;
}

static inline int ftpscope_source_close(ftpscope_source *s) {
    free(s->input);
    return s->file != NULL ? fclose(s->file) : 0;
}

// --- gzip through zlib's inflate: members one after another (`cat a.gz b.gz`, what gzip -c
// appends), bytes after the last member ignored as gzip itself does.

typedef struct {
    ftpscope_source source;
    z_stream stream;
    int ended;
} ftpscope_gzip;

static ssize_t ftpscope_gzip_read(void *cookie, char *buffer, size_t size) {
    ftpscope_gzip *z = (ftpscope_gzip *)cookie;
    uInt room = (uInt)(size > UINT_MAX ? UINT_MAX : size);
    z->stream.next_out = (Bytef *)buffer;
    z->stream.avail_out = room;
    while (z->stream.avail_out == room && !z->ended) {
        int filled = ftpscope_source_fill(&z->source);
        if (filled <= 0) return filled;  // cut short: the reader sees a truncation
        z->stream.next_in = z->source.input + z->source.position;
        z->stream.avail_in = (uInt)(z->source.size - z->source.position);
        int r = inflate(&z->stream, Z_NO_FLUSH);
        size_t used = (z->source.size - z->source.position) - z->stream.avail_in;
        z->source.position += used;
        z->source.consumed += (long long)used;
        if (r == Z_STREAM_END) {
            // Another member follows only if its magic does.
            if (ftpscope_source_fill(&z->source) > 0 && z->source.input[z->source.position] == 0x1F) inflateReset(&z->stream);
            else z->ended = 1;
        } else if (r != Z_OK && r != Z_BUF_ERROR) {
            z->ended = 1;  // damaged: what came before stands, then the end
            return ftpscope_source_damaged(&z->source, z->stream.msg, room - z->stream.avail_out);
        }
    }
    return (ssize_t)(room - z->stream.avail_out);
}

static int ftpscope_gzip_close(void *cookie) {
    ftpscope_gzip *z = (ftpscope_gzip *)cookie;
    inflateEnd(&z->stream);
    int r = ftpscope_source_close(&z->source);
    free(z);
    return r;
}

/// `in` (gzip-compressed) as a stream of its decompressed bytes; NULL when it cannot be set
/// up. `*state` is left pointing at the decompressor's state, for how far it has read.
static inline FILE *ftpscope_gzip_open(FILE *in, ftpscope_gzip **state) {
    ftpscope_gzip *z = (ftpscope_gzip *)calloc(1, sizeof *z);
    if (z == NULL) { fclose(in); return NULL; }
    // 16 + MAX_WBITS: a gzip header and trailer around the deflate stream.
    int ready = ftpscope_source_init(&z->source, in, 1 << 16) && inflateInit2(&z->stream, 16 + MAX_WBITS) == Z_OK;
    if (!ready) { ftpscope_source_close(&z->source); free(z); return NULL; }
    FILE *f = ftpscope_stream(z, ftpscope_gzip_read, ftpscope_gzip_close);
    if (f != NULL && state != NULL) *state = z;
    return f;
}

// --- zstd through its streaming decompressor. Frames follow one another (zstd -c a b > c).

typedef struct {
    ftpscope_source source;
    ZSTD_DStream *stream;
} ftpscope_zstd;

static ssize_t ftpscope_zstd_read(void *cookie, char *buffer, size_t size) {
    ftpscope_zstd *z = (ftpscope_zstd *)cookie;
    // A block at a time: an error keeps back all a call decoded, so blocks before a damaged
    // one reach the reader only if they were handed over in calls of their own.
    if (size > ZSTD_DStreamOutSize()) size = ZSTD_DStreamOutSize();
    ZSTD_outBuffer output = { buffer, size, 0 };
    while (output.pos == 0) {
        int filled = ftpscope_source_fill(&z->source);
        if (filled <= 0) return filled;  // cut short: the reader sees a truncation
        ZSTD_inBuffer input = { z->source.input, z->source.size, z->source.position };
        size_t r = ZSTD_decompressStream(z->stream, &output, &input);
        z->source.consumed += (long long)(input.pos - z->source.position);
        z->source.position = input.pos;
        if (ZSTD_isError(r)) return ftpscope_source_damaged(&z->source, ZSTD_getErrorName(r), output.pos);
    }
    return (ssize_t)output.pos;
}

static int ftpscope_zstd_close(void *cookie) {
    ftpscope_zstd *z = (ftpscope_zstd *)cookie;
    ZSTD_freeDStream(z->stream);
    int r = ftpscope_source_close(&z->source);
    free(z);
    return r;
}

/// `in` (zstd-compressed) as a stream of its decompressed bytes; NULL when it cannot be set up.
/// `*state` is left pointing at the decompressor's state, for how far it has read.
static inline FILE *ftpscope_zstd_open(FILE *in, ftpscope_zstd **state) {
    ftpscope_zstd *z = (ftpscope_zstd *)calloc(1, sizeof *z);
    if (z == NULL) { fclose(in); return NULL; }
    z->stream = ZSTD_createDStream();
    int ready = ftpscope_source_init(&z->source, in, ZSTD_DStreamInSize())
        && z->stream != NULL && !ZSTD_isError(ZSTD_initDStream(z->stream));
    if (!ready) { ftpscope_zstd_close(z); return NULL; }
    FILE *f = ftpscope_stream(z, ftpscope_zstd_read, ftpscope_zstd_close);
    if (f != NULL && state != NULL) *state = z;
    return f;
}

// --- lz4 frames (what `lz4` and Wireshark's "compress with LZ4" write), one after another, and
// skippable frames between them, all handled by lz4frame's decompressor.

typedef struct {
    ftpscope_source source;
    LZ4F_dctx *context;
} ftpscope_lz4;

static ssize_t ftpscope_lz4_read(void *cookie, char *buffer, size_t size) {
    ftpscope_lz4 *z = (ftpscope_lz4 *)cookie;
    size_t produced = 0;
    while (produced == 0 && size > 0) {
        int filled = ftpscope_source_fill(&z->source);
        if (filled <= 0) return filled;  // cut short: the reader sees a truncation
        size_t out = size, in = z->source.size - z->source.position;
        size_t r = LZ4F_decompress(z->context, buffer, &out, z->source.input + z->source.position, &in, NULL);
        z->source.position += in;
        z->source.consumed += (long long)in;
        produced = out;
        if (LZ4F_isError(r)) return ftpscope_source_damaged(&z->source, LZ4F_getErrorName(r), produced);
    }
    return (ssize_t)produced;
}

static int ftpscope_lz4_close(void *cookie) {
    ftpscope_lz4 *z = (ftpscope_lz4 *)cookie;
    if (z->context != NULL) LZ4F_freeDecompressionContext(z->context);
    int r = ftpscope_source_close(&z->source);
    free(z);
    return r;
}

/// `in` (lz4 frames) as a stream of its decompressed bytes; NULL when it cannot be set up.
/// `*state` is left pointing at the decompressor's state, for how far it has read.
static inline FILE *ftpscope_lz4_open(FILE *in, ftpscope_lz4 **state) {
    ftpscope_lz4 *z = (ftpscope_lz4 *)calloc(1, sizeof *z);
    if (z == NULL) { fclose(in); return NULL; }
    int ready = ftpscope_source_init(&z->source, in, 1 << 16)
        && !LZ4F_isError(LZ4F_createDecompressionContext(&z->context, LZ4F_VERSION));
    if (!ready) { ftpscope_lz4_close(z); return NULL; }
    FILE *f = ftpscope_stream(z, ftpscope_lz4_read, ftpscope_lz4_close);
    if (f != NULL && state != NULL) *state = z;
    return f;
}

// --- A data connection's deflated bytes (FTP's MODE Z): zlib's inflateInit2 is a macro Swift
// cannot call.

/// Sets up `stream` (zeroed, at an address that does not move) for a zlib stream, or raw
/// deflate when `raw`; Z_OK when ready.
static inline int ftpscope_inflate_init(z_stream *stream, int raw) {
    return inflateInit2(stream, raw ? -MAX_WBITS : MAX_WBITS);
}
