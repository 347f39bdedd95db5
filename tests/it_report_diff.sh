# pferris report --diff, --merge, --flame and --trace on two crafted reports whose every figure
# is known: the outputs must hold exactly the expected numbers (values are dyadic fractions,
# so sums are exact in binary floating point).
. "$TOP/tests/lib.sh"
P=$TOP/$B/pferris
python3 - <<'PY'
import json
base = lambda **k: dict({"schema": "pferris-report/1", "pferris_version": "0.1.0", "ppid": 1,
                         "command": ["app", "--n", "4"], "dropped": {"timer_starts": 0, "names": 0}}, **k)
site = lambda b, a, l: {"frames": [{"symbol": "make_buf", "module": "/bin/app", "offset": 16},
                                   {"symbol": "main", "module": "/bin/app", "offset": 32}],
                        "allocations": a, "bytes": b, "live_bytes": l}
a = base(pid=100, hostname="h1", start_time="2024-01-01T00:00:01.000Z", total_elapsed=2.0, rank=1,
    timings={"load": 1.0, "compute": 0.5, "gone": 0.25},
    timing_stats={"load": {"count": 2, "total": 1.0, "min": 0.25, "max": 0.75, "mean": 0.5},
                  "compute": {"count": 1, "total": 0.5, "min": 0.5, "max": 0.5, "mean": 0.5}},
    timing_tree=[{"name": "load", "count": 2, "total": 1.0, "self": 0.75,
                  "children": [{"name": "parse", "count": 2, "total": 0.25, "self": 0.25, "children": []}]}],
    counters={"items": 100, "errors": 4},
    memory_usage={"cache": 1000}, memory_stats={"cache": {"last": 1000, "peak": 4000}},
    threads=[{"tid": 100, "name": "app", "start": 0.0, "end": 2.0, "running": False, "cpu_time": 1.5,
              "allocations": 10, "bytes_allocated": 1000, "frees": 5, "bytes_freed": 500}],
    heap={"enabled": True, "allocations": 10, "frees": 5, "bytes_allocated": 1000, "bytes_freed": 500,
          "live_bytes": 500, "peak_bytes": 800,
          "size_histogram": [{"min": 512, "max": 1023, "count": 1}], "sites": [site(600, 4, 200)]},
    workers={"requested": 4, "max_concurrent_threads": 3},
    timeline={"enabled": True, "interval_ms": 10, "sample_period_ms": 10,
              "intervals": [{"tid": 100, "name": "load", "start": 0.0, "end": 0.25},
                            {"tid": 100, "name": "load", "start": 1.0, "end": 1.75}],
              "samples": [{"t": 0.5, "live_bytes": 300, "threads": 1, "counters": {"items": 50}}],
              "dropped": {"intervals": 0, "sample_halvings": 0}})
a["dropped"]["names"] = 1
b = base(pid=200, hostname="h2", start_time="2024-01-01T00:00:00.500Z", total_elapsed=3.0, rank=0,
    timings={"load": 1.5, "compute": 0.5, "new": 0.125},
    timing_stats={"load": {"count": 3, "total": 1.5, "min": 0.125, "max": 1.0, "mean": 0.5},
                  "compute": {"count": 1, "total": 0.5, "min": 0.5, "max": 0.5, "mean": 0.5}},
    timing_tree=[{"name": "load", "count": 3, "total": 1.5, "self": 1.0,
                  "children": [{"name": "parse", "count": 3, "total": 0.5, "self": 0.5, "children": []}]}],
    counters={"items": 150, "errors": 2},
    memory_usage={"cache": 2000}, memory_stats={"cache": {"last": 2000, "peak": 5000}},
    threads=[{"tid": 200, "name": "app", "start": 0.0, "end": 3.0, "running": False, "cpu_time": 2.5,
              "allocations": 20, "bytes_allocated": 3000, "frees": 10, "bytes_freed": 2500}],
    heap={"enabled": True, "allocations": 20, "frees": 10, "bytes_allocated": 3000, "bytes_freed": 2500,
          "live_bytes": 500, "peak_bytes": 1600,
          "size_histogram": [{"min": 512, "max": 1023, "count": 2}, {"min": 2, "max": 3, "count": 5}],
          "sites": [site(1800, 8, 0)]},
    workers={"requested": 4, "max_concurrent_threads": 5})
json.dump(a, open("a.json", "w")); json.dump(b, open("b.json", "w"))
PY

# --diff: every row, in order, with its numbers.
"$P" report --diff a.json b.json --json > diff.json || die "diff exit $?"
python3 - <<'PY' || die "diff rows"
import json
d = json.load(open("diff.json"))
rows = [(r["kind"], r["name"], r["before"], r["after"], r["change"], r["ratio"], r["percent"], r["status"]) for r in d["rows"]]
expect = [
 ("timer", "new", None, 0.125, 0.125, None, None, "new"),
 ("heap", "bytes_allocated", 1000, 3000, 2000, 3.0, 200.0, "both"),
 ("site", "main;make_buf", 600, 1800, 1200, 3.0, 200.0, "both"),
 ("heap", "peak_bytes", 800, 1600, 800, 2.0, 100.0, "both"),
 ("heap", "allocations", 10, 20, 10, 2.0, 100.0, "both"),
 ("counter", "items", 100, 150, 50, 1.5, 50.0, "both"),
 ("process", "elapsed", 2, 3, 1, 1.5, 50.0, "both"),
 ("timer", "load", 1, 1.5, 0.5, 1.5, 50.0, "both"),
 ("memory", "cache", 4000, 5000, 1000, 1.25, 25.0, "both"),
 ("heap", "live_bytes", 500, 500, 0, 1.0, 0.0, "both"),
 ("timer", "compute", 0.5, 0.5, 0, 1.0, 0.0, "both"),
 ("counter", "errors", 4, 2, -2, 0.5, -50.0, "both"),
 ("timer", "gone", 0.25, None, -0.25, None, None, "gone"),
]
if rows != expect:
    for x, y in zip(rows, expect): print("got", x, "\nexp", y) if x != y else None
    print(len(rows), len(expect)); raise SystemExit(1)
PY
"$P" report --diff a.json b.json --fail-above 150 > /dev/null 2> err.txt; rc=$?
expect_eq $rc 1 "--fail-above 150 exit code (two figures grew 200%)"
grep -q "2 figures grew by more than 150%" err.txt || die "fail-above message: $(cat err.txt)"
grep -q "heap bytes_allocated: 1000 B -> 2.9 KiB (+200.0%)" err.txt || die "fail-above rows: $(cat err.txt)"
"$P" report --diff a.json b.json --fail-above 250 > text.txt; expect_eq $? 0 "--fail-above 250 exit code"
grep -Eq "^  timer +load +1.000 s +1.500 s +\+500.000 ms +1.500x +\+50.0%$" text.txt || die "text row for load: $(cat text.txt)"

# --merge: sums, maxima, the per-process breakdown ordered by rank.
"$P" report --merge a.json b.json > all.json || die "merge exit $?"
python3 - <<'PY' || die "merged figures"
import json
m = json.load(open("all.json"))
def eq(got, exp, what):
    if got != exp: raise SystemExit(f"{what}: got {got!r}, expected {exp!r}")
eq(m["schema"], "pferris-report/1", "schema")
eq(m["timings"], {"load": 2.5, "compute": 1.0, "gone": 0.25, "new": 0.125}, "timings")
eq(m["timing_stats"]["load"], {"count": 5, "total": 2.5, "min": 0.125, "max": 1.0, "mean": 0.5}, "load stats")
eq(m["counters"], {"items": 250, "errors": 6}, "counters")
eq(m["memory_usage"], {"cache": 3000}, "memory_usage")
eq(m["memory_stats"]["cache"], {"last": 3000, "peak": 9000, "peak_max": 5000}, "memory_stats")
h = m["heap"]
for k, v in {"allocations": 30, "frees": 15, "bytes_allocated": 4000, "bytes_freed": 3000, "live_bytes": 1000,
             "peak_bytes": 2400, "peak_bytes_max": 1600, "enabled": True}.items():
    eq(h[k], v, "heap." + k)
eq(h["size_histogram"], [{"min": 2, "max": 3, "count": 5}, {"min": 512, "max": 1023, "count": 3}], "histogram")
eq(len(h["sites"]), 1, "sites merged by frames")
eq((h["sites"][0]["bytes"], h["sites"][0]["allocations"], h["sites"][0]["live_bytes"]), (2400, 12, 200), "site figures")
eq(m["total_elapsed"], 3.0, "total_elapsed (the longest process)")
eq(m["start_time"], "2024-01-01T00:00:00.500Z", "start_time (the earliest)")
eq(m["workers"], {"requested": 4, "max_concurrent_threads": 5}, "workers")
eq(m["dropped"], {"timer_starts": 0, "names": 1}, "dropped")
eq([p["rank"] for p in m["processes"]], [0, 1], "processes by rank")
eq([p["file"] for p in m["processes"]], ["b.json", "a.json"], "files kept")
eq(m["merged"]["processes"], 2, "merged.processes"); eq(sorted(m["merged"]["hosts"]), ["h1", "h2"], "hosts")
eq(m["merged"]["ranks"], [0, 1], "ranks")
eq(sorted((t["pid"], t["rank"], t["tid"]) for t in m["threads"]), [(100, 1, 100), (200, 0, 200)], "threads")
t = m["timing_tree"]; eq(len(t), 1, "tree roots")
eq((t[0]["name"], t[0]["count"], t[0]["total"], t[0]["self"]), ("load", 5, 2.5, 1.75), "tree load")
c = t[0]["children"][0]; eq((c["name"], c["count"], c["total"], c["self"]), ("parse", 5, 0.75, 0.75), "tree parse")
PY
# A merged report is a report: it merges again, reads, and folds per rank.
"$P" report --merge all.json a.json > again.json || die "merging a merged report"
expect_eq "$(jget again.json 'd["merged"]["processes"]')" 3 "processes after merging a merged report"
"$P" report all.json > summary.txt || die "summary of a merged report"
grep -q "merged      2 processes on 2 hosts" summary.txt || die "merged summary: $(cat summary.txt)"

"$P" report --flame time all.json > time.folded || die "flame time"
expect_eq "$(cat time.folded)" "$(printf 'rank 0;load 1000000\nrank 0;load;parse 500000\nrank 1;load 750000\nrank 1;load;parse 250000')" "folded time stacks"
"$P" report --flame heap all.json > heap.folded || die "flame heap"
expect_eq "$(cat heap.folded)" "$(printf 'rank 0;[not sampled] 1200\nrank 0;main;make_buf 1800\nrank 1;[not sampled] 400\nrank 1;main;make_buf 600')" "folded heap stacks"
expect_eq "$(awk '{s += $NF} END {print s}' heap.folded)" "$(jget all.json 'd["heap"]["bytes_allocated"]')" "folded heap sum"

# --trace: X events and counter events where the crafted timeline puts them; processes on one
# time axis (b started 0.5 s before a).
"$P" report --trace a.json b.json > trace.json || die "trace exit $?"
python3 - <<'PY' || die "trace events"
import json
ev = json.load(open("trace.json"))["traceEvents"]
x = sorted((e["pid"], e["tid"], e["name"], e["ts"], e["dur"]) for e in ev if e["ph"] == "X")
assert x == [(100, 100, "load", 500000.0, 250000.0), (100, 100, "load", 1500000.0, 750000.0)], x
heap = [(e["pid"], e["ts"], e["args"]["live_bytes"]) for e in ev if e["ph"] == "C" and e["name"] == "heap"]
assert (100, 1000000.0, 300) in heap and (200, 3000000.0, 500) in heap, heap
items = sorted((e["pid"], e["ts"], e["args"]["value"]) for e in ev if e["ph"] == "C" and e["name"] == "items")
assert items == [(100, 1000000.0, 50), (100, 2500000.0, 100), (200, 3000000.0, 150)], items
names = {(e["pid"], e["args"]["name"]) for e in ev if e["ph"] == "M" and e["name"] == "process_name"}
assert names == {(100, "app rank 1 (pid 100)"), (200, "app rank 0 (pid 200)")}, names
assert {(e["pid"], e["tid"], e["args"]["name"]) for e in ev if e["name"] == "thread_name"} == {(100, 100, "app"), (200, 200, "app")}
PY
exit 0
