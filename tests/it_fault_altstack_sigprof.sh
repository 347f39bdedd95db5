# Fault: a handler on a small alternate signal stack (6 KiB, room for one signal frame) that
# runs long enough for CPU samples to land in it. The sampler's SIGPROF was pushed on the same
# stack and overflowed it (SIGSEGV, one run in a hundred at the default 100 Hz; most runs at
# 1000 Hz). pferris now blocks SIGPROF while a handler that runs on an alternate stack does,
# and the program still reads back the mask it set. The same handler installed by a library's
# constructor, before pferris starts, was not covered (SIGSEGV at 100 Hz too; built -DEARLY_LIB): pferris now adds
# SIGPROF to the handlers it finds in place when sampling starts.
. "$TOP/tests/lib.sh"
cc -O1 -o "$TMP/prog" "$TOP/tests/faults/altstack_sigprof.c" || die "cannot compile the repro"
size=6144
# Under SAN=undefined the preload's own interposers have larger frames (small_altstack's note).
[ "${SAN:-}" = undefined ] && size=8192
expect_eq "$(timeout -k 2 60 "$TMP/prog" $size)" ok "without pferris"
for hz in 100 1000; do
  got=$(timeout -k 2 60 env LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 PFERRIS_CPU_HZ=$hz \
        PFERRIS_OUTPUT="$TMP/r.json" "$TMP/prog" $size 2>&1; echo "rc=$?")
  expect_eq "$got" "$(printf 'ok\nrc=0')" "PFERRIS_CPU_HZ=$hz"
  rm -f "$TMP"/r*.json
done
cc -O1 -shared -fPIC -DEARLY_LIB -o "$TMP/libearly.so" "$TOP/tests/faults/altstack_sigprof.c" &&
  cc -O1 -DEARLY_MAIN -o "$TMP/early" "$TOP/tests/faults/altstack_sigprof.c" -L"$TMP" -learly -Wl,-rpath,"$TMP" ||
  die "cannot compile the early repro"
export ALTSTACK_SIZE=$size
expect_eq "$(timeout -k 2 60 "$TMP/early")" ok "installed early, without pferris"
for hz in 100 1000; do
  got=$(timeout -k 2 60 env LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 PFERRIS_CPU_HZ=$hz \
        PFERRIS_OUTPUT="$TMP/r.json" "$TMP/early" 2>&1; echo "rc=$?")
  expect_eq "$got" "$(printf 'ok\nrc=0')" "installed early, PFERRIS_CPU_HZ=$hz"
  rm -f "$TMP"/r*.json
done
exit 0
