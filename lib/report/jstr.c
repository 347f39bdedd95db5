/* jstr.c — program strings into JSON, escaped where they are not UTF-8 (see jstr.h). */
#include "report/jstr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t seq_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    if (c == 0)
        return 0;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

int pf_jstr_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t k = seq_len(u + i, len - i);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

/* s with every byte outside a valid sequence as \xNN: malloc'd, NULL on no memory. */
static char *escape(const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    char *out = malloc(4 * len + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len;) {
        size_t k = seq_len(u + i, len - i);
        if (k) {
            memcpy(o, u + i, k);
            o += k;
            i += k;
        } else {
            *o++ = '\\';
            *o++ = 'x';
            *o++ = hex[u[i] >> 4];
            *o++ = hex[u[i] & 15];
            i++;
        }
    }
    *o = '\0';
    return out;
}

json_t *pf_jstr(const char *s)
{
    if (!s)
        s = "?";
    size_t len = strlen(s);
    if (pf_jstr_valid(s, len))
        return json_stringn(s, len);
    char *e = escape(s, len);
    json_t *j = e ? json_string(e) : NULL;
    free(e);
    return j;
}

int pf_jstr_set(json_t *obj, const char *key, json_t *value)
{
    size_t len = strlen(key);
    if (pf_jstr_valid(key, len))
        return json_object_set_new(obj, key, value);
    char *e = escape(key, len);
    if (!e) {
        json_decref(value);
        return -1;
    }
    int rc = json_object_set_new(obj, e, value);
    free(e);
    return rc;
}
