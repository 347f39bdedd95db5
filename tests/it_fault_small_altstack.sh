# Fault (issue 10, item 5): an allocation in a handler running on a small sigaltstack, sampled,
# must not overflow it: the unwind is skipped when the stack has too little room left.
. "$TOP/tests/lib.sh"
cc -O1 -pthread -o "$TMP/prog" "$TOP/tests/faults/small_altstack.c" || die "cannot compile the repro"
sizes="6144 8192 12288 65536"
# Under SAN=undefined the preload itself is instrumented: its interposers' larger frames alone
# overflow 6 KiB, sampled or not, so that build starts at 8 KiB.
[ "${SAN:-}" = undefined ] && sizes="8192 12288 65536"
for size in $sizes; do
  expect_eq "$(timeout -k 2 30 "$TMP/prog" $size)" ok "$size bytes without pferris"
  got=$(timeout -k 2 30 env LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 PFERRIS_SAMPLE=1 \
        PFERRIS_OUTPUT="$TMP/r.json" "$TMP/prog" $size 2>&1; echo "rc=$?")
  expect_eq "$got" "$(printf 'ok\nrc=0')" "$size bytes under the preload"
  rm -f "$TMP"/r*.json
done
# The alternate stack changes after the thread's first samples: pferris notes the bounds at the
# program's sigaltstack instead of asking the kernel at each sample, and asks when the stack is
# neither the noted one nor the thread's own (set by the raw system call, on the main thread).
size=${sizes%% *}
for mode in switch raw; do
  for where in main thread; do
    got=$(timeout -k 2 30 env LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 PFERRIS_SAMPLE=1 \
          PFERRIS_OUTPUT="$TMP/r.json" "$TMP/prog" $size $mode $where 2>&1; echo "rc=$?")
    expect_eq "$got" "$(printf 'ok\nrc=0')" "$size bytes, $mode, $where thread"
    rm -f "$TMP"/r*.json
  done
done
exit 0
