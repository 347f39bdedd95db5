#!/usr/bin/env bash
# it_tune.sh — pferris-tune finds the best worker count of tests/prog_slots (K slots: best K by
# construction, independent of the core count) with both metrics, in both argument forms, with
# the {workers} placeholder and --env; checks the JSON result, the plot and the warnings.
# No timing is asserted: the slots program's counts are far apart (a 30% penalty per extra
# worker, and K-1 is 1/K below K), so the answer is clear on a noisy machine.
. "$TOP/tests/lib.sh"
TUNE="$TOP/$B/pferris-tune"
PROG="$TOP/$B/tests/prog_slots"
[ -x "$TUNE" ] || die "$TUNE is not built"
[ -e "$PFERRIS_SO" ] || die "$PFERRIS_SO is not built"
SLOTS=(-k 3 -n 150 -p 0.3)

# 1. Wall metric, '--' form, JSON result.
"$TUNE" --min 1 --max 6 --json w.json --csv w.csv -- "$PROG" "${SLOTS[@]}" >out.txt 2>err.txt ||
  die "wall run failed (exit $?): $(cat err.txt)"
expect_eq "$(jget w.json 'd["optimal_workers"]')" 3 "wall: optimal_workers"
expect_eq "$(jget w.json 'type(d["tested_workers"]).__name__')" int "tested_workers type"
expect_eq "$(jget w.json 'd["metric"]')" wall "metric"
expect_eq "$(jget w.json 'd["command"][0]')" "$PROG" "command"
expect_eq "$(jget w.json 'all(set(r) >= {"workers","runs","median","spread","exit_codes","threads_observed"} for r in d["results"])')" True "per-count keys"
expect_eq "$(jget w.json 'd["tested_workers"] == len(d["results"]) and d["best_throughput"] > 0')" True "tested_workers, best_throughput"
# Threads follow N (N workers and the main thread): the knob was honoured.
expect_eq "$(jget w.json 'all(t == r["workers"] + 1 for r in d["results"] for t in r["threads_observed"])')" True "threads observed"
expect_eq "$(jget w.json 'all(c == 0 for r in d["results"] for c in r["exit_codes"])')" True "exit codes"
grep -q "optimal_workers: 3" out.txt || die "no one-line answer: $(cat out.txt)"
grep -q "<- chosen" out.txt || die "the table does not mark the choice"
grep -q "^items" out.txt && die "the program's stdout leaked into the tuner's"
[ "$(head -1 w.csv)" = "trial,round,workers,status,exit_code,throughput,seconds,threads" ] || die "csv header"
[ "$(grep -c ',ok,' w.csv)" -ge 6 ] || die "csv rows: $(cat w.csv)"
grep -q . err.txt && die "unexpected warnings: $(cat err.txt)"

# 2. The design card's form: options after PROGRAM; --quiet prints the bare count.
out=$("$TUNE" "$PROG" "${SLOTS[@]}" --min 1 --max 6 --quiet) || die "card form failed"
expect_eq "$out" 3 "card form, --quiet"

# 3. Counter metric, time-boxed: the program never ends by itself, and with -T it ignores
# SIGTERM, so the tuner must SIGKILL it; the measurement comes from the live counters.
for extra in "" -T; do
  "$TUNE" --min 1 --max 6 --metric counter:items --duration 0.3 --json c.json -- \
    "$PROG" -k 3 -n 0 -p 0.3 $extra >out.txt 2>err.txt || die "counter run $extra failed: $(cat err.txt)"
  expect_eq "$(jget c.json 'd["optimal_workers"]')" 3 "counter $extra: optimal_workers"
  expect_eq "$(jget c.json 'd["metric_spec"]')" counter:items "metric_spec"
  expect_eq "$(jget c.json 'all(c is None for r in d["results"] for c in r["exit_codes"])')" True "stopped at the box"
  expect_eq "$(jget c.json 'all(t == r["workers"] + 1 for r in d["results"] for t in r["threads_observed"])')" True "live threads"
done

# 4. The {workers} placeholder: slots = N, so more workers are always faster: the largest wins.
# Unreplaced, "-k {workers}" would make the program fail.
"$TUNE" --min 1 --max 4 --json p.json -- "$PROG" -k '{workers}' -n 80 >/dev/null 2>err.txt ||
  die "placeholder run failed: $(cat err.txt)"
expect_eq "$(jget p.json 'd["optimal_workers"]')" 4 "placeholder"

# 5. --env: the program reads only MY_WORKERS. Without --env it runs 1 worker at every count:
# flat, and the tuner says it ignored the knob; with --env it finds 3.
"$TUNE" --min 1 --max 5 --json e.json --env MY_WORKERS -- "$PROG" -e MY_WORKERS "${SLOTS[@]}" \
  >/dev/null 2>err.txt || die "--env run failed: $(cat err.txt)"
expect_eq "$(jget e.json 'd["optimal_workers"]')" 3 "--env"
"$TUNE" --min 1 --max 5 --json n.json -- "$PROG" -e MY_WORKERS -k 3 -n 100 >/dev/null 2>err.txt ||
  die "ignored-knob run failed: $(cat err.txt)"
# Whether the noise lets the tuner call equal counts flat is the unit suite's to check
# (check_stats: schedule_flat); here: when it says flat, it chose the smallest and said so.
expect_eq "$(jget n.json 'd["ignored_workers"]')" True "ignored_workers"
grep -q "ignore the count" err.txt || die "no warning that the knob was ignored: $(cat err.txt)"
if [ "$(jget n.json 'd["flat"]')" = True ]; then
  expect_eq "$(jget n.json 'd["optimal_workers"]')" 1 "flat: the smallest"
  grep -q "throughput is flat" err.txt || die "no warning that throughput is flat: $(cat err.txt)"
fi

# 6. The plot: well-formed SVG with axes, the median line and the choice (whichever it was:
# the answer itself is checked above; this run is one more draw of the machine's noise).
chosen=$("$TUNE" --min 1 --max 6 --plot plot.svg --quiet -- "$PROG" "${SLOTS[@]}") || die "plot run failed"
python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' plot.svg || die "plot.svg is not well-formed XML"
for s in "<svg" "<polyline" "workers</text>" "chosen: $chosen workers" "throughput (runs/s)"; do
  grep -qF "$s" plot.svg || die "plot.svg lacks '$s'"
done

# 7. --show-output lets the program's stdout through.
"$TUNE" --min 3 --max 3 --show-output -- "$PROG" "${SLOTS[@]}" 2>/dev/null | grep -q "^items 150 workers 3" ||
  die "--show-output did not show the program's output"
exit 0
