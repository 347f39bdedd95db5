/* fuzz_reader.c — libFuzzer target for the report reader and everything `pferris report` does
 * with what it reads. Any byte sequence must give either a clean refusal or a report that the
 * summary, --flame, --trace, --svg, --diff, --merge, --pprof and --speedscope all handle without
 * a fault; and a merged report must itself read back as a valid report. Built and run by tests/it_fuzz.sh, with every
 * file of the tool but its main.c:
 *   clang -fsanitize=fuzzer,address,undefined -Ilib -Itools tests/fuzz/fuzz_reader.c \
 *     tools/pferris/<all but main>.c tools/common/*.c lib/report/jstr.c -ljansson -lz -lm */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/reader.h"
#include "pferris/cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink) {
        sink = fopen("/dev/null", "w");
        if (!sink)
            abort();
    }
    char err[512];
    json_t *r = pf_reader_parse((const char *)data, size, "fuzz.json", err, sizeof err);
    if (!r) {
        if (strncmp(err, "fuzz.json: ", 11) != 0)
            abort(); /* every refusal names its input */
        return 0;
    }
    pf_summary_print(sink, "fuzz.json", r, 5);
    pf_flame_write(sink, sink, r, "fuzz.json", PF_FLAME_HEAP);
    pf_flame_write(sink, sink, r, "fuzz.json", PF_FLAME_TIME);
    pf_flame_write(sink, sink, r, "fuzz.json", PF_FLAME_CPU);
    json_t *rs[2] = {r, r};
    const char *fs[2] = {"a.json", "b.json"};
    pf_trace_write(sink, rs, fs, 2);
    pf_svg_write(sink, sink, r, "fuzz.json");
    pf_diff_write(sink, sink, r, r, "a.json", "b.json", 0, 10);
    pf_diff_write(sink, sink, r, r, "a.json", "b.json", 1, -1);
    pf_pprof_write(sink, sink, r, "fuzz.json", PF_PPROF_HEAP);
    pf_pprof_write(sink, sink, r, "fuzz.json", PF_PPROF_TIME);
    pf_pprof_write(sink, sink, r, "fuzz.json", PF_PPROF_WAITS);
    pf_pprof_write(sink, sink, r, "fuzz.json", PF_PPROF_CPU);
    pf_speedscope_write(sink, sink, r, "fuzz.json");
    json_t *m = pf_merge_reports(rs, fs, 2);
    if (m) {
        if (pf_reader_check(m, "merged", err, sizeof err) != 0) {
            fprintf(stderr, "a merged report does not read back: %s\n", err);
            abort();
        }
        pf_summary_print(sink, "merged", m, 5);
        pf_pprof_write(sink, sink, m, "merged", PF_PPROF_HEAP);
        pf_pprof_write(sink, sink, m, "merged", PF_PPROF_WAITS);
        pf_pprof_write(sink, sink, m, "merged", PF_PPROF_CPU);
        pf_speedscope_write(sink, sink, m, "merged");
        json_decref(m);
    }
    json_decref(r);
    return 0;
}
