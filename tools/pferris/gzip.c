/* gzip.c — protobuf sections through one gzip stream, for pprof's files (pprof.c). */
#include "gzip.h"

#include <zlib.h>

/* Compresses n bytes (flush Z_FINISH ends the stream) and writes what comes out. 0, or -1. */
static int deflate_out(z_stream *z, FILE *out, const uint8_t *data, size_t n, int flush)
{
    unsigned char buf[65536];
    for (;;) {
        /* zlib counts input in uInt: a larger section goes in by pieces. */
        size_t piece = n < (1u << 30) ? n : (1u << 30);
        z->next_in = (Bytef *)data;
        z->avail_in = (uInt)piece;
        int f = piece == n ? flush : Z_NO_FLUSH, zr;
        do {
            z->next_out = buf;
            z->avail_out = sizeof buf;
            zr = deflate(z, f);
            size_t have = sizeof buf - z->avail_out;
            if (zr == Z_STREAM_ERROR || (have && fwrite(buf, 1, have, out) != have))
                return -1;
        } while (z->avail_out == 0 || (f == Z_FINISH && zr != Z_STREAM_END));
        n -= piece;
        if (!n)
            return 0;
        data += piece;
    }
}

/* The sections in field order, through one gzip stream (zlib, windowBits 15 + 16). */
int pf_gzip_write(FILE *out, pf_proto_t **parts, size_t n)
{
    z_stream z = {0};
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = deflate_out(&z, out, parts[i]->buf, parts[i]->len, Z_NO_FLUSH);
    if (rc == 0)
        rc = deflate_out(&z, out, NULL, 0, Z_FINISH);
    deflateEnd(&z);
    return rc;
}
