# Fault: with PFERRIS_STACK_DEPTH at its maximum (128), a sampled allocation on a deeper stack
# asked libunwind for more frames than the unwind's buffer held, and overwrote the stack beyond
# it (a crash on every run). The stack is cut at the depth asked for.
. "$TOP/tests/lib.sh"
cc -O1 -fno-optimize-sibling-calls -o "$TMP/prog" "$TOP/tests/faults/deep_stack.c" || die "cannot compile the repro"
expect_eq "$(timeout -k 2 30 "$TMP/prog")" 2000 "without pferris"
for depth in 128 127 32; do
  got=$(timeout -k 2 60 env LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 PFERRIS_SAMPLE=1 \
        PFERRIS_STACK_DEPTH=$depth PFERRIS_OUTPUT="$TMP/r.json" "$TMP/prog" 2>&1; echo "rc=$?")
  expect_eq "$got" "$(printf '2000\nrc=0')" "PFERRIS_STACK_DEPTH=$depth under the preload"
  expect_eq "$(jget "$TMP/r.json" 'max(len(s["frames"]) for s in d["heap"]["sites"] if s["frames"] and s["frames"][0]["symbol"] == "deep")')" \
            "$depth" "the deepest stack of deep's site at PFERRIS_STACK_DEPTH=$depth"
  rm -f "$TMP"/r*.json
done
exit 0
