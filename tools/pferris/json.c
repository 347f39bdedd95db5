/* json.c — reading figures from a report for the `pferris` tool. Every report went through
 * tools/common/reader.c, which checked the type of every known field; a field may still be
 * missing, so every accessor here tolerates that. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/reader.h"
#include "cmd.h"

double pf_json_numv(const json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : NAN;
}

double pf_json_num(const json_t *o, const char *key)
{
    return pf_json_numv(key ? json_object_get(o, key) : o);
}

double pf_json_num0(const json_t *o, const char *key)
{
    double v = pf_json_num(o, key);
    return isfinite(v) ? v : 0;
}

long long pf_json_thread_rows(const json_t *th)
{
    json_t *n = json_object_get(th, PF_KEY_OTHER_THREADS);
    return json_is_integer(n) ? (long long)json_integer_value(n) : 1;
}

long long pf_json_threads_total(const json_t *r)
{
    json_t *n = json_object_get(json_object_get(r, PF_KEY_WORKERS), PF_KEY_THREADS_TOTAL);
    if (json_is_integer(n))
        return (long long)json_integer_value(n);
    long long sum = 0;
    size_t i;
    json_t *th;
    json_array_foreach(json_object_get(r, PF_KEY_THREADS), i, th)
        sum += pf_json_thread_rows(th);
    return sum;
}

const char *pf_json_str(const json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : dflt;
}

long long pf_json_to_ll(double v)
{
    if (!(v == v))
        return 0;
    if (v >= 9.2e18)
        return INT64_MAX;
    if (v <= -9.2e18)
        return INT64_MIN;
    return llround(v);
}

json_int_t pf_json_add_sat(json_int_t a, json_int_t b)
{
    json_int_t r;
    if (__builtin_add_overflow(a, b, &r))
        return a > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

json_t *pf_json_number(double v)
{
    if (!isfinite(v))
        return json_null();
    if (v == floor(v) && fabs(v) < 9e15)
        return json_integer((json_int_t)v);
    return json_real(v);
}

double pf_json_iso_epoch(const char *s)
{
    int y, mo, d, h, mi;
    double sec;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%lf", &y, &mo, &d, &h, &mi, &sec) != 6)
        return NAN;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || !(sec >= 0 && sec < 61))
        return NAN;
    /* Days from civil (Howard Hinnant's algorithm): no time zone files, no locale. */
    long long yy = y - (mo <= 2);
    long long era = (yy >= 0 ? yy : yy - 399) / 400;
    long long yoe = yy - era * 400, mp = (mo + 9) % 12;
    long long doy = (153 * mp + 2) / 5 + d - 1, doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    long long days = era * 146097 + doe - 719468;
    return (double)days * 86400 + h * 3600 + mi * 60 + sec;
}

/* ---- the processes of a report (a merged report holds several) ---------------------------- */

size_t pf_json_process_count(json_t *r)
{
    json_t *p = json_object_get(r, PF_KEY_PROCESSES);
    return json_is_array(p) ? json_array_size(p) : 1;
}

json_t *pf_json_process(json_t *r, size_t i)
{
    json_t *p = json_object_get(r, PF_KEY_PROCESSES);
    return json_is_array(p) ? json_array_get(p, i) : r;
}

const char *pf_json_program_name(json_t *r)
{
    const char *a0 = json_string_value(json_array_get(json_object_get(r, PF_KEY_COMMAND), 0));
    if (!a0 || !*a0)
        return "process";
    const char *b = strrchr(a0, '/');
    return b && b[1] ? b + 1 : a0;
}

json_t *pf_json_load(const char *file, FILE *err)
{
    char msg[512];
    json_t *r = pf_reader_load(file, msg, sizeof msg);
    if (!r)
        pf_text_say(err, "%s", msg);
    return r;
}

/* ---- sorting ------------------------------------------------------------------------------ */

int pf_json_by_value_desc(const void *a, const void *b)
{
    const pf_entry_t *x = a, *y = b;
    if (x->value < y->value || (isnan(x->value) && !isnan(y->value)))
        return 1;
    if (x->value > y->value || (!isnan(x->value) && isnan(y->value)))
        return -1;
    return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

pf_entry_t *pf_json_sorted_object(json_t *obj, const char *field, size_t *n)
{
    *n = json_object_size(obj);
    pf_entry_t *e = calloc(*n ? *n : 1, sizeof *e);
    if (!e) {
        *n = 0;
        return NULL;
    }
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        if (k == *n)
            break;
        e[k++] = (pf_entry_t){key, field ? pf_json_num(v, field) : pf_json_numv(v), v};
    }
    *n = k;
    qsort(e, k, sizeof *e, pf_json_by_value_desc);
    return e;
}
