/* pferris — run a program under the preload, and read, plot, compare and merge its reports.
 *   pferris run [-o PATTERN] [-q] [--] PROGRAM [ARGS...]          run.c
 *   pferris report [--top N] [--json] FILE...                     summary.c
 *   pferris report --flame heap|time|cpu FILE...  folded stacks   flame.c
 *   pferris report --trace FILE...                Chrome Trace    trace.c
 *   pferris report --svg FILE                     heap and lanes  svg.c
 *   pferris report --diff BEFORE AFTER [--fail-above PCT] [--json]  diff.c
 *   pferris report --merge FILE...                one report      merge.c
 *   pferris report --pprof [heap|time|waits|cpu] FILE  pprof protobuf  pprof.c
 *   pferris report --speedscope FILE              speedscope JSON speedscope.c
 *   pferris top [--once] [--json] [PID]          live processes  top.c
 * This file parses the command line and hands each report to its output. Reports are untrusted
 * input: every one goes through tools/common/reader.c, which checks the type of every known
 * field, and every figure read tolerates a missing field (json.c). Exit codes: 0, 1 when
 * --fail-above is crossed, 2 for a usage error or a bad report; `run` passes the program's. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pferris.h"
#include "cmd.h"

typedef enum {
    M_TEXT, M_FLAME, M_TRACE, M_SVG, M_DIFF, M_MERGE, M_PPROF, M_SPEEDSCOPE
} report_mode_t;

typedef struct {
    report_mode_t mode;
    const char *mode_opt; /* the option that chose the mode */
    int as_json, flame;
    pf_pprof_kind_t pprof;
    double top, fail_above;
    const char **files;
    int nf;
} report_opts_t;

/* The value of an option, from min to max. 0, or -1 (said). */
static int parse_number(const char *opt, const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = s ? strtod(s, &end) : NAN;
    if (!s || !*s || *end || errno || !(v >= min && v <= max)) {
        pf_text_say(stderr, "%s needs a number from %g to %g, not '%s'", opt, min, max,
                    s ? s : "");
        return -1;
    }
    *out = v;
    return 0;
}

/* One option at argv[*i] (its value taken too). The mode it chooses, -1 for none, -2 for a
 * usage error (said), -3 for help. */
static int parse_option(report_opts_t *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help"))
        return -3;
    if (!strcmp(a, "--json")) {
        o->as_json = 1;
    } else if (!strcmp(a, "--top")) {
        if (parse_number("--top", *i + 1 < argc ? argv[++*i] : NULL, 1, 1e6, &o->top) < 0)
            return -2;
    } else if (!strcmp(a, "--fail-above")) {
        if (parse_number("--fail-above", *i + 1 < argc ? argv[++*i] : NULL, 0, 1e12,
                         &o->fail_above) < 0)
            return -2;
    } else if (!strcmp(a, "--flame")) {
        const char *k = *i + 1 < argc ? argv[++*i] : "";
        if (strcmp(k, "heap") && strcmp(k, "time") && strcmp(k, "cpu")) {
            pf_text_say(stderr, "--flame takes 'heap', 'time' or 'cpu', not '%s'", k);
            return -2;
        }
        o->flame = !strcmp(k, "heap") ? PF_FLAME_HEAP : !strcmp(k, "cpu") ? PF_FLAME_CPU : PF_FLAME_TIME;
        return M_FLAME;
    } else if (!strcmp(a, "--pprof")) {
        /* The kind is optional: a following word that is no kind is a file. */
        const char *k = *i + 1 < argc ? argv[*i + 1] : "";
        static const char *const kinds[] = {"heap", "time", "waits", "cpu"};
        for (int j = 0; j < 4; j++)
            if (!strcmp(k, kinds[j])) {
                o->pprof = (pf_pprof_kind_t)j;
                ++*i;
            }
        return M_PPROF;
    } else if (!strcmp(a, "--speedscope")) {
        return M_SPEEDSCOPE;
    } else if (!strcmp(a, "--trace")) {
        return M_TRACE;
    } else if (!strcmp(a, "--svg")) {
        return M_SVG;
    } else if (!strcmp(a, "--diff")) {
        return M_DIFF;
    } else if (!strcmp(a, "--merge")) {
        return M_MERGE;
    } else if (a[0] == '-' && a[1]) {
        pf_text_say(stderr, "report: unknown option '%s'", a);
        return -2;
    } else {
        o->files[o->nf++] = a;
    }
    return -1;
}

/* The command line of `report`: 0, 1 for help, or -1 for a usage error (said). */
static int parse_args(report_opts_t *o, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--")) {
            while (++i < argc)
                o->files[o->nf++] = argv[i];
            break;
        }
        const char *opt = argv[i];
        int mode = parse_option(o, argc, argv, &i);
        if (mode == -3)
            return 1;
        if (mode == -2)
            return -1;
        if (mode >= 0) {
            if (o->mode != M_TEXT) {
                pf_text_say(stderr, "report: %s and %s cannot be used together", o->mode_opt,
                            opt);
                return -1;
            }
            o->mode = (report_mode_t)mode;
            o->mode_opt = opt;
        }
    }
    return 0;
}

/* The options that go together, and the number of files. 0, or -1 (said). */
static int check_args(const report_opts_t *o)
{
    if (!o->nf)
        pf_text_say(stderr, "report: name at least one report file");
    else if (o->mode == M_DIFF && o->nf != 2)
        pf_text_say(stderr, "report --diff compares two reports: BEFORE AFTER (%d given)", o->nf);
    else if (o->mode == M_SVG && o->nf != 1)
        pf_text_say(stderr, "report --svg draws one report (%d given)", o->nf);
    else if ((o->mode == M_PPROF || o->mode == M_SPEEDSCOPE) && o->nf != 1)
        pf_text_say(stderr, "report %s writes one profile of one report (%d given; combine "
                            "reports with --merge first)", o->mode_opt, o->nf);
    else if (o->mode == M_PPROF && isatty(1))
        pf_text_say(stderr, "report --pprof writes gzipped protobuf: redirect it to a file "
                            "(> out.pb.gz)");
    else if (o->fail_above >= 0 && o->mode != M_DIFF)
        pf_text_say(stderr, "report: --fail-above goes with --diff");
    else if (o->as_json && o->mode != M_TEXT && o->mode != M_DIFF)
        pf_text_say(stderr,
                    "report: --json goes with the summary or --diff (%s writes its own format)",
                    o->mode_opt);
    else
        return 0;
    return -1;
}

/* The summary of each report, or with --json the reports as normalised JSON. */
static void write_text(const report_opts_t *o, json_t **reports)
{
    if (!o->as_json) {
        for (int i = 0; i < o->nf; i++)
            pf_summary_print(stdout, o->files[i], reports[i], (size_t)o->top);
        return;
    }
    json_t *doc = o->nf == 1 ? json_incref(reports[0]) : json_array();
    for (int i = 0; o->nf > 1 && i < o->nf; i++)
        json_array_append(doc, reports[i]);
    json_dumpf(doc, stdout, JSON_INDENT(1) | JSON_SORT_KEYS | JSON_REAL_PRECISION(9));
    fputc('\n', stdout);
    json_decref(doc);
}

/* The output of the chosen mode on stdout: 0, 1 (--fail-above crossed) or 2. */
static int write_output(const report_opts_t *o, json_t **reports)
{
    int rc = 0;
    switch (o->mode) {
    case M_TEXT: write_text(o, reports); break;
    case M_FLAME:
        for (int i = 0; i < o->nf && rc == 0; i++)
            rc = pf_flame_write(stdout, stderr, reports[i], o->files[i], o->flame);
        break;
    case M_TRACE: rc = pf_trace_write(stdout, reports, o->files, o->nf); break;
    case M_SVG: rc = pf_svg_write(stdout, stderr, reports[0], o->files[0]); break;
    case M_DIFF:
        rc = pf_diff_write(stdout, stderr, reports[0], reports[1], o->files[0], o->files[1],
                           o->as_json, o->fail_above);
        break;
    case M_PPROF: rc = pf_pprof_write(stdout, stderr, reports[0], o->files[0], o->pprof); break;
    case M_SPEEDSCOPE: rc = pf_speedscope_write(stdout, stderr, reports[0], o->files[0]); break;
    case M_MERGE: {
        json_t *m = pf_merge_reports(reports, o->files, o->nf);
        if (!m || json_dumpf(m, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(9)) != 0)
            rc = 2;
        fputc('\n', stdout);
        json_decref(m);
        break;
    }
    }
    return rc;
}

/* Every file is read before anything is written: a bad one stops the command, so that a
 * partial output is never taken for a whole one. */
static int load_and_write(const report_opts_t *o)
{
    json_t **reports = calloc((size_t)o->nf, sizeof *reports);
    if (!reports)
        return 2;
    int rc = 0;
    for (int i = 0; i < o->nf; i++)
        if (!(reports[i] = pf_json_load(o->files[i], stderr)))
            rc = 2;
    if (rc == 0)
        rc = write_output(o, reports);
    for (int i = 0; i < o->nf; i++)
        json_decref(reports[i]);
    free(reports);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        pf_text_say(stderr, "cannot write the output: %s", strerror(errno));
        return 2;
    }
    return rc;
}

static int cmd_report(int argc, char **argv)
{
    report_opts_t o = {.mode = M_TEXT, .flame = PF_FLAME_HEAP, .top = 5, .fail_above = -1};
    o.files = calloc((size_t)argc + 1, sizeof *o.files);
    if (!o.files)
        return 2;
    int rc = parse_args(&o, argc, argv);
    if (rc == 1) {
        pf_usage_print(stdout);
        rc = 0;
    } else if (rc < 0 || check_args(&o) < 0) {
        pf_usage_print(stderr);
        rc = 2;
    } else {
        rc = load_and_write(&o);
    }
    free(o.files);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        pf_usage_print(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        pf_usage_print(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("pferris %s (reports %s)\n", PFERRIS_VERSION, PFERRIS_SCHEMA);
        return 0;
    }
    if (!strcmp(argv[1], "run"))
        return pf_run_command(argc - 2, argv + 2);
    if (!strcmp(argv[1], "report"))
        return cmd_report(argc - 2, argv + 2);
    if (!strcmp(argv[1], "top"))
        return pf_top_command(argc - 2, argv + 2);
    pf_text_say(stderr, "unknown command '%s'", argv[1]);
    pf_usage_print(stderr);
    return 2;
}
