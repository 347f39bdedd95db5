/* usage.c — the `pferris` usage text, for -h and for every usage error. */
#include <stdio.h>
#include "cmd.h"

static const char usage_text[] =
    "usage: pferris run [-o PATTERN] [-q] [--live] [--] PROGRAM [ARGS...]\n"
    "       pferris report [--top N] [--json] FILE...\n"
    "       pferris report --flame heap|time|cpu FILE... > stacks.folded\n"
    "       pferris report --trace FILE...             > trace.json\n"
    "       pferris report --svg FILE                  > run.svg\n"
    "       pferris report --pprof [heap|time|waits|cpu] FILE > out.pb.gz\n"
    "       pferris report --speedscope FILE           > out.speedscope.json\n"
    "       pferris report --diff BEFORE AFTER [--fail-above PCT] [--json]\n"
    "       pferris report --merge FILE...             > all.json\n"
    "       pferris top [--once] [--json] [PID]\n"
    "\n"
    "run      runs PROGRAM with libpferris.so preloaded, passes its exit code through, and\n"
    "         prints on stderr the summary of every report the run wrote (children too).\n"
    "         -o PATTERN  report path (PFERRIS_OUTPUT: %p pid, %e program, %h host, %% a %);\n"
    "                     default pferris.%e.%p.json in the current directory\n"
    "         -q          no summary: only the paths of the reports\n"
    "         --live      while it runs, its live view (pferris top PID) on a terminal\n"
    "report   the summary of each report: where the CPU time goes (sampled stacks), timers,\n"
    "         counters, memory, heap, top call sites, threads and the bottleneck. --top N lists\n"
    "         the N heaviest call sites by bytes and\n"
    "         by live bytes; --json re-emits the reports as normalised JSON.\n"
    "--flame  folded stacks 'frame;frame value': heap bytes by call site (by thread when the\n"
    "         report has no sites), timer self time, or sampled CPU time (both in\n"
    "         microseconds).\n"
    "--trace  Chrome Trace Event JSON: one X event per timer interval, C events for the heap,\n"
    "         threads and counters, thread names; open in ui.perfetto.dev or chrome://tracing.\n"
    "--svg    one picture: live heap over time above one lane per thread with its timers.\n"
    "--pprof  gzipped pprof profile.proto (go tool pprof -http=: out.pb.gz): heap (default;\n"
    "         alloc/inuse objects and space per call site), time (the timer tree), waits\n"
    "         (contentions and delay per lock) or cpu (sampled CPU stacks). One report;\n"
    "         --merge several first.\n"
    "--speedscope  speedscope JSON: each thread's timers as a timeline, heap by call site.\n"
    "--diff   per timer, counter, memory record, heap figure and call site: before, after,\n"
    "         change, ratio, largest growth first; --fail-above PCT exits 1 when a figure\n"
    "         present in both grew by more than PCT percent.\n"
    "--merge  one report of several processes, hosts or ranks: sums, maxima, and every\n"
    "         process's own report under \"processes\" (ordered by rank when present).\n"
    "top      the profiled processes of this user while they run, every second like top(1):\n"
    "         live heap, peak, allocations/s, threads, CPU, counters/s; PID: one process in\n"
    "         detail (threads' CPU %, timers' shares, counters' rates). --once: one frame;\n"
    "         --json: one frame as {\"processes\": [...]}.\n"
    "-h, --help   this text;  --version   the version.  Exit codes: 0; 1 --fail-above\n"
    "         crossed; 2 usage or a bad report; run: the program's.\n";

void pf_usage_print(FILE *out)
{
    fputs(usage_text, out);
}
