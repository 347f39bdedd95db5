# A program's own SIGPROF stays its own: one that profiles itself with setitimer(ITIMER_PROF)
# and a SIGPROF handler (tests/faults/cpu_setitimer.c) gets exactly its own ticks under the
# preload, and the report says pferris stood down. The same for a gprof (-pg) build, whose
# profil() sets SIGPROF up through calls inside glibc that no interposer sees.
. "$TOP/tests/lib.sh"
cc -O1 -o "$TMP/cpu_setitimer" "$TOP/tests/faults/cpu_setitimer.c" || die "cannot compile"
native=$(timeout 60 "$TMP/cpu_setitimer") || die "native run failed"
expect_eq "$native" ok "native run"
out=$(PFERRIS_OUTPUT="$TMP/r.json" timeout 60 env LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 "$TMP/cpu_setitimer") ||
  die "under the preload: exit status $?"
expect_eq "$out" ok "under the preload"
expect_eq "$(jget "$TMP/r.json" 'd["cpu"]["active"]')" False "cpu.active"
jget "$TMP/r.json" 'd["cpu"]["inactive_reason"]' | grep -q "SIGPROF" || die "the report does not say why: $(jget "$TMP/r.json" 'd["cpu"]')"
"$TOP/$B/pferris" report "$TMP/r.json" | grep -q "stood down" || die "pferris report does not say pferris stood down"

# gprof: gmon.out is written as without pferris, and pferris stood down from the start.
cd "$TMP"
cc -O1 -pg -o "$TMP/cpu_gprof" "$TOP/tests/faults/cpu_setitimer.c" 2>/dev/null || skip "no gprof support in this compiler"
rm -f gmon.out
[ "$(timeout 60 "$TMP/cpu_gprof")" = "ticks 0 foreign 0" ] || true # gprof owns SIGPROF: the program's handler may lose it
[ -s gmon.out ] || skip "gprof wrote no gmon.out natively"
rm -f gmon.out r2.json
PFERRIS_OUTPUT="$TMP/r2.json" timeout 60 env LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 "$TMP/cpu_gprof" >/dev/null || die "gprof build under the preload failed"
[ -s gmon.out ] || die "gprof wrote no gmon.out under the preload"
jget "$TMP/r2.json" 'd["cpu"]["inactive_reason"]' | grep -q "gprof" || die "gprof not recognised: $(jget "$TMP/r2.json" 'd["cpu"]')"
exit 0
