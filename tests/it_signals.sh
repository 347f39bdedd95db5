# A process ended by a signal leaves its report and dies of the same signal (the same wait
# status); a program's own handler or SIG_IGN stays its own; crashes leave a best-effort report.
. "$TOP/tests/lib.sh"
prog=$TOP/$B/tests/prog_signals
ulimit -c 0 # no core files in the scratch directory (the status still says "core" where due)
# Each signal from the program itself, every disposition reset to the default first (a
# non-interactive shell starts background jobs with SIGINT and SIGQUIT ignored).
for s in INT TERM HUP QUIT USR1 USR2 ALRM PIPE XCPU VTALRM PROF; do
  n=$(kill -l "$s")
  env --default-signal "$prog" raise "$n" >/dev/null 2>&1; native=$?
  LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 env --default-signal "$prog" raise "$n" >/dev/null 2>&1; rc=$?
  expect_eq $rc $native "wait status of SIG$s"
  expect_eq $rc $((128 + n)) "SIG$s status"
  r=$(one_report 'pferris.prog_signals.*.json')
  expect_eq "$(jget "$r" 'd["exit"]["how"]')" signal "SIG$s: exit.how"
  expect_eq "$(jget "$r" 'd["exit"]["signal"]')" "$n" "SIG$s: exit.signal"
  expect_eq "$(jget "$r" 'd["exit"]["signal_name"]')" "SIG$s" "SIG$s: exit.signal_name"
  jget "$r" 'd["heap"]["allocations"] >= 1000' | grep -q True || die "SIG$s: allocations missing"
  rm -f "$r"
done

# SIGTERM from outside to a two-thread program (the issue's measured case: 143, no file).
LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 "$prog" threads > out & pid=$!
for i in $(seq 100); do grep -q ready out && break; sleep 0.05; done
kill -TERM $pid; wait $pid; rc=$?
expect_eq $rc 143 "threads: status after SIGTERM"
r=$(one_report 'pferris.prog_signals.*.json')
expect_eq "$(jget "$r" 'd["exit"]["signal_name"]')" SIGTERM "threads: exit"
"$TOP/$B/pferris" report "$r" | head -6 | grep -q "killed by SIGTERM (15)" || die "pferris report: no 'killed by' line"
rm -f "$r" out

# The program's own SIGTERM handler calls exit(7): one report, the usual one.
preload "$prog" handler; expect_eq $? 7 "handler: exit code"
r=$(one_report 'pferris.prog_signals.*.json')
expect_eq "$(jget "$r" 'd["exit"]')" "{'how': 'exit', 'code': 7}" "handler: exit"
rm -f "$r"

# SIG_IGN stays ignored; a normal exit says its code.
out=$(preload "$prog" ignore); expect_eq $? 0 "ignore: exit code"
expect_eq "$out" alive "ignore: output"
r=$(one_report 'pferris.prog_signals.*.json')
expect_eq "$(jget "$r" 'd["exit"]')" "{'how': 'exit', 'code': 0}" "ignore: exit"
"$TOP/$B/pferris" report "$r" | head -6 | grep -q "ended       exit code 0" || die "pferris report: no exit line"
rm -f "$r"

# Queries show what the program set, never pferris's handler.
expect_eq "$(preload "$prog" query)" "$("$prog" query)" "query: dispositions seen"
rm -f pferris.*.json

# Crashes: the same status as without pferris, and a report with the crashing stack.
for m in null:SIGSEGV abort:SIGABRT; do
  "$prog" "${m%:*}" 2>/dev/null; native=$?
  preload "$prog" "${m%:*}" 2>/dev/null; rc=$?
  expect_eq $rc $native "${m%:*}: wait status"
  r=$(one_report 'pferris.prog_signals.*.json')
  "$TOP/$B/pferris" report "$r" > sum || die "${m%:*}: the crash report does not read"
  expect_eq "$(jget "$r" 'd["exit"]["how"]')" crash "${m%:*}: exit.how"
  expect_eq "$(jget "$r" 'd["exit"]["signal_name"]')" "${m#*:}" "${m%:*}: signal"
  jget "$r" 'any(f["module"] and f["module"].endswith("prog_signals") for f in d["exit"]["frames"])' |
    grep -q True || die "${m%:*}: the program's frame is not in the crash stack"
  head -6 sum | grep -q "crashed: ${m#*:}" || die "${m%:*}: pferris report has no crash line"
  rm -f "$r"
done
exit 0
