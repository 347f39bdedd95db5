/* fuzz_reader.c — libFuzzer target for the report reader and everything `pferris report` does
 * with what it reads. Any byte sequence must give either a clean refusal or a report that the
 * summary, --flame, --trace, --svg, --diff and --merge all handle without a fault; and a merged
 * report must itself read back as a valid report. Built and run by tests/it_fuzz.sh:
 *   clang -fsanitize=fuzzer,address,undefined -Ilib tests/fuzz/fuzz_reader.c lib/reader.c -ljansson -lm */
#define PFERRIS_NO_MAIN
#include "../../tools/pferris/main.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink) {
        sink = fopen("/dev/null", "w");
        if (!sink)
            abort();
        errout = sink;
    }
    char err[512];
    json_t *r = pf_reader_parse((const char *)data, size, "fuzz.json", err, sizeof err);
    if (!r) {
        if (strncmp(err, "fuzz.json: ", 11) != 0)
            abort(); /* every refusal names its input */
        return 0;
    }
    summary(sink, "fuzz.json", r, 5);
    flame(sink, r, "fuzz.json", 1);
    flame(sink, r, "fuzz.json", 0);
    json_t *rs[2] = {r, r};
    const char *fs[2] = {"a.json", "b.json"};
    trace(sink, rs, fs, 2);
    svg(sink, r, "fuzz.json");
    diff(sink, r, r, "a.json", "b.json", 0, 10);
    diff(sink, r, r, "a.json", "b.json", 1, -1);
    json_t *m = merge(rs, fs, 2);
    if (m) {
        if (pf_reader_check(m, "merged", err, sizeof err) != 0) {
            fprintf(stderr, "a merged report does not read back: %s\n", err);
            abort();
        }
        summary(sink, "merged", m, 5);
        json_decref(m);
    }
    json_decref(r);
    return 0;
}
