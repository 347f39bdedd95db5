# Fault (issue 10, item 8): a successful call of an interposed function leaves errno as it was,
# whatever pferris does inside it (sampling every allocation here: the unwinder's probes).
. "$TOP/tests/lib.sh"
cc -O1 -pthread -o "$TMP/prog" "$TOP/tests/faults/errno_kept.c" || die "cannot compile the repro"
want=$(timeout -k 2 60 "$TMP/prog") || die "the repro fails without pferris"
for sample in 1 4096 524288; do
  got=$(timeout -k 2 60 env LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 PFERRIS_SAMPLE=$sample "$TMP/prog")
  expect_eq "$got" "$want" "errno changes with PFERRIS_SAMPLE=$sample"
done
exit 0
