# pferris run and report on real runs of tests/prog_report: the exit code passes through, every
# report of the run is found (a forked child's too), and each output agrees with the report it
# came from: folded heap stacks sum to the heap's bytes, folded time to the self times, the
# trace's X events to the timers' counts and totals, the SVG is XML; the MPI/Slurm rank is kept.
. "$TOP/tests/lib.sh"
P=$TOP/$B/pferris
prog=$TOP/$B/tests/prog_report

# run: exit code, the child's report, the summary on stderr (the program's stdout untouched).
out=$("$P" run -- "$prog" 2 50 7 fork 2>summary.txt); rc=$?
expect_eq $rc 7 "exit code through pferris run"
expect_eq "$out" "$(printf 'done 2\ndone 2')" "the program's own output"
expect_eq "$(ls pferris.prog_report.*.json | wc -l)" 2 "reports of the run (parent and forked child)"
expect_eq "$(grep -c '^pferris report: pferris.prog_report' summary.txt)" 2 "summaries printed"
grep -q '^  bottleneck  "' summary.txt || die "no bottleneck line: $(cat summary.txt)"
grep -Eq '^  work +100 ' summary.txt || die "no aligned timer row for work: $(cat summary.txt)"
# A report of another run in the same directory is not this run's.
mkdir other && PFERRIS_OUTPUT=other/x.json preload "$prog" 1 5 >/dev/null
cp other/x.json pferris.prog_report.999999.json
"$P" run -q -o 'sub-%p.json' -- "$prog" 1 5 > /dev/null 2> q.txt; expect_eq $? 0 "run -q exit"
expect_eq "$(grep -c '^pferris: report sub-[0-9]*.json$' q.txt)" 1 "-o pattern report listed: $(cat q.txt)"
"$P" run -- sh -c 'exit 3' 2>/dev/null; expect_eq $? 3 "exit code of a shell"
"$P" run -- sh -c 'kill -TERM $$' 2>/dev/null; expect_eq $? 143 "a program killed by SIGTERM"
"$P" run -- /nonexistent/prog 2>/dev/null; expect_eq $? 127 "a program that cannot be run"

# One report with every allocation sampled (call sites exact where the build has them), and
# one without call sites (the heap flame falls back to threads).
PFERRIS_SAMPLE=1 PFERRIS_OUTPUT=r.json preload "$prog" 3 200 > /dev/null
PFERRIS_SAMPLE=0 PFERRIS_OUTPUT=nosites.json preload "$prog" 2 20 > /dev/null
for f in r.json nosites.json; do
  "$P" report --flame heap $f > heap.folded || die "flame heap $f"
  expect_eq "$(awk '{s += $NF} END {printf "%d", s}' heap.folded)" "$(jget $f 'd["heap"]["bytes_allocated"]')" "folded heap bytes of $f"
done
grep -q ';worker-1 (' heap.folded || die "thread stacks without sites: $(cat heap.folded)"
"$P" report --flame time r.json > time.folded || die "flame time"
python3 - <<'PY' || die "folded time stacks"
import json
r = json.load(open("r.json"))
def walk(nodes, path, out):
    for n in nodes:
        p = path + [n["name"]]
        out[";".join(p)] = n["self"]
        walk(n["children"], p, out)
want = {}; walk(r["timing_tree"], [], want)
got = {l.rsplit(" ", 1)[0]: int(l.rsplit(" ", 1)[1]) for l in open("time.folded")}
for k, v in got.items():
    assert abs(v - want[k] * 1e6) <= 0.5 + 1e-9 * v, (k, v, want[k])
assert set(got) == {k for k, v in want.items() if round(v * 1e6) > 0}, (got, want)
assert {"work;inner", "main"} <= set(got), got
PY

# --trace: valid JSON; per timer, as many X events as intervals and the same total.
"$P" report --trace r.json > trace.json || die "trace"
python3 - <<'PY' || die "trace vs report"
import json
r = json.load(open("r.json")); t = json.load(open("trace.json"))
assert r["timeline"]["dropped"]["intervals"] == 0
ev = t["traceEvents"]
for name, st in r["timing_stats"].items():
    xs = [e for e in ev if e["ph"] == "X" and e["name"] == name]
    assert len(xs) == st["count"], (name, len(xs), st["count"])
    total = sum(e["dur"] for e in xs) / 1e6
    assert abs(total - st["total"]) <= 1e-7 * st["count"] + 1e-6 * st["total"], (name, total, st["total"])
tids = {th["tid"] for th in r["threads"]}
assert {e["tid"] for e in ev if e["ph"] == "X"} <= tids
assert {e["args"]["name"] for e in ev if e["name"] == "thread_name"} >= {"worker-0", "worker-1", "worker-2"}
assert any(e["ph"] == "C" and e["name"] == "heap" for e in ev)
assert any(e["ph"] == "C" and e["name"] == "items" and e["args"]["value"] == 600 for e in ev)
PY

# --svg: one XML document with a lane per thread.
"$P" report --svg r.json > r.svg || die "svg"
python3 - <<'PY' || die "svg is not the expected XML"
import xml.etree.ElementTree as ET, json
root = ET.parse("r.svg").getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
text = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
for th in json.load(open("r.json"))["threads"]:
    assert "(%d)" % th["tid"] in text, th
assert "live heap" in text
PY

# Text report extras: --top lists sites by bytes and by live bytes; --json re-emits JSON.
"$P" report --top 3 r.json > top.txt || die "report --top"
if [ "$(jget r.json 'len(d["heap"]["sites"])')" -gt 0 ]; then
  grep -q "heaviest call sites by bytes" top.txt || die "--top: $(cat top.txt)"
fi
# With every sampled block freed, the live table says so instead of printing an empty table.
python3 - r.json nolive.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for s in d["heap"]["sites"]:
    s["live_bytes"] = 0
json.dump(d, open(sys.argv[2], "w"))
PY
"$P" report --top 3 nolive.json > nolive.txt || die "report --top, no live sites"
if [ "$(jget r.json 'len(d["heap"]["sites"])')" -gt 0 ]; then
  grep -q "call sites holding memory at exit: none" nolive.txt || die "--top, no live sites: $(cat nolive.txt)"
  grep -q "heaviest call sites by live" nolive.txt && die "--top printed an empty live table: $(cat nolive.txt)"
fi
"$P" report --json r.json | python3 -c 'import json,sys; json.load(sys.stdin)' || die "--json output"

# The clock: which source timed the run, its ratio, and why; on an x86 machine whose CPU says
# its TSC is invariant, the TSC, whatever the kernel's clocksource.
expect_eq "$(jget r.json 'sorted(d["clock"])')" "['drift_ppm', 'source', 'ticks_per_ns', 'why']" "clock keys"
expect_eq "$(jget r.json 'd["clock"]["source"] in ("tsc", "monotonic") and d["clock"]["ticks_per_ns"] > 0 and len(d["clock"]["why"]) > 0')" True "clock values"
if [ "$(uname -m)" = x86_64 ] && grep -qw constant_tsc /proc/cpuinfo && grep -qw nonstop_tsc /proc/cpuinfo; then
  expect_eq "$(jget r.json 'd["clock"]["source"]')" tsc "invariant TSC used"
fi

# The timeline's settings: off, and a bad interval (one warning, the default).
PFERRIS_TIMELINE=0 PFERRIS_INTERVAL_MS=0 PFERRIS_OUTPUT=off.json preload "$prog" 1 5 > /dev/null
expect_eq "$(jget off.json 'len(d["timeline"]["intervals"]) + len(d["timeline"]["samples"])')" 0 "timeline off"
err=$(PFERRIS_INTERVAL_MS=soon PFERRIS_OUTPUT=bad.json preload "$prog" 1 5 2>&1 >/dev/null)
expect_eq "$err" "pferris: PFERRIS_INTERVAL_MS='soon' is not a number of milliseconds (0 to 3600000); using 10" "bad interval warning"

# Ranks: the first launcher variable set is recorded.
OMPI_COMM_WORLD_RANK=5 SLURM_PROCID=2 PFERRIS_OUTPUT=rank5.json preload "$prog" 1 5 > /dev/null
SLURM_PROCID=2 PFERRIS_OUTPUT=rank2.json preload "$prog" 1 5 > /dev/null
expect_eq "$(jget rank5.json 'd["rank"], d["rank_source"]')" "(5, 'OMPI_COMM_WORLD_RANK')" "MPI rank"
expect_eq "$(jget rank2.json 'd["rank"]')" 2 "Slurm rank"
expect_eq "$(jget r.json '"rank" in d')" False "no rank outside a launcher"
"$P" report --merge rank5.json rank2.json r.json > all.json || die "merge ranks"
expect_eq "$(jget all.json '[p.get("rank") for p in d["processes"]]')" "[2, 5, None]" "processes ordered by rank"
exit 0
