/* check_jstr.c — program strings into JSON: valid UTF-8 kept as it is, every other byte as
 * \xNN, the same as jansson's own check on what it accepts. */
#include <string.h>
#include "check_util.h"
#include "report/jstr.h"

static void expect(const char *in, const char *out)
{
    json_t *j = pf_jstr(in);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(j), out);
    json_decref(j);
}

START_TEST(valid_kept)
{
    expect("plain", "plain");
    expect("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    expect("back\\xff", "back\\xff"); /* a backslash of the name's own is not escaped */
    expect(NULL, "?");
}
END_TEST

START_TEST(invalid_escaped)
{
    expect("caf\xe9", "caf\\xe9");                  /* Latin-1 */
    expect("abcdefghijklmn\xc3", "abcdefghijklmn\\xc3"); /* cut inside a character */
    expect("\xc0\xaf", "\\xc0\\xaf");               /* overlong '/' */
    expect("\xed\xa0\x80", "\\xed\\xa0\\x80");      /* a surrogate */
    expect("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* above U+10FFFF */
    expect("\x80ok", "\\x80ok");                    /* a lone continuation byte */
}
END_TEST

START_TEST(agrees_with_jansson)
{
    /* Every two-byte string: pf_jstr_valid says yes exactly when jansson takes it. */
    for (int a = 1; a < 256; a++)
        for (int b = 0; b < 256; b++) {
            char s[3] = {(char)a, (char)b, 0};
            json_t *j = json_string(s);
            ck_assert_int_eq(pf_jstr_valid(s, strlen(s)), j != NULL);
            json_decref(j);
        }
}
END_TEST

START_TEST(keys_escaped)
{
    json_t *o = json_object();
    ck_assert_int_eq(pf_jstr_set(o, "na\xefve", json_integer(3)), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "na\\xefve")), 3);
    json_decref(o);
}
END_TEST

Suite *jstr_suite(void)
{
    Suite *s = suite_create("jstr");
    TCase *tc = pf_tcase(s, "core", 30);
    tcase_add_test(tc, valid_kept);
    tcase_add_test(tc, invalid_escaped);
    tcase_add_test(tc, agrees_with_jansson);
    tcase_add_test(tc, keys_escaped);
    return s;
}
