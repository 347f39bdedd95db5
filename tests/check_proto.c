/* check_proto.c — the protobuf writer (tools/common/proto.c): byte-exact encodings from the
 * protocol buffers documentation, nesting whose lengths need more than one byte, and the
 * out-of-memory flag. */
#include <check.h>
#include <stdint.h>
#include <string.h>
#include "check_util.h"
#include "common/proto.h"

static void expect_bytes(const pf_proto_t *p, const uint8_t *want, size_t n)
{
    ck_assert(!p->failed);
    ck_assert_uint_eq(p->len, n);
    ck_assert(memcmp(p->buf, want, n) == 0);
}

START_TEST(proto_scalars)
{
    pf_proto_t p = {0};
    pf_proto_uint(&p, 1, 150);          /* the documentation's example: 08 96 01 */
    pf_proto_uint(&p, 2, 0);            /* zero: left out */
    pf_proto_int(&p, 3, -1);            /* int64 -1: ten bytes */
    pf_proto_string(&p, 2, "testing");  /* 12 07 74 65 73 74 69 6e 67 */
    pf_proto_string(&p, 6, "");         /* an empty string is still a field */
    static const uint8_t want[] = {0x08, 0x96, 0x01, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0x01, 0x12, 0x07, 't',  'e',  's',  't',
                                   'i',  'n',  'g',  0x32, 0x00};
    expect_bytes(&p, want, sizeof want);
    pf_proto_free(&p);
}
END_TEST

START_TEST(proto_packed_and_nested)
{
    pf_proto_t p = {0};
    uint64_t v[] = {3, 270, 86942};
    pf_proto_packed(&p, 4, v, 3);       /* 22 06 03 8e 02 9e a7 05 */
    pf_proto_packed(&p, 5, v, 0);       /* nothing */
    size_t outer = pf_proto_begin(&p, 3);
    size_t inner = pf_proto_begin(&p, 1);
    pf_proto_uint(&p, 1, 150);
    pf_proto_end(&p, inner);
    pf_proto_end(&p, outer);
    static const uint8_t want[] = {0x22, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05,
                                   0x1a, 0x05, 0x0a, 0x03, 0x08, 0x96, 0x01};
    expect_bytes(&p, want, sizeof want);
    pf_proto_free(&p);

    /* A body of 300 bytes: its length takes two bytes, put in front of it. */
    char big[301];
    memset(big, 'x', 300);
    big[300] = '\0';
    size_t m = pf_proto_begin(&p, 2);
    pf_proto_string(&p, 1, big);
    pf_proto_end(&p, m);
    ck_assert_uint_eq(p.len, 1 + 2 + 1 + 2 + 300);
    static const uint8_t head[] = {0x12, 0xaf, 0x02, 0x0a, 0xac, 0x02};
    ck_assert(memcmp(p.buf, head, sizeof head) == 0);
    ck_assert_int_eq(p.buf[p.len - 1], 'x');
    pf_proto_free(&p);
}
END_TEST

Suite *proto_suite(void)
{
    Suite *s = suite_create("proto");
    TCase *tc = pf_tcase(s, "proto", 10);
    tcase_add_test(tc, proto_scalars);
    tcase_add_test(tc, proto_packed_and_nested);
    return s;
}
