# Fault (issue 12, item 5): reading Python frames never harms the host. tests/faults/
# python_frames.py recurses deeper than the reader walks, runs generators and a coroutine,
# raises through unwinding frames, makes and frees code objects, has names and files that are
# not ASCII, allocates in threads that do not hold the GIL beside threads that do, and gives a
# caller's frame garbage code and link pointers (unmapped, misaligned, wrapping, not a code
# object) while its callee allocates. Under the preload with every allocation sampled and CPU
# samples at the highest rate, its output and exit status are those of the run without it, and
# the report names its Python frames, the non-ASCII ones and those of the GIL-less threads too.
. "$TOP/tests/lib.sh"
PY=/usr/bin/python3
[ -x $PY ] || skip "no /usr/bin/python3"
$PY -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' ||
  skip "/usr/bin/python3 is not CPython 3.11: pferris reads only 3.11's frames"
repro=$TOP/tests/faults/python_frames.py
native=$(timeout -k 2 120 $PY "$repro"; echo "rc=$?")
expect_eq "$(echo "$native" | tail -n 1)" rc=3 "the repro's own exit status"
for mode in "PFERRIS_SAMPLE=1 PFERRIS_CPU_HZ=1000" "PFERRIS_CPU_HZ=1000"; do
  rm -f "$TMP"/r*.json
  got=$(env $mode PFERRIS_OUTPUT="$TMP/r.json" timeout -k 2 240 env LD_PRELOAD="$PFERRIS_SO" \
        PFERRIS_QUIET=1 $PY "$repro" 2>&1; echo "rc=$?")
  expect_eq "$got" "$native" "output and status under the preload ($mode)"
  "$TOP/$B/pferris" report "$TMP/r.json" > /dev/null || die "the report does not validate ($mode)"
done
# The last report (default sampling) may miss some; the exact one is checked.
rm -f "$TMP"/r*.json
env PFERRIS_SAMPLE=1 PFERRIS_CPU_HZ=0 PFERRIS_OUTPUT="$TMP/r.json" LD_PRELOAD="$PFERRIS_SO" \
  PFERRIS_QUIET=1 timeout -k 2 240 $PY "$repro" > /dev/null
names=$(jget "$TMP/r.json" '"\n".join(sorted({f["symbol"] for s in d["heap"]["sites"] for f in s["frames"] if f.get("language") == "python" and f["module"].endswith("python_frames.py")}))')
for want in deep gen coro raiser dynamic_code callee corrupted_caller compressor allocator \
            "функция_с_длинным_именем.<locals>.<genexpr>" "Ünïcode.méthode"; do
  echo "$names" | grep -qx -- "$want" || { echo "$names"; die "no Python frame named $want"; }
done
exit 0
