# Python frames in call sites and CPU stacks (issue 12, item 5), for a preloaded python3 that
# does not import pferris: tests/python/frames_alloc.py's three functions that allocate 60%,
# 30% and 10% of the bytes are estimated within 10%, 15% and 25% of the exact figures (the same
# program with every allocation sampled) at the default rate; the function that holds 8 MiB at
# exit is named, with its file and line, as the top site live at exit; a line 80 lines below
# its function's start is found; a pure-Python loop is
# named in the CPU stacks; `pferris report --top` and `--flame heap` show them; with
# PFERRIS_PYTHON_FRAMES=0 the stacks are native only. Also: the offsets pferris reads
# (lib/runtime/py311.h) are those of the installed 3.11 headers.
. "$TOP/tests/lib.sh"
PY=/usr/bin/python3
[ -x $PY ] || skip "no /usr/bin/python3"
$PY -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' ||
  skip "/usr/bin/python3 is not CPython 3.11: pferris reads only 3.11's frames"
script=$TOP/tests/python/frames_alloc.py
unset PFERRIS_SAMPLE PFERRIS_PYTHON_FRAMES

if [ -f /usr/include/python3.11/internal/pycore_frame.h ]; then
  cc -I/usr/include/python3.11 -I"$TOP/lib" -o "$TMP/offsets" "$TOP/tests/python/py311_offsets.c" ||
    die "lib/runtime/py311.h disagrees with the installed CPython 3.11 headers"
  "$TMP/offsets" || die "the str state bit field is not where py311.h says"
else
  echo "no CPython 3.11 internal headers (python3.11-dev): offsets not checked"
fi

run() { # out.json [env...]: the script under the preload
  local out=$1; shift
  got=$(env LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 PFERRIS_OUTPUT="$TMP/$out" "$@" \
        timeout -k 2 120 $PY "$script" spin) || die "the script failed under the preload ($*)"
  expect_eq "$got" done "the script's output ($*)"
}
run exact.json PFERRIS_SAMPLE=1
run default.json

# The figures per innermost Python frame, from both reports, and the checks.
$PY - "$TMP/exact.json" "$TMP/default.json" "$script" <<'EOF' || die "Python frames check failed"
import json, sys
exact, default = (json.load(open(p)) for p in sys.argv[1:3])
script = sys.argv[3]
lines = {}
for n, text in enumerate(open(script), 1):
    if "# LINE:" in text:
        lines[text.split("# LINE:")[1].strip()] = n

def innermost_python(frames):
    for f in frames:
        if f.get("language") == "python":
            return f
    return None

def per_function(r, field):
    out = {}
    for s in r["heap"]["sites"]:
        f = innermost_python(s["frames"])
        if f and f["module"] == script:
            key = (f["symbol"], f["line"])
            out[key] = out.get(key, 0) + s[field]
    return out

fail = []
for r, name in ((exact, "exact"), (default, "default")):
    if r["heap"]["sampling"].get("python_frames") != "CPython %d.%d.%d" % sys.version_info[:3]:
        fail.append("%s: sampling.python_frames is %r" % (name, r["heap"]["sampling"].get("python_frames")))
    for s in r["heap"]["sites"]:
        for f in s["frames"]:
            if f.get("language") == "python" and not (isinstance(f["symbol"], str) and
                    isinstance(f["module"], str) and (f["line"] is None or f["line"] > 0)):
                fail.append("%s: a bad Python frame %r" % (name, f))
truth, est = per_function(exact, "bytes"), per_function(default, "bytes")
total = sum(truth.get((fn, lines[fn]), 0) for fn in ("f60", "f30", "f10"))
for fn, share, tol in (("f60", 0.6, 0.10), ("f30", 0.3, 0.15), ("f10", 0.1, 0.25)):
    t, e = truth.get((fn, lines[fn]), 0), est.get((fn, lines[fn]), 0)
    print("%s (line %d): exact %d bytes (%.1f%%), estimated %d (%+.1f%%)"
          % (fn, lines[fn], t, 100.0 * t / max(total, 1), e, 100.0 * (e - t) / max(t, 1)))
    if not t or abs(t / total - share) > 0.01:
        fail.append("%s: exact %d bytes is not %d%% of %d" % (fn, t, share * 100, total))
    elif abs(e - t) > tol * t:
        fail.append("%s: estimated %d bytes, exact %d: off by more than %d%%" % (fn, e, t, tol * 100))
for r, name in ((exact, "exact"), (default, "default")):
    top = max(r["heap"]["sites"], key=lambda s: s["live_bytes"])
    f = innermost_python(top["frames"])
    where = f and (f["symbol"], f["module"], f["line"])
    if where != ("hold", script, lines["hold"]) or not (8 << 20) <= top["live_bytes"] < (9 << 20):
        fail.append("%s: the top live site is %r with %d bytes" % (name, where, top["live_bytes"]))
far = {(f["symbol"], f["line"]) for f in (innermost_python(s["frames"]) for s in exact["heap"]["sites"])
       if f and f["symbol"] == "far"}
if far != {("far", lines["far"])}:
    fail.append("far() is at %r, not line %d" % (far, lines["far"]))
cpu = sum(s["samples"] for s in default["cpu"]["sites"]
          if any(f.get("symbol") == "spin" and f.get("module") == script for f in s["frames"]))
print("CPU samples in spin: %d of %d" % (cpu, default["cpu"]["samples"]))
if cpu < default["cpu"]["samples"] / 4:
    fail.append("spin() has %d of %d CPU samples" % (cpu, default["cpu"]["samples"]))
for m in fail:
    print("FAIL:", m)
sys.exit(1 if fail else 0)
EOF

# The tools: --top names them with file:line (no addr2line), --flame heap has them in place.
"$TOP/$B/pferris" report --top 5 "$TMP/default.json" > top.txt 2>&1 || { cat top.txt; die "pferris report --top failed"; }
for fn in f60 f30 f10; do
  line=$(grep -n "# LINE:$fn\$" "$script" | cut -d: -f1)
  grep -q "$fn (frames_alloc.py:$line)" top.txt || { cat top.txt; die "--top does not name $fn (frames_alloc.py:$line)"; }
done
hold=$(grep -n "# LINE:hold\$" "$script" | cut -d: -f1)
sed -n '/by live bytes at exit/,/^$/p' top.txt | grep -q "hold (frames_alloc.py:$hold)" ||
  { cat top.txt; die "--top does not name hold (frames_alloc.py:$hold) as live at exit"; }
"$TOP/$B/pferris" report --flame heap "$TMP/default.json" > flame.txt || die "--flame heap failed"
grep -q ";<module> (frames_alloc.py:[0-9]*);f60 (frames_alloc.py:[0-9]*);" flame.txt ||
  { head -5 flame.txt; die "--flame heap has no <module>;f60 stack"; }

# Switched off: native frames only, and the report says why.
run off.json PFERRIS_PYTHON_FRAMES=0
expect_eq "$(jget "$TMP/off.json" 'sum(f.get("language") == "python" for s in d["heap"]["sites"] + d["cpu"]["sites"] for f in s["frames"])')" 0 \
  "Python frames with PFERRIS_PYTHON_FRAMES=0"
jget "$TMP/off.json" 'd["heap"]["sampling"]["python_frames"]' | grep -q "PFERRIS_PYTHON_FRAMES=0" ||
  die "sampling.python_frames does not say they were switched off"
exit 0
