# Fault: pferris-tune contains its trials. A process that leaves a trial's process group
# (setsid) is killed at the trial's end, not left running after the tuner; --env may not set
# the tuner's own variables; a signal N ends the tuner with 128+N.
. "$TOP/tests/lib.sh"
TUNE="$TOP/$B/pferris-tune"
cc -O1 -o "$TMP/tune_escape" "$TOP/tests/faults/tune_escape.c" || die "cannot build the repro"
timeout 60 "$TUNE" --quiet --min 1 --max 2 --repeat 2 -- "$TMP/tune_escape" escape "$TMP/pids" \
  >out 2>err || die "pferris-tune failed: $(cat err)"
[ -s "$TMP/pids" ] || die "the repro wrote no pid"
alive=""
for pid in $(cat "$TMP/pids"); do kill -0 "$pid" 2>/dev/null && alive="$alive $pid"; done
for pid in $alive; do kill -9 "$pid"; done
[ -z "$alive" ] || die "processes a trial started outlived the tuner:$alive"
expect_eq "$(grep -c . "$TMP/pids")" 4 "trials run"
sleep 4.5
[ ! -e "$TMP/pids.late" ] || die "an escaped process lived on after its trial"

# --env may not take the variables the tuner runs a trial by.
for v in LD_PRELOAD PFERRIS_OUTPUT; do
  "$TUNE" --env $v -- "$TMP/tune_escape" sleep >out 2>err; rc=$?
  expect_eq "$rc" 2 "--env $v: exit status"
  grep -q "the tuner sets $v itself" err || die "--env $v: no clear message: $(cat err)"
done

# A signal N ends the tuner with 128 + N, and takes the running trial with it.
for s in TERM:143 HUP:129 INT:130; do
  timeout 60 "$TUNE" --quiet --min 1 --max 1 -- "$TMP/tune_escape" sleep >out 2>err &
  tuner=$!
  sleep 1
  kill -${s%:*} $tuner
  wait $tuner; rc=$?
  expect_eq "$rc" "${s#*:}" "exit status after SIG${s%:*}"
done
