# pferris report --pprof and --speedscope on real runs of tests/prog_report: the pprof output is
# gzip that protoc decodes as perftools.profiles.Profile (tests/pprof/profile.proto, google/pprof's
# schema), its samples sum to the report's call-site totals, its functions name the sites (with
# file and line from debug information), its mappings carry the modules' GNU build IDs; the time
# profile is the timer tree; a merged report labels every sample with its process; the waits
# profile (tests/prog_waits) is the report's locks and the cpu profile (tests/prog_cpu) its CPU
# stacks, with clear errors for reports without them; the speedscope file has indexed frames and balanced, ordered events per thread.
. "$TOP/tests/lib.sh"
P=$TOP/$B/pferris
prog=$TOP/$B/tests/prog_report
command -v protoc > /dev/null || skip "protoc is not installed (apt-get install protobuf-compiler)"
decode() { gzip -dc "$1" | protoc --decode perftools.profiles.Profile -I "$TOP/tests/pprof" profile.proto; }

PFERRIS_SAMPLE=1 PFERRIS_OUTPUT=r.json preload "$prog" 3 200 > /dev/null
PFERRIS_SAMPLE=1 PFERRIS_OUTPUT=r2.json preload "$prog" 2 50 > /dev/null
PFERRIS_SAMPLE=0 PFERRIS_OUTPUT=nosites.json preload "$prog" 2 20 > /dev/null

"$P" report --pprof heap r.json > heap.pb.gz || die "pprof heap"
gzip -t heap.pb.gz || die "the pprof output is not gzip"
decode heap.pb.gz > heap.txt || die "protoc cannot decode the heap profile: $(head -c 300 heap.txt)"
"$P" report --pprof r.json > default.pb.gz || die "pprof (default kind)"
cmp -s heap.pb.gz default.pb.gz || die "--pprof without a kind is not the heap profile"
"$P" report --pprof time r.json > time.pb.gz || die "pprof time"
decode time.pb.gz > time.txt || die "protoc cannot decode the time profile"
"$P" report --merge r.json r2.json > all.json || die "merge"
"$P" report --pprof heap all.json > merged.pb.gz || die "pprof of a merged report"
decode merged.pb.gz > merged.txt || die "protoc cannot decode the merged profile"
"$P" report --pprof heap nosites.json > empty.pb.gz 2> empty.err || die "pprof without sites"
decode empty.pb.gz > /dev/null || die "protoc cannot decode a profile without samples"
grep -q 'no samples' empty.err || die "no word about an empty profile: $(cat empty.err)"
readelf -n "$prog" | sed -n 's/.*Build ID: *//p' > buildid.txt

# protoc's text format, read into nested dicts of lists.
cat > textpb.py <<'PY'
import ast, re
def parse(path):
    root = {}; stack = [root]
    for line in open(path):
        line = line.strip()
        if line.endswith("{"):
            child = {}; stack[-1].setdefault(line[:-1].strip(), []).append(child); stack.append(child)
        elif line == "}":
            stack.pop()
        elif line:
            k, v = line.split(": ", 1)
            stack[-1].setdefault(k, []).append(ast.literal_eval(v) if v.startswith('"') else
                                               (v == "true") if v in ("true", "false") else int(v))
    return root
def one(m, k, d=0): return m.get(k, [d])[0]
class Profile:
    def __init__(self, path):
        self.p = parse(path); self.s = self.p["string_table"]
        self.fn = {one(f, "id"): f for f in self.p.get("function", [])}
        self.loc = {one(l, "id"): l for l in self.p.get("location", [])}
        self.map = {one(m, "id"): m for m in self.p.get("mapping", [])}
    def types(self): return [(self.s[one(t, "type")], self.s[one(t, "unit")]) for t in self.p["sample_type"]]
    def name(self, lid): return self.s[one(self.fn[one(one(self.loc[lid], "line"), "function_id")], "name")]
    def stack(self, smp): return [self.name(l) for l in smp.get("location_id", [])]
    def labels(self, smp): return {self.s[one(l, "key")]: one(l, "num") for l in smp.get("label", [])}
PY

python3 - <<'PY' || die "the heap profile does not match the report"
import json, sys
sys.path.insert(0, ".")
from textpb import Profile, one
r = json.load(open("r.json")); sites = r["heap"]["sites"]
p = Profile("heap.txt"); s = p.s
assert s[0] == "", s[0]
assert p.types() == [("alloc_objects", "count"), ("alloc_space", "bytes"),
                     ("inuse_objects", "count"), ("inuse_space", "bytes")], p.types()
samples = p.p["sample"]
assert len(samples) == len(sites), (len(samples), len(sites))
tot = [sum(smp["value"][i] for smp in samples) for i in range(4)]
assert tot[0] == sum(round(x["allocations"]) for x in sites), tot
assert tot[1] == sum(round(x["bytes"]) for x in sites), tot
assert tot[3] == sum(round(x["live_bytes"]) for x in sites), tot
for smp, site in zip(samples, sites):
    assert len(smp["location_id"]) == len(site["frames"]), (smp, site)
    for name, f in zip(p.stack(smp), site["frames"]):
        if f.get("symbol") not in (None, "", "??"):
            assert name == f["symbol"], (name, f)
        else:
            assert name.startswith(f["module"].rsplit("/", 1)[-1] + "+0x"), (name, f)
# The worker's sites: the function, its file and line from the test program's debug information.
fn = [f for f in p.fn.values() if s[one(f, "name")] == "worker"]
assert fn and s[one(fn[0], "filename")].endswith("tests/prog_report.c"), fn
lines = [one(one(l, "line"), "line") for l in p.loc.values() if p.name(one(l, "id")) == "worker"]
assert lines and all(x > 0 for x in lines), lines
# Mappings: the program first, with its build ID; every address inside its mapping.
prog = r["command"][0].rsplit("/", 1)[-1]
m0 = p.p["mapping"][0]
assert s[one(m0, "filename")].endswith("/" + prog), s[one(m0, "filename")]
assert s[one(m0, "build_id")] == open("buildid.txt").read().strip(), s[one(m0, "build_id")]
assert one(m0, "has_functions") and one(m0, "has_line_numbers")
for l in p.loc.values():
    m = p.map[one(l, "mapping_id")]
    assert one(m, "memory_start") <= one(l, "address") < one(m, "memory_limit"), (l, m)
assert s[one(one(p.p, "period_type"), "type")] == "space" and one(p.p, "period") == r["heap"]["sampling"]["mean_bytes"]
PY

python3 - <<'PY' || die "the time profile does not match the timer tree"
import json, sys
sys.path.insert(0, ".")
from textpb import Profile
r = json.load(open("r.json")); p = Profile("time.txt")
assert p.types() == [("calls", "count"), ("wall", "nanoseconds")], p.types()
want = {}
def walk(nodes, path):
    for n in nodes:
        want[tuple(reversed(path + [n["name"]]))] = (n["count"], round(n["self"] * 1e9))
        walk(n["children"], path + [n["name"]])
walk(r["timing_tree"], [])
got = {tuple(p.stack(smp)): tuple(smp["value"]) for smp in p.p["sample"]}
assert got.keys() == want.keys(), (got, want)
for k, (count, ns) in want.items():
    assert got[k][0] == count and abs(got[k][1] - ns) <= 1, (k, got[k], count, ns)
assert ("inner", "work") in got
PY

python3 - <<'PY' || die "the merged profile does not label its processes"
import json, sys
sys.path.insert(0, ".")
from textpb import Profile
p = Profile("merged.txt")
pids = {}
for smp in p.p["sample"]:
    lab = p.labels(smp); assert set(lab) == {"pid"}, lab
    pids[lab["pid"]] = pids.get(lab["pid"], 0) + smp["value"][1]
for f in ("r.json", "r2.json"):
    r = json.load(open(f))
    assert pids[r["pid"]] == sum(round(x["bytes"]) for x in r["heap"]["sites"]), (f, pids)
assert len(pids) == 2, pids
PY

# Python frames (a key a later report adds: "language", "line") are functions with file and line.
python3 - <<'PY'
import json
r = json.load(open("r.json"))
r["heap"]["sites"][0]["frames"].append({"symbol": "handler", "module": "/srv/app/views.py", "line": 42, "language": "python"})
json.dump(r, open("py.json", "w"))
PY
"$P" report --pprof heap py.json > py.pb.gz || die "pprof with a Python frame"
decode py.pb.gz > py.txt || die "protoc cannot decode the profile with a Python frame"
python3 - <<'PY' || die "the Python frame is no function"
import sys
sys.path.insert(0, ".")
from textpb import Profile, one
p = Profile("py.txt"); s = p.s
assert p.stack(p.p["sample"][0])[-1] == "handler", p.stack(p.p["sample"][0])
f = [f for f in p.fn.values() if s[one(f, "name")] == "handler"][0]
assert s[one(f, "filename")] == "/srv/app/views.py", f
l = [l for l in p.loc.values() if p.name(one(l, "id")) == "handler"][0]
assert one(one(l, "line"), "line") == 42 and "mapping_id" not in l and "address" not in l, l
PY

# waits: tests/prog_waits's global mutex (as tests/it_waits.sh runs it): one sample per lock,
# contentions and delay summing to the locks', a kind label, take_global among the functions;
# a merged report labels each lock with its process.
PFERRIS_OUTPUT=w.json preload "$TOP/$B/tests/prog_waits" global 4 1500 > /dev/null || die "prog_waits global failed"
"$P" report --pprof waits w.json > waits.pb.gz || die "pprof waits"
decode waits.pb.gz > waits.txt || die "protoc cannot decode the waits profile"
"$P" report --merge w.json w.json > wm.json || die "merge of the waits reports"
"$P" report --pprof waits wm.json > wm.pb.gz || die "pprof waits of a merged report"
decode wm.pb.gz > wm.txt || die "protoc cannot decode the merged waits profile"
python3 - <<'PY' || die "the waits profile does not match the report's locks"
import json, sys
sys.path.insert(0, ".")
from textpb import Profile, one
r = json.load(open("w.json")); locks = r["locks"]; p = Profile("waits.txt"); s = p.s
assert p.types() == [("contentions", "count"), ("delay", "nanoseconds")], p.types()
assert (s[one(one(p.p, "period_type"), "type")], one(p.p, "period")) == ("delay", round(r["waits"]["sample_ns"])), p.p["period_type"]
samples = p.p["sample"]
assert len(samples) == len(locks) > 0, (len(samples), len(locks))
assert sum(x["value"][0] for x in samples) == sum(l["contended"] for l in locks)
delay = sum(x["value"][1] for x in samples); want = sum(l["wait_seconds"] for l in locks) * 1e9
assert delay > 0 and abs(delay - want) <= len(locks) + 1e-6 * want, (delay, want)
for smp, l in zip(samples, locks):
    assert len(smp.get("location_id", [])) == len(l["frames"]), (smp, l)
    assert [(s[one(x, "key")], s[one(x, "str")]) for x in smp["label"]] == [("kind", l["kind"])], smp["label"]
assert "take_global" in [s[one(f, "name")] for f in p.fn.values()], [s[one(f, "name")] for f in p.fn.values()]
assert p.stack(samples[0])[0] == "take_global", p.stack(samples[0])
m = Profile("wm.txt")
pids = [(m.s[one(x, "key")], one(x, "num")) for smp in m.p["sample"] for x in smp["label"] if m.s[one(x, "key")] != "kind"]
assert len(m.p["sample"]) == 2 * len(locks) and pids == [("pid", r["pid"])] * len(m.p["sample"]), pids
PY

# cpu: tests/prog_cpu's sampled stacks (as tests/it_cpu.sh runs it): samples summing to the
# sites', the burn functions among the stacks, period 1e9 / hz.
PFERRIS_CPU_HZ=400 PFERRIS_OUTPUT=c.json preload "$TOP/$B/tests/prog_cpu" 0.5 > /dev/null || die "prog_cpu failed"
"$P" report --pprof cpu c.json > cpu.pb.gz || die "pprof cpu"
decode cpu.pb.gz > cpu.txt || die "protoc cannot decode the cpu profile"
python3 - <<'PY' || die "the cpu profile does not match the report's cpu sites"
import json, sys
sys.path.insert(0, ".")
from textpb import Profile, one
r = json.load(open("c.json")); sites = r["cpu"]["sites"]; p = Profile("cpu.txt"); s = p.s
assert p.types() == [("samples", "count"), ("cpu", "nanoseconds")], p.types()
assert (s[one(one(p.p, "period_type"), "type")], one(p.p, "period")) == ("cpu", 2500000), p.p["period_type"]
samples = p.p["sample"]
assert len(samples) == len(sites) > 0, (len(samples), len(sites))
assert sum(x["value"][0] for x in samples) == sum(x["samples"] for x in sites) > 0
ns = sum(x["value"][1] for x in samples); want = sum(x["seconds"] for x in sites) * 1e9
assert abs(ns - want) <= len(sites), (ns, want)
names = {s[one(f, "name")] for f in p.fn.values()}
assert names & {"burn_sixty", "burn_thirty", "burn_ten"}, names
assert any(p.stack(x)[:2] == ["burn", "burn_sixty"] for x in samples), [p.stack(x) for x in samples[:3]]
PY

# Reports without locks or CPU samples (an older pferris, PFERRIS_CPU_HZ=0); usage errors.
python3 -c 'import json; r = json.load(open("r.json")); r.pop("locks", None); r.pop("waits", None); r.pop("cpu", None); json.dump(r, open("old.json", "w"))'
"$P" report --pprof waits old.json > /dev/null 2> waits.err; expect_eq $? 2 "--pprof waits without locks"
grep -q 'no lock waits' waits.err || die "unclear --pprof waits error: $(cat waits.err)"
"$P" report --pprof cpu old.json > /dev/null 2> cpu.err; expect_eq $? 2 "--pprof cpu without cpu"
grep -q 'no CPU samples' cpu.err || die "unclear --pprof cpu error: $(cat cpu.err)"
PFERRIS_CPU_HZ=0 PFERRIS_OUTPUT=c0.json preload "$TOP/$B/tests/prog_cpu" 0.1 > /dev/null || die "prog_cpu failed"
"$P" report --pprof cpu c0.json > /dev/null 2> cpu0.err; expect_eq $? 2 "--pprof cpu with PFERRIS_CPU_HZ=0"
grep -q 'no CPU samples' cpu0.err || die "unclear --pprof cpu error: $(cat cpu0.err)"
"$P" report --pprof heap r.json r2.json > /dev/null 2> two.err; expect_eq $? 2 "--pprof of two reports"
grep -q -- '--merge' two.err || die "no hint to merge: $(cat two.err)"

# speedscope: frames indexed, per thread balanced O/C events in time order that match the
# timeline's intervals, heap weights that sum to the sites' bytes.
"$P" report --speedscope r.json > s.json || die "speedscope"
"$P" report --speedscope all.json > sm.json || die "speedscope of a merged report"
python3 - <<'PY' || die "speedscope structure"
import json
def check(doc, reports):
    assert doc["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    frames = doc["shared"]["frames"]; nf = len(frames)
    assert all(isinstance(f["name"], str) for f in frames)
    ev = [p for p in doc["profiles"] if p["type"] == "evented"]
    sp = [p for p in doc["profiles"] if p["type"] == "sampled"]
    opened = {}
    for p in ev:
        stack, last = [], p["startValue"]
        for e in p["events"]:
            assert 0 <= e["frame"] < nf, e
            assert e["at"] >= last, ("out of order", p["name"], e, last); last = e["at"]
            if e["type"] == "O":
                stack.append(e["frame"]); opened[p["name"]] = opened.get(p["name"], 0) + 1
            else:
                assert e["type"] == "C" and stack and stack.pop() == e["frame"], ("unbalanced", p["name"], e)
        assert not stack, ("left open", p["name"], stack)
        assert last <= p["endValue"], (p["name"], last, p["endValue"])
    want_ev = sum(len(r["timeline"]["intervals"]) for r in reports)
    assert sum(opened.values()) == want_ev, (opened, want_ev)
    alloc = [p for p in sp if p["name"].endswith("heap: bytes allocated by call site")]
    assert len(alloc) == len(reports), [p["name"] for p in sp]
    for p in sp:
        assert p["unit"] == "bytes" and len(p["samples"]) == len(p["weights"])
        assert all(0 <= i < nf for st in p["samples"] for i in st)
        assert p["endValue"] == sum(p["weights"])
    assert sum(sum(p["weights"]) for p in alloc) == sum(round(x["bytes"]) for r in reports for x in r["heap"]["sites"])
    return ev
r = json.load(open("r.json"))
ev = check(json.load(open("s.json")), [r])
names = {p["name"] for p in ev}
for th in r["threads"]:
    if any(i["tid"] == th["tid"] for i in r["timeline"]["intervals"]):
        assert "%s (tid %d)" % (th["name"], th["tid"]) in names, (th, names)
ev = check(json.load(open("sm.json")), [json.load(open("r.json")), json.load(open("r2.json"))])
assert all(p["name"].startswith("prog_report ") for p in ev), [p["name"] for p in ev]
PY
exit 0
