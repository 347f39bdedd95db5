# Sampled CPU stacks (PFERRIS_CPU_HZ): two threads spending 60/30/10% of their CPU time in
# three functions (tests/prog_cpu.c) are reported with those shares within 5 points; every
# thread's samples match its CPU time; PFERRIS_CPU_HZ=0 turns sampling off; a single-threaded
# program stays single-threaded; a forked child samples itself (both at the default 100 Hz).
. "$TOP/tests/lib.sh"
prog=$TOP/$B/tests/prog_cpu

# 400 Hz for 2.5 s of CPU per thread: 2000 samples, so that 5 points is about four standard
# errors of the largest share.
PFERRIS_CPU_HZ=400 preload "$prog" 2.5 >/dev/null || die "prog_cpu failed"
r=$(one_report 'pferris.prog_cpu.*.json')
expect_eq "$(jget "$r" 'd["cpu"]["active"]')" True "cpu.active"
expect_eq "$(jget "$r" 'd["cpu"]["hz"]')" 400 "cpu.hz"
share() { jget "$r" "round(100.0 * sum(s['samples'] for s in d['cpu']['sites'] if '$1' in [f['symbol'] for f in s['frames']]) / d['cpu']['samples'], 1)"; }
within() { python3 -c "import sys; sys.exit(0 if abs($2 - $3) <= $4 else 1)" || die "$1: $2, expected $3 +- $4"; }
within "burn_sixty's share" "$(share burn_sixty)" 60 5
within "burn_thirty's share" "$(share burn_thirty)" 30 5
within "burn_ten's share" "$(share burn_ten)" 10 5
# The stacks reach up through the thread's start: burn < burn_sixty < work.
jget "$r" '[f["symbol"] for f in d["cpu"]["sites"][0]["frames"]][:3]' | grep -q "'burn', 'burn_[a-z]*', 'work'" ||
  die "stack of the heaviest site: $(jget "$r" '[f["symbol"] for f in d["cpu"]["sites"][0]["frames"]]')"
# Each worker's samples are its CPU time at 400 Hz (within 10%), and they sum to cpu.samples.
jget "$r" 'all(abs(t["cpu_samples"] - 400 * t["cpu_time"]) <= 0.1 * 400 * t["cpu_time"] + 2 for t in d["threads"])' | grep -q True ||
  die "cpu_samples vs cpu_time: $(jget "$r" '[(t["cpu_samples"], t["cpu_time"]) for t in d["threads"]]')"
expect_eq "$(jget "$r" 'sum(t["cpu_samples"] for t in d["threads"]) == d["cpu"]["samples"]')" True "threads' samples sum"
within "cpu.seconds" "$(jget "$r" 'd["cpu"]["seconds"]')" 5.0 0.5
# The tools: the summary's CPU section and bottleneck (the program has no timers), and --flame
# cpu, whose microseconds add up to cpu.seconds.
"$TOP/$B/pferris" report "$r" > sum.txt || die "pferris report failed"
grep -q "where the CPU time goes" sum.txt || die "no CPU section: $(cat sum.txt)"
grep -q "bottleneck  burn: " sum.txt || die "the bottleneck does not use the CPU samples: $(grep bottleneck sum.txt)"
grep -A12 "functions by total time" sum.txt | grep -q "burn_sixty" || die "burn_sixty not in the total table"
"$TOP/$B/pferris" report --flame cpu "$r" > cpu.folded || die "--flame cpu failed"
grep -q ';work;burn_sixty;burn' cpu.folded || die "folded CPU stacks: $(head -3 cpu.folded)"
# The workers' stacks end in the C library's thread start, with no frame of pferris under work.
grep -q 'start_thread;work;' cpu.folded || die "no start_thread;work; in the folded stacks: $(head -3 cpu.folded)"
grep -q 'trampoline' cpu.folded && die "pferris's trampoline in the CPU stacks: $(grep -m1 trampoline cpu.folded)"
within "--flame cpu total (s)" "$(awk '{s += $NF} END {print s / 1e6}' cpu.folded)" "$(jget "$r" 'd["cpu"]["seconds"]')" 0.01
rm -f "$r"

# Off, and a bad value.
PFERRIS_CPU_HZ=0 preload "$prog" 0.2 >/dev/null || die "prog_cpu failed with PFERRIS_CPU_HZ=0"
r=$(one_report 'pferris.prog_cpu.*.json')
expect_eq "$(jget "$r" 'd["cpu"]["active"], d["cpu"]["samples"], d["cpu"]["inactive_reason"]')" "(False, 0, 'PFERRIS_CPU_HZ=0')" "PFERRIS_CPU_HZ=0"
rm -f "$r"
PFERRIS_CPU_HZ=fast preload "$prog" 0.2 2> err.txt >/dev/null || die "prog_cpu failed with PFERRIS_CPU_HZ=fast"
grep -q "PFERRIS_CPU_HZ='fast'" err.txt || die "no warning for PFERRIS_CPU_HZ=fast: $(cat err.txt)"
r=$(one_report 'pferris.prog_cpu.*.json')
expect_eq "$(jget "$r" 'd["cpu"]["hz"]')" 100 "the default after a bad value"
rm -f "$r"

# A single-threaded program stays single-threaded (no helper thread), and a forked child that
# goes on working reports its own samples.
cat > one.c <<'C'
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static volatile unsigned long sink;
static void burn(double s)
{
    clock_t end = clock() + (clock_t)(s * CLOCKS_PER_SEC);
    while (clock() < end)
        sink++;
}
static int threads(void)
{
    char line[256];
    int n = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "Threads:", 8))
            sscanf(line + 8, "%d", &n);
    if (f)
        fclose(f);
    return n;
}
int main(void)
{
    burn(0.3);
    pid_t pid = fork();
    if (pid == 0) {
        burn(0.5);
        return 0;
    }
    waitpid(pid, NULL, 0);
    printf("threads %d\n", threads());
    return 0;
}
C
cc -O1 -o one one.c || die "cannot compile one.c"
expect_eq "$(preload ./one)" "threads 1" "a single-threaded program under the preload"
for f in pferris.one.*.json; do
  echo "$f: $(jget "$f" 'd["cpu"]["samples"]') samples, cpu $(jget "$f" 'd["threads"][0]["cpu_time"]') s"
done
python3 - <<'P' || die "fork: parent and child samples"
import glob, json
rs = [json.load(open(f)) for f in glob.glob("pferris.one.*.json")]
assert len(rs) == 2, len(rs)
for r in rs:
    t = r["threads"][0]
    assert abs(r["cpu"]["samples"] - 100 * t["cpu_time"]) <= 0.15 * 100 * t["cpu_time"] + 3, (r["cpu"]["samples"], t["cpu_time"])
    assert r["cpu"]["samples"] >= 20, r["cpu"]["samples"]
P
exit 0
