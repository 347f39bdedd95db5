# Fault test: the program's signal dispositions are its own under the preload (see
# tests/faults/signal_dispositions.c): same output with and without pferris.
. "$TOP/tests/lib.sh"
cc -O1 -o repro "$TOP/tests/faults/signal_dispositions.c" || die "cannot compile the repro"
want=$(timeout 20 env --default-signal ./repro); rc0=$?
got=$(timeout 20 env LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 env --default-signal ./repro); rc1=$?
expect_eq $rc1 $rc0 "exit status"
[ "$got" = "$want" ] || die "output differs under the preload:
--- without
$want
--- with
$got"
exit 0
