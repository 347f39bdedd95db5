/* proto.c — the protocol buffers writer (see proto.h). Wire format:
 * https://protobuf.dev/programming-guides/encoding/ — a field is a varint tag
 * (field << 3 | wire type) and its value; a varint holds 7 bits a byte, low bits first, with
 * the top bit set on every byte but the last. */
#include "common/proto.h"

#include <stdlib.h>
#include <string.h>

enum { WIRE_VARINT = 0, WIRE_LEN = 2 };

/* Room for n more bytes; 0, or -1 (and p->failed) when memory runs out. */
static int reserve(pf_proto_t *p, size_t n)
{
    if (p->failed)
        return -1;
    if (p->len + n <= p->cap)
        return 0;
    size_t c = p->cap ? p->cap : 256;
    while (c < p->len + n)
        c *= 2;
    uint8_t *b = realloc(p->buf, c);
    if (!b) {
        p->failed = 1;
        return -1;
    }
    p->buf = b;
    p->cap = c;
    return 0;
}

/* v as a varint into out (at least 10 bytes); its length. */
static size_t varint_encode(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

static void raw_varint(pf_proto_t *p, uint64_t v)
{
    if (reserve(p, 10) == 0)
        p->len += varint_encode(p->buf + p->len, v);
}

static void tag(pf_proto_t *p, uint32_t field, unsigned wire)
{
    raw_varint(p, (uint64_t)field << 3 | wire);
}

void pf_proto_uint(pf_proto_t *p, uint32_t field, uint64_t v)
{
    if (v == 0)
        return;
    tag(p, field, WIRE_VARINT);
    raw_varint(p, v);
}

void pf_proto_int(pf_proto_t *p, uint32_t field, int64_t v)
{
    pf_proto_uint(p, field, (uint64_t)v);
}

void pf_proto_bytes(pf_proto_t *p, uint32_t field, const void *data, size_t n)
{
    tag(p, field, WIRE_LEN);
    raw_varint(p, n);
    if (n && reserve(p, n) == 0) {
        memcpy(p->buf + p->len, data, n);
        p->len += n;
    }
}

void pf_proto_string(pf_proto_t *p, uint32_t field, const char *s)
{
    pf_proto_bytes(p, field, s, strlen(s));
}

void pf_proto_packed(pf_proto_t *p, uint32_t field, const uint64_t *v, size_t n)
{
    if (!n)
        return;
    size_t mark = pf_proto_begin(p, field);
    for (size_t i = 0; i < n; i++)
        raw_varint(p, v[i]);
    pf_proto_end(p, mark);
}

size_t pf_proto_begin(pf_proto_t *p, uint32_t field)
{
    tag(p, field, WIRE_LEN);
    return p->len;
}

/* The body is written first; its length, known only now, is moved in front of it. */
void pf_proto_end(pf_proto_t *p, size_t mark)
{
    if (p->failed || mark > p->len)
        return;
    uint8_t len[10];
    size_t body = p->len - mark, n = varint_encode(len, body);
    if (reserve(p, n) != 0)
        return;
    memmove(p->buf + mark + n, p->buf + mark, body);
    memcpy(p->buf + mark, len, n);
    p->len += n;
}

void pf_proto_free(pf_proto_t *p)
{
    free(p->buf);
    *p = (pf_proto_t){0};
}
