# Where threads wait: one global mutex (the report's total wait against the program's own
# measure, and the lock named by the function that takes it), a mutex per thread (no waits),
# and a producer/consumer queue on a condition variable.
. "$TOP/tests/lib.sh"
prog=$TOP/$B/tests/prog_waits

out=$(preload "$prog" global 4 1500) || die "prog_waits global failed"
own=$(echo "$out" | sed -n 's/^waited //p')
r=$(one_report 'pferris.prog_waits.*.json')
total=$(jget "$r" 'sum(t["wait_seconds"] for t in d["threads"])')
python3 -c "import sys; o=$own; t=$total; sys.exit(0 if o > 0.05 and abs(t - o) <= 0.25 * o else 1)" ||
  die "total wait $total s, the program measured $own s (tolerance 25%)"
expect_eq "$(jget "$r" 'd["locks"][0]["kind"]')" mutex "heaviest lock's kind"
expect_eq "$(jget "$r" 'd["locks"][0]["frames"][0]["symbol"]')" take_global "heaviest lock's call site"
expect_eq "$(jget "$r" 'd["locks"][0]["threads"]')" 4 "threads waiting on the global lock"
python3 -c "import sys; sys.exit(0 if $(jget "$r" 'd["waits"]["share"]') > 0.2 else 1)" || die "wait share below 20%"
"$TOP/$B/pferris" report "$r" > summary.txt 2>&1 || die "pferris report failed: $(cat summary.txt)"
grep -q "waits" summary.txt || die "no waits section: $(cat summary.txt)"
grep -A3 "^  waits" summary.txt | grep -q "take_global" || die "waits section does not name take_global: $(cat summary.txt)"
grep "bottleneck" summary.txt | grep -q "take_global" || die "bottleneck line does not name the lock: $(cat summary.txt)"
# Long waits are intervals on the thread lanes of --trace.
"$TOP/$B/pferris" report --trace "$r" > trace.json 2> trace.err || die "pferris report --trace failed: $(cat trace.err)"
jget trace.json 'sum(1 for e in d["traceEvents"] if e.get("cat") == "wait" and e["name"] == "wait: mutex" and e["dur"] >= 100)' |
  python3 -c 'import sys; sys.exit(0 if int(sys.stdin.read()) > 0 else 1)' || die "no wait intervals in the trace"
# A merged report keeps each process's locks (with its pid) and sums the waiting.
cp "$r" second.json
"$TOP/$B/pferris" report --merge "$r" second.json > merged.json 2> merge.err || die "--merge failed: $(cat merge.err)"
expect_eq "$(jget merged.json 'len(d["locks"]) == 2 * len(d["processes"][0]["locks"]) and all("pid" in l for l in d["locks"])')" True "merged locks"
expect_eq "$(jget merged.json 'abs(d["waits"]["wait_seconds"] - 2 * d["processes"][0]["waits"]["wait_seconds"]) < 1e-6')" True "merged wait"
rm -f second.json merged.json
rm -f "$r"

preload "$prog" perthread 4 300 > /dev/null || die "prog_waits perthread failed"
r=$(one_report 'pferris.prog_waits.*.json')
expect_eq "$(jget "$r" 'len(d["locks"])')" 0 "locks with a mutex per thread"
expect_eq "$(jget "$r" 'sum(t["wait_seconds"] for t in d["threads"])')" 0.0 "wait with a mutex per thread"
rm -f "$r"

preload "$prog" queue 20000 > out.txt || die "prog_waits queue failed: $(cat out.txt)"
r=$(one_report 'pferris.prog_waits.*.json')
cond=$(jget "$r" '[l for l in d["locks"] if l["kind"] == "cond"]')
[ "$cond" != "[]" ] || die "no condition variable in locks: $(jget "$r" 'd["locks"]')"
jget "$r" '[l["frames"][0]["symbol"] for l in d["locks"] if l["kind"] == "cond" and l["frames"]]' | grep -q queue_pop ||
  die "the consumer's wait is not charged to queue_pop: $(jget "$r" 'd["locks"]')"
python3 -c "import sys; sys.exit(0 if $(jget "$r" 'max(t["wait_seconds"] for t in d["threads"])') > 0 else 1)" || die "no thread waited"
rm -f "$r"

# The tuner: fixed work on one global mutex cannot go faster with more workers, and the
# threads wait more: the table shows the share and one line names the lock's call site.
line=$(grep -n 'pthread_mutex_lock(&global)' "$TOP/tests/prog_waits.c" | cut -d: -f1)
"$TOP/$B/pferris-tune" --min 1 --max 4 --json tune.json -- "$prog" share '{workers}' 600 > tune.txt 2> tune.err ||
  die "pferris-tune failed: $(cat tune.err)"
grep -q "^ *workers *trials .*waiting" tune.txt || die "no waiting column: $(cat tune.txt)"
grep -q "workers on, threads wait [0-9]*% of their time on the mutex taken in take_global (prog_waits.c:$line)" tune.txt ||
  die "no line naming the lock: $(cat tune.txt)"
expect_eq "$(jget tune.json 'd["results"][0]["wait_share"] < d["results"][-1]["wait_share"]')" True "wait share grows with workers"
exit 0
