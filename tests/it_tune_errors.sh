#!/usr/bin/env bash
# it_tune_errors.sh — pferris-tune on bad input: every case ends with a clear message on stderr
# and exit code 2 (usage, bad program) or 3 (the program failed or gave no measurement), never
# a hang. Also a program that fails at some counts only: those counts are skipped, with the
# exit code and the program's stderr shown.
. "$TOP/tests/lib.sh"
TUNE="$TOP/$B/pferris-tune"
PROG="$TOP/$B/tests/prog_slots"
[ -x "$TUNE" ] || die "$TUNE is not built"

# expect CODE PATTERN -- ARGS...: the exit code and a line of stderr matching PATTERN.
expect() {
  local code=$1 pat=$2; shift 3
  "$TUNE" "$@" >out.txt 2>err.txt; local rc=$?
  [ "$rc" = "$code" ] || die "pferris-tune $*: exit $rc, expected $code; stderr: $(cat err.txt)"
  grep -qE -e "$pat" err.txt || die "pferris-tune $*: stderr lacks /$pat/: $(cat err.txt)"
}

"$TUNE" --help | grep -q "usage: pferris-tune" || die "--help"
"$TUNE" --version | grep -q "^pferris-tune [0-9]" || die "--version"

# Usage errors.
expect 2 "no PROGRAM" --
expect 2 "no PROGRAM" -- --min 2
expect 2 "unknown option '--bogus'" -- --bogus "$PROG"
expect 2 "--min 5 is larger than --max 2" -- --min 5 --max 2 "$PROG"
expect 2 "worker counts start at 1" -- --min 0 "$PROG"
expect 2 "worker counts start at 1" -- --max -3 "$PROG"
expect 2 "not a whole number" -- --max two "$PROG"
expect 2 "more than 0 seconds" -- --duration 0 "$PROG"
expect 2 "not wall or counter:NAME" -- --metric cycles "$PROG"
expect 2 "not an environment variable name" -- --env 1X "$PROG"
expect 2 "needs a value" -- "$PROG" --max

# Bad programs.
expect 2 "'no-such-program-xyz' was not found in PATH" -- no-such-program-xyz
expect 2 "does not exist" -- ./missing
printf '#!/bin/sh\nexit 0\n' >noexec.sh
expect 2 "is not executable" -- ./noexec.sh
expect 2 "is not a file that can be run" -- ./
printf 'int main(void) { return 0; }\n' >static.c
if cc -static -o static static.c 2>/dev/null; then
  expect 2 "statically linked" -- --max 2 ./static
else
  echo "(no static libc: the statically-linked case is not checked here)"
fi
expect 2 "preload '/nonexistent/libpferris.so' is missing" -- --preload /nonexistent/libpferris.so "$PROG"

# Programs that fail: exit 3, the exit code, and the program's stderr tail.
expect 3 "exited with code 1" -- --max 2 "$PROG" -E
grep -q "cannot open the service configuration" err.txt || die "no stderr tail: $(cat err.txt)"
expect 3 "killed by signal 11" -- --max 2 "$PROG" -c 1
grep -q "about to crash" err.txt || die "no stderr tail for the crash: $(cat err.txt)"
expect 3 "timed out after 0.5 s" -- --max 3 --timeout 0.5 "$PROG" -H
expect 3 "never reported counter 'nope'.*counters it reported: items" -- \
  --max 2 --metric counter:nope --duration 0.2 "$PROG" -n 0
# A counter program that never counts (it hangs): no measurement, not a hang of the tuner.
expect 3 "never reported counter 'items'" -- --max 2 --metric counter:items --duration 0.2 "$PROG" -H

# Failing at some counts only: crashes with 4 workers or more; 2 slots: the answer is 2.
"$TUNE" --min 1 --max 5 --json f.json -- "$PROG" -k 2 -n 60 -p 0.3 -c 4 >out.txt 2>err.txt ||
  die "partial failure: exit $?: $(cat err.txt)"
expect_eq "$(jget f.json 'd["optimal_workers"]')" 2 "partial failure: optimal_workers"
grep -q "killed by signal 11" err.txt || die "partial failure: no failure shown: $(cat err.txt)"
grep -q "failed worker counts were not considered" err.txt || die "no failure summary: $(cat err.txt)"
expect_eq "$(jget f.json '[r["exit_codes"][0] for r in d["results"] if r["workers"] >= 4]')" "[139, 139]" "exit codes of crashes"
exit 0
