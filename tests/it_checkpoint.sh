# PFERRIS_CHECKPOINT: a process killed by SIGKILL after two periods leaves a whole, readable
# report (exit "checkpoint"); the final report replaces the last checkpoint (one file); a
# single-threaded program stays single-threaded.
. "$TOP/tests/lib.sh"
prog=$TOP/$B/tests/prog_signals
for mode in grow threads; do
  PFERRIS_CHECKPOINT=1 LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 "$prog" $mode > out & pid=$!
  for i in $(seq 100); do grep -q ready out && break; sleep 0.05; done
  sleep 2.5
  if [ $mode = grow ]; then
    expect_eq "$(awk '/^Threads:/ {print $2}' /proc/$pid/status)" 1 "grow: threads of the process"
  fi
  kill -KILL $pid; wait $pid
  r=$(one_report 'pferris.prog_signals.*.json')
  "$TOP/$B/pferris" report "$r" > sum || die "$mode: the checkpoint does not read"
  expect_eq "$(jget "$r" 'd["exit"]["how"]')" checkpoint "$mode: exit.how"
  jget "$r" 'd["total_elapsed"] >= 1.0 and d["heap"]["allocations"] > 1000' | grep -q True ||
    die "$mode: the checkpoint is older than a period: $(jget "$r" 'd["total_elapsed"]')"
  grep -q "ended       unknown: the last checkpoint" sum || die "$mode: no checkpoint line"
  ls pferris.prog_signals.*.tmp 2>/dev/null && die "$mode: a temporary file was left"
  rm -f "$r" out
done

# Checkpoints, then SIGTERM: the final report replaces them (one file, exit "signal").
PFERRIS_CHECKPOINT=1 LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 "$prog" threads > out & pid=$!
for i in $(seq 100); do grep -q ready out && break; sleep 0.05; done
sleep 1.5
kill -TERM $pid; wait $pid; expect_eq $? 143 "checkpoint then SIGTERM: status"
r=$(one_report 'pferris.prog_signals.*.json')
expect_eq "$(jget "$r" 'd["exit"]["how"]')" signal "final over checkpoint: exit.how"
rm -f "$r"

# PFERRIS_CHECKPOINT=0: no checkpoint, and a bad value is named.
PFERRIS_CHECKPOINT=0 LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 "$prog" grow > out & pid=$!
sleep 1.5; kill -KILL $pid; wait $pid
ls pferris.prog_signals.*.json 2>/dev/null && die "PFERRIS_CHECKPOINT=0 wrote a checkpoint"
err=$(PFERRIS_CHECKPOINT=soon LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 "$prog" raise 0 2>&1 >/dev/null)
echo "$err" | grep -q "PFERRIS_CHECKPOINT='soon'" || die "no warning for a bad PFERRIS_CHECKPOINT: $err"
exit 0
