/* cmd.h — what the files of the `pferris` tool share: figures read from a report (json.c),
 * human units and tables (text.c, table.c), a call site as text (site.c), and one entry point
 * per command or output. Internal to the tool; the fuzz target (tests/fuzz/fuzz_reader.c) drives
 * every output through it. Functions that write take their error stream as a parameter, so that
 * the fuzz target can silence it. */
#ifndef PF_CMD_H
#define PF_CMD_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include "report/keys.h"

/* ---- json.c: figures (types were checked by the reader; fields may still be missing) ---- */

/* The number v, or NAN when it is not one. */
double pf_json_numv(const json_t *v);
/* The figure o[key], or o itself when key is NULL; NAN when it is not a number. */
double pf_json_num(const json_t *o, const char *key);
/* The same, 0 when missing or not finite. */
double pf_json_num0(const json_t *o, const char *key);
/* How many threads a row of "threads" stands for: its other_threads (the row that sums the
 * threads a report does not list), else 1. */
long long pf_json_thread_rows(const json_t *th);
/* The threads a report recorded: workers.threads_total, else its rows' counts summed. */
long long pf_json_threads_total(const json_t *r);
/* The string o[key], or dflt. */
const char *pf_json_str(const json_t *o, const char *key, const char *dflt);
/* A double as an integer without undefined behaviour for any input. */
long long pf_json_to_ll(double v);
/* a + b, saturated at the limits of json_int_t. */
json_int_t pf_json_add_sat(json_int_t a, json_int_t b);
/* A figure as JSON: an integer when it holds one, null when not finite. */
json_t *pf_json_number(double v);
/* Seconds since the epoch of an ISO 8601 UTC time "YYYY-MM-DDTHH:MM:SS(.mmm)Z"; NAN if not. */
double pf_json_iso_epoch(const char *s);

/* The processes of a report: a merged report holds several, any other report is one. */
size_t pf_json_process_count(json_t *r);
json_t *pf_json_process(json_t *r, size_t i);
/* The base name of the program a process ran, or "process". */
const char *pf_json_program_name(json_t *r);

/* A report read from a file ("-" for stdin), or NULL with the reader's message on err. */
json_t *pf_json_load(const char *file, FILE *err);

typedef struct {
    const char *name;
    double value;
    json_t *v;
} pf_entry_t;

/* qsort order: the largest value first (NAN last), then by name. */
int pf_json_by_value_desc(const void *a, const void *b);
/* The entries of an object, sorted by the figure field of each value (the value itself when
 * field is NULL), heaviest first; *n of them, to be freed. */
pf_entry_t *pf_json_sorted_object(json_t *obj, const char *field, size_t *n);

/* ---- text.c: messages and human units ------------------------------------------------------ */

/* "pferris: " and the message, on err. */
void pf_text_say(FILE *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Formatted figures live in a ring of PF_TEXT_RING buffers of PF_TEXT_SIZE bytes, so that
 * several may appear in one printf; a caller may format into pf_text_buffer() itself. */
#define PF_TEXT_RING 32
#define PF_TEXT_SIZE 48
char *pf_text_buffer(void);
const char *pf_text_sec(double s);
const char *pf_text_bytes(double v);
const char *pf_text_count(double v);
/* A change in percent ("+12.5%"), "new" or "gone" for an infinite one, "-" for NAN. */
const char *pf_text_pct(double p);

/* A copy of s that is safe on a terminal (control bytes shown as '?') and at most
 * PF_TEXT_CELL_MAX columns wide; to be freed. NULL when memory runs out. */
#define PF_TEXT_CELL_MAX 72
char *pf_text_cell(const char *s);
/* UTF-8 aware width: continuation bytes take no column. */
int pf_text_width(const char *s);

/* ---- table.c: aligned tables ----------------------------------------------------------------- */

#define PF_TABLE_COLUMNS 10

typedef struct {
    int n;
    const char *head[PF_TABLE_COLUMNS];
    const char *align; /* 'l' or 'r' per column */
    char **cells;
    size_t rows, cap;
} pf_table_t;

/* A table of strlen(align) columns; the column heads follow align. */
void pf_table_init(pf_table_t *t, const char *align, ...);
/* One row: a string (NULL for an empty cell) per column, each copied through pf_text_cell. */
void pf_table_row(pf_table_t *t, ...);
/* Writes the table, two spaces in, and frees its rows. */
void pf_table_print(FILE *out, pf_table_t *t);

/* ---- site.c: call sites ---------------------------------------------------------------------- */

/* A site's frames as text joined by sep: every frame outermost first (the folded-stack order;
 * frames are stored innermost first), or with innermost > 0, that many innermost first (where
 * the allocation happened, for a table) — when the stack has Python frames that those would not
 * reach, the innermost frame, "...", and that many frames from the innermost Python one. To be
 * freed; NULL when memory runs out. */
char *pf_site_stack(json_t *site, const char *sep, int innermost);
/* One frame as text: its function, else module+0xoffset, else "[unknown]"; a Python frame as
 * "function (file.py:line)"; never a ';' or a line break. */
void pf_site_frame_text(json_t *frame, char *buf, size_t n);
/* Whether a frame is a Python one ("language": "python"): no addr2line for it. */
int pf_site_is_python(json_t *frame);

/* What a module (an ELF file named by a frame) says about itself. Module paths come from
 * untrusted reports: a module is opened only when it is a regular file, without blocking. */
typedef struct {
    unsigned long long link_base; /* the lowest PT_LOAD address: 0 for PIE and shared objects */
    unsigned long long link_end;  /* the end of the highest PT_LOAD segment */
    char build_id[129];           /* the GNU build ID in hex, or "" */
    int executable;               /* ET_EXEC: loaded at its link address */
} pf_site_module_t;
/* 0, or -1 when module is no readable 64-bit ELF file. */
int pf_site_module(const char *module, pf_site_module_t *m);

/* A frame's source file and line, from the module's debug information through binutils'
 * addr2line (the source --top and --pprof show). */
typedef struct {
    const char *module;        /* in: the frame's module path */
    unsigned long long offset; /* in: the frame's offset in it */
    char file[512];            /* out: the source file, or "" */
    long line;                 /* out: its line, or 0 */
} pf_site_source_t;
/* Resolves n frames, with one addr2line per module and per 256 frames of it. */
void pf_site_sources(pf_site_source_t *q, size_t n);

/* ---- the outputs ----------------------------------------------------------------------------- */

/* usage.c: the usage text. */
void pf_usage_print(FILE *out);
/* summary.c: the text summary of a report, with the top heaviest call sites. */
void pf_summary_print(FILE *out, const char *file, json_t *r, size_t top);
/* Adds PF_KEY_SOURCE (file:line) to a site's innermost frames, for the tables. */
void pf_summary_annotate(json_t *site, size_t frames);
/* summary_cpu.c: "where the CPU time goes"; and the function with the most self samples (to be
 * freed), with its share in percent and its seconds, or NULL. */
void pf_summary_cpu(FILE *out, json_t *r, size_t top);
char *pf_summary_cpu_hottest(json_t *r, double *share, double *sec);
/* summary_waits.c: the waits section; and the bottleneck line when one lock holds the threads
 * more than 20% of their time (1 when printed). */
void pf_summary_waits(FILE *out, json_t *r, size_t top);
int pf_summary_wait_bottleneck(FILE *out, json_t *r);
/* flame.c: folded stacks of timer self time, heap bytes or sampled CPU time. 0, or 2. */
enum { PF_FLAME_TIME, PF_FLAME_HEAP, PF_FLAME_CPU };
int pf_flame_write(FILE *out, FILE *err, json_t *r, const char *file, int kind);
/* trace.c: Chrome Trace Event JSON of n reports. 0, or 2 when it cannot be written. */
int pf_trace_write(FILE *out, json_t **reports, const char **files, int n);
/* svg.c: one picture of one (not merged) report. 0, or 2. */
int pf_svg_write(FILE *out, FILE *err, json_t *r, const char *file);
/* diff.c: before and after, as a table or JSON; fail_above < 0 for none. 0, or 1 when a
 * figure present in both grew by more than fail_above percent (listed on err). */
int pf_diff_write(FILE *out, FILE *err, json_t *a, json_t *b, const char *fa, const char *fb,
                  int as_json, double fail_above);
/* merge.c: one report of every process of n reports; a new reference, or NULL. */
json_t *pf_merge_reports(json_t **reports, const char **files, int n);
/* pprof.c: a gzipped perftools.profiles.Profile (google/pprof proto/profile.proto) of heap
 * call sites, timers or lock waits. 0, or 2 (said on err). */
typedef enum { PF_PPROF_HEAP, PF_PPROF_TIME, PF_PPROF_WAITS, PF_PPROF_CPU } pf_pprof_kind_t;
int pf_pprof_write(FILE *out, FILE *err, json_t *r, const char *file, pf_pprof_kind_t kind);
/* speedscope.c: the speedscope file format: one evented profile per thread from the timeline's
 * intervals, sampled profiles of heap bytes by call site. 0, or 2. */
int pf_speedscope_write(FILE *out, FILE *err, json_t *r, const char *file);
/* run.c: `pferris run ARGS`; the program's exit code, or 2. */
int pf_run_command(int argc, char **argv);
/* top.c: `pferris top [--once] [--json] [PID]`; pf_top_loop shows frames on out every second
 * until alive(arg) returns 0 (NULL: until interrupted), or one frame with once or json. */
int pf_top_command(int argc, char **argv);
int pf_top_loop(FILE *out, int pid, int once, int json, int (*alive)(void *), void *arg);

#endif
