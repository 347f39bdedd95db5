# Fault (issue 10, item 1): main calls pthread_exit; pferris's threads (the timeline sampler,
# the PFERRIS_LIVE thread) must not keep the process alive or leave a signal pending forever.
. "$TOP/tests/lib.sh"
cc -O1 -pthread -o "$TMP/prog" "$TOP/tests/faults/main_pthread_exit.c" || die "cannot compile the repro"
mkdir -p "$TMP/live"
for mode in thread signal single; do
  want=$(timeout -k 2 10 "$TMP/prog" $mode; echo "rc=$?")
  [ "$want" = "$(printf 'start\nrc=0')" ] || die "$mode without pferris: $want"
  got=$(timeout -k 2 10 env LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 "$TMP/prog" $mode; echo "rc=$?")
  expect_eq "$got" "$want" "$mode under the preload"
  got=$(timeout -k 2 10 env LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 PFERRIS_LIVE="$TMP/live" "$TMP/prog" $mode; echo "rc=$?")
  expect_eq "$got" "$want" "$mode under the preload with PFERRIS_LIVE"
done
# A report was still written, by the last thread.
ls pferris.prog.*.json >/dev/null 2>&1 || die "no report"
exit 0
