/* check_reader.c — the report reader (tools/common/reader.c): what it accepts, and the message
 * it gives for each way a report can be wrong; and the timeline whose section it reads
 * (lib/runtime/timeline.c, lib/report/timeline_json.c): built while threads record into it, it
 * reads back valid and whole. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include "check_util.h"
#include "pferris.h"
#include "common/reader.h"
#include "runtime/timeline.h"
#include "session/session.h"

static char err[512];

static json_t *parse(const char *text)
{
    err[0] = '\0';
    return pf_reader_parse(text, strlen(text), "r.json", err, sizeof err);
}

#define ck_rejects(text, msg)                                                                  \
    do {                                                                                       \
        json_t *r_ = parse(text);                                                              \
        ck_assert_ptr_null(r_);                                                                \
        ck_assert_msg(strstr(err, msg) != NULL, "message '%s' lacks '%s'", err, msg);          \
        ck_assert_msg(strncmp(err, "r.json: ", 8) == 0, "message '%s' does not name the file", \
                      err);                                                                    \
    } while (0)

START_TEST(accepts_minimal_and_full)
{
    json_t *r = parse("{\"schema\": \"pferris-report/1\"}");
    ck_assert_ptr_nonnull(r);
    json_decref(r);
    r = parse("{\"schema\": \"pferris-report/1\", \"pid\": 5, \"timings\": {\"a\": 1.5},"
              " \"timing_tree\": [{\"name\": \"a\", \"count\": 1, \"total\": 1, \"self\": 1,"
              " \"children\": []}], \"heap\": {\"sites\": [{\"frames\": [{\"symbol\": \"f\","
              " \"module\": \"m\", \"offset\": 3}], \"bytes\": 2.5, \"allocations\": 1,"
              " \"live_bytes\": 0}]}, \"workers\": {\"requested\": null},"
              " \"future_key\": [1, \"x\"], \"rank\": 3}");
    ck_assert_msg(r != NULL, "%s", err);
    json_decref(r);
}
END_TEST

START_TEST(rejects_bad_input)
{
    ck_rejects("", "is empty");
    ck_rejects(" \n", "only white space");
    ck_rejects("not json", "is not valid JSON");
    ck_rejects("{\"schema\": \"pferris-report/1\", \"timings\": {", "is truncated");
    ck_rejects("[]", "not a pferris report (an array");
    ck_rejects("{}", "no \"schema\" key");
    ck_rejects("{\"schema\": 1}", "\"schema\" is an integer");
    ck_rejects("{\"schema\": \"pferris-report/9\"}", "schema 'pferris-report/9'");
    ck_rejects("{\"schema\": \"pferris-report/1\", \"counters\": {\"a\": 1.5}}",
               "\"counters.a\" is a real number; expected an integer");
    ck_rejects("{\"schema\": \"pferris-report/1\", \"threads\": [{\"tid\": \"x\"}]}",
               "\"threads[0].tid\" is a string");
    ck_rejects("{\"schema\": \"pferris-report/1\", \"timeline\": {\"intervals\": [{\"start\":"
               " null}]}}",
               "\"timeline.intervals[0].start\" is null; expected a number");
    ck_rejects("{\"schema\": \"pferris-report/1\", \"processes\": [{\"heap\": []}]}",
               "\"processes[0].heap\" is an array; expected an object");
    ck_rejects("{\"schema\": \"pferris-report/1\", \"x\": 1, \"x\": 2}", "duplicate");
    ck_rejects("{\"schema\": \"pferris-report/1\", \"s\": \"a\\u0000b\"}", "not valid JSON");
    ck_rejects("{\"schema\": \"pferris-report/1\", \"n\": 1e999}", "not valid JSON");
}
END_TEST

START_TEST(deep_nesting_is_bounded)
{
    /* Deeper than any report: refused by the parser's depth limit, not by the stack. */
    size_t depth = 100000;
    char *s = malloc(2 * depth + 64);
    ck_assert_ptr_nonnull(s);
    size_t n = (size_t)sprintf(s, "{\"schema\": \"pferris-report/1\", \"x\": ");
    for (size_t i = 0; i < depth; i++)
        s[n++] = '[';
    for (size_t i = 0; i < depth; i++)
        s[n++] = ']';
    s[n++] = '}';
    json_t *r = pf_reader_parse(s, n, "deep.json", err, sizeof err);
    ck_assert_ptr_null(r);
    ck_assert_msg(strstr(err, "deep.json: is not valid JSON") != NULL, "%s", err);
    free(s);
}
END_TEST

START_TEST(file_errors)
{
    json_t *r = pf_reader_load("/nonexistent/r.json", err, sizeof err);
    ck_assert_ptr_null(r);
    ck_assert_str_eq(err, "/nonexistent/r.json: cannot open: No such file or directory");
    r = pf_reader_load("/", err, sizeof err);
    ck_assert_ptr_null(r);
    ck_assert_str_eq(err, "/: is a directory, not a report file");
    char path[] = "/tmp/pf_reader_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *text = "{\"schema\": \"pferris-report/1\", \"pid\": 42}";
    ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    r = pf_reader_load(path, err, sizeof err);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(json_integer_value(json_object_get(r, "pid")), 42);
    json_decref(r);
    unlink(path);
}
END_TEST

START_TEST(tiny_error_buffer)
{
    char small[8];
    json_t *r = pf_reader_parse("x", 1, "a-long-file-name.json", small, sizeof small);
    ck_assert_ptr_null(r);
    ck_assert_uint_lt(strlen(small), sizeof small);
    ck_assert_ptr_null(pf_reader_parse("x", 1, NULL, NULL, 0));
}
END_TEST

Suite *reader_suite(void)
{
    Suite *s = suite_create("reader");
    TCase *tc = pf_tcase(s, "reader", 30);
    tcase_add_test(tc, accepts_minimal_and_full);
    tcase_add_test(tc, rejects_bad_input);
    tcase_add_test(tc, deep_nesting_is_bounded);
    tcase_add_test(tc, file_errors);
    tcase_add_test(tc, tiny_error_buffer);
    return s;
}

/* ---- the timeline ------------------------------------------------------------------------ */

#define TL_THREADS 4
#define TL_ITERS   500

static void *tl_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < TL_ITERS; i++) {
        pferris_timer_start("tl_outer");
        pferris_timer_start("tl_inner");
        pferris_timer_stop("tl_inner");
        pferris_timer_stop("tl_outer");
        pferris_count("tl_items", 1);
    }
    return NULL;
}

/* Reports taken while threads record intervals and the sampler samples (TSan checks the
 * ordering); the last one, after the threads, has every interval and agrees with the timers. */
START_TEST(timeline_while_recording)
{
    setenv("PFERRIS_INTERVAL_MS", "1", 1);
    setenv("SLURM_PROCID", "7", 1);
    pf_session_init(0); /* reads the rank */
    pf_timeline_start();
    ck_assert_int_eq(pf_timeline_on, 1);
    pthread_t th[TL_THREADS];
    for (int i = 0; i < TL_THREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, tl_worker, NULL), 0);
    for (int k = 0; k < 3; k++) {
        json_t *r = pferris_get_report(pferris_default());
        ck_assert_ptr_nonnull(r);
        ck_assert_msg(pf_reader_check(r, "live", err, sizeof err) == 0, "%s", err);
        json_decref(r);
    }
    for (int i = 0; i < TL_THREADS; i++)
        pthread_join(th[i], NULL);
    json_t *r = pferris_get_report(pferris_default());
    ck_assert_msg(pf_reader_check(r, "final", err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(json_integer_value(json_object_get(r, "rank")), 7);
    json_t *tl = json_object_get(r, "timeline");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(tl, "dropped"), "intervals")),
                     0);
    size_t i, outer = 0, inner = 0;
    json_t *iv;
    double sum = 0;
    json_array_foreach(json_object_get(tl, "intervals"), i, iv)
    {
        const char *name = json_string_value(json_object_get(iv, "name"));
        double s = json_number_value(json_object_get(iv, "start")),
               e = json_number_value(json_object_get(iv, "end"));
        ck_assert(e >= s && s >= 0);
        if (strcmp(name, "tl_outer") == 0) {
            outer++;
            sum += e - s;
        }
        inner += strcmp(name, "tl_inner") == 0;
    }
    ck_assert_uint_eq(outer, TL_THREADS * TL_ITERS);
    ck_assert_uint_eq(inner, TL_THREADS * TL_ITERS);
    double total = json_number_value(json_object_get(json_object_get(r, "timings"), "tl_outer"));
    ck_assert_near(sum, total, 1e-6 + 1e-6 * total);
    /* The last sample is of the report's moment; the sampler's own are there before it. */
    ck_assert_uint_ge(json_array_size(json_object_get(tl, "samples")), 1);
    json_decref(r);
}
END_TEST

Suite *timeline_suite(void)
{
    Suite *s = suite_create("timeline");
    TCase *tc = pf_tcase(s, "timeline", 60);
    tcase_add_test(tc, timeline_while_recording);
    return s;
}
