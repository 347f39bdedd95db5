/* proto.h — a small protocol buffers writer for the tools (pprof's profile.proto): varints,
 * length-delimited fields, embedded messages and packed repeated varints, into a growing
 * buffer. Encoding only, no schema: the caller names field numbers. Tool side only. */
#ifndef PF_PROTO_H
#define PF_PROTO_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    int failed; /* memory ran out: every later write is dropped, the caller checks once */
} pf_proto_t;

/* A varint field (wire type 0): uint64, int64 (two's complement, ten bytes when negative) and
 * bool. Proto3 leaves out zero values; so do these. */
void pf_proto_uint(pf_proto_t *p, uint32_t field, uint64_t v);
void pf_proto_int(pf_proto_t *p, uint32_t field, int64_t v);
/* A length-delimited field (wire type 2): bytes or a string (written even when empty, as a
 * repeated string must be: pprof's string_table[0] is ""). */
void pf_proto_bytes(pf_proto_t *p, uint32_t field, const void *data, size_t n);
void pf_proto_string(pf_proto_t *p, uint32_t field, const char *s);
/* A packed repeated varint field; nothing when n is 0. */
void pf_proto_packed(pf_proto_t *p, uint32_t field, const uint64_t *v, size_t n);
/* An embedded message: pf_proto_begin writes the tag and returns a mark; the message's fields
 * follow; pf_proto_end puts the length in front of them. Messages nest. */
size_t pf_proto_begin(pf_proto_t *p, uint32_t field);
void pf_proto_end(pf_proto_t *p, size_t mark);
/* Frees the buffer. */
void pf_proto_free(pf_proto_t *p);

#endif
