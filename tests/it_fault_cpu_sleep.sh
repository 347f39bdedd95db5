# CPU sampling never interrupts a sleeping thread: no EINTR from nanosleep or a blocking read
# in a thread that sleeps while others burn CPU (tests/faults/cpu_sleep.c), at the default rate
# and at the highest.
. "$TOP/tests/lib.sh"
cc -O1 -pthread -o "$TMP/cpu_sleep" "$TOP/tests/faults/cpu_sleep.c" || die "cannot compile"
native=$(timeout 60 "$TMP/cpu_sleep") || die "native run failed: $native"
for hz in 100 1000; do
  rm -f "$TMP"/r*.json
  out=$(PFERRIS_CPU_HZ=$hz PFERRIS_OUTPUT="$TMP/r.json" timeout 60 env LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 "$TMP/cpu_sleep") ||
    die "at $hz Hz: $out (native: $native)"
  expect_eq "$out" "$native" "output at $hz Hz"
  samples=$(jget "$TMP/r.json" 'd["cpu"]["samples"]')
  [ "$samples" -gt 0 ] || die "at $hz Hz: no samples were taken (the test would prove nothing)"
  # The sleeping thread was sampled too (it used some CPU), so signals did reach it.
  main=$(jget "$TMP/r.json" 'd["threads"][0]["cpu_samples"]')
  echo "at $hz Hz: $samples samples, $main on the sleeping thread"
done
exit 0
