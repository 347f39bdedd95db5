# The seed's examples and the marker worker program run and print sane figures: the lines the
# seed prints, a tuned count within the range tried, the bottleneck that is slowest by
# construction, the memory stages in order, the known result counts, and a worker program whose
# answer does not depend on its worker count and whose report shows its markers. Only lower
# bounds that sleeping guarantees are checked against time; nothing asserts a speed.
. "$TOP/tests/lib.sh"
ex=$TOP/$B/examples
export PFERRIS_QUIET=1
for p in basic_profiling auto_tuning memory_tracking performance_comparison bottleneck workers; do
  [ -x "$ex/$p" ] || die "$ex/$p was not built (make examples)"
done
cpus=$(nproc)
num() { sed -n "s/^$1\([0-9.]*\).*/\1/p" "$2" | head -n 1; }
py() { python3 -c "import sys; sys.exit(0 if ($1) else 1)"; }

# Example 1: 100 items that each sleep 10 ms take at least 1 s / CPUs in parallel_map.
"$ex/basic_profiling" > basic.txt || die "basic_profiling failed"
cat basic.txt
total=$(num 'Total execution time: ' basic.txt)
prep=$(num 'Data preparation: ' basic.txt)
par=$(num 'Parallel processing: ' basic.txt)
[ -n "$total" ] && [ -n "$prep" ] && [ -n "$par" ] || die "basic_profiling: missing lines"
py "$par >= 1.0 / $cpus - 0.01" || die "basic_profiling: parallel processing $par s is below the sleeps"
py "$total + 0.01 >= $par and $prep <= $par" || die "basic_profiling: total $total, prep $prep, parallel $par"

# Example 2 with a short test duration: the count is one of those tried, 1 to 8.
"$ex/auto_tuning" 0.25 > tune.txt || die "auto_tuning failed"
cat tune.txt
head -n 1 tune.txt | grep -qx 'Auto-tuning worker count...' || die "auto_tuning: first line"
opt=$(num 'Optimal workers: ' tune.txt)
best=$(num 'Best throughput: ' tune.txt)
tested=$(num 'Tested configurations: ' tune.txt)
expect_eq "$tested" 8 "auto_tuning: tested configurations"
py "1 <= $opt <= 8" || die "auto_tuning: optimal $opt outside 1..8"
py "$best > 0" || die "auto_tuning: best throughput $best"
expect_eq "$(grep -c '^  [0-9]* workers: [0-9.]* items/sec$' tune.txt)" 8 "auto_tuning: per-count lines"
grep -q "^  $opt workers: $best items/sec\$" tune.txt || die "auto_tuning: best throughput is not that of count $opt"
grep -qx "Processed 1000 items with $opt workers" tune.txt || die "auto_tuning: last line"

# Example 3: 8 MB of longs appear after creation and leave after cleanup.
"$ex/memory_tracking" > mem.txt || die "memory_tracking failed"
cat mem.txt
expect_eq "$(sed -n 's/^  \([a-z_]*\): [0-9]* MB$/\1/p' mem.txt | tr '\n' ' ')" \
  "startup after_data_creation after_processing after_cleanup " "memory_tracking: stages"
m() { sed -n "s/^  $1: \([0-9]*\) MB$/\1/p" mem.txt; }
py "$(m after_data_creation) - $(m startup) >= 7" || die "memory_tracking: the 8 MB array is not seen"
py "$(m after_cleanup) < $(m after_processing)" || die "memory_tracking: cleanup freed nothing"

# Example 4: four operations with their known result counts.
"$ex/performance_comparison" > cmp.txt || die "performance_comparison failed"
cat cmp.txt
expect_eq "$(grep -c '^  Time: [0-9]*\.[0-9]\{3\}s$' cmp.txt)" 4 "performance_comparison: time lines"
expect_eq "$(grep -c '^  Throughput: [0-9]* items/sec$' cmp.txt)" 4 "performance_comparison: throughput lines"
expect_eq "$(grep -A3 '^map_square:$' cmp.txt | num '  Results: ' /dev/stdin)" 10000 "map_square results"
expect_eq "$(grep -A3 '^map_cube:$' cmp.txt | num '  Results: ' /dev/stdin)" 10000 "map_cube results"
expect_eq "$(grep -A3 '^filter_even:$' cmp.txt | num '  Results: ' /dev/stdin)" 5000 "filter_even results"
expect_eq "$(grep -A3 '^filter_prime:$' cmp.txt | num '  Results: ' /dev/stdin)" 1229 "filter_prime results (primes below 10000)"

# Bottleneck identification: preprocessing waits 150 ms, every other stage far less.
"$ex/bottleneck" > bn.txt || die "bottleneck failed"
cat bn.txt
grep -q '^Bottleneck: preprocessing ([0-9.]*s)$' bn.txt || die "bottleneck: not preprocessing"
slowest=$(sed -n 's/^  \([a-z_]*\): \([0-9.]*\)s$/\2 \1/p' bn.txt | sort -rn | head -n 1 | cut -d' ' -f2)
expect_eq "$slowest" preprocessing "bottleneck: the slowest printed stage"
expect_eq "$(grep -c '^  [a-z_]*: [0-9.]*s$' bn.txt)" 4 "bottleneck: stages"

# The marker worker program: the same answer on 1 and 3 workers, and under the preload a
# report with its counter, timer tree and threads.
one=$(PFERRIS_WORKERS=1 PFERRIS_OUTPUT=w1.json "$ex/workers" 300) || die "workers failed"
three=$(PFERRIS_WORKERS=3 PFERRIS_OUTPUT=w3.json preload "$ex/workers" 300) || die "workers failed under the preload"
echo "$one"; echo "$three"
expect_eq "${three#workers: 3  }" "${one#workers: 1  }" "workers: answer on 3 workers"
[ "${three%%  *}" = "workers: 3" ] || die "workers: PFERRIS_WORKERS=3 not followed: $three"
[ -f w3.json ] || die "workers: no report under the preload"
expect_eq "$(jget w3.json 'd["counters"]["items"]')" 300 "workers: items counter"
expect_eq "$(jget w3.json 'd["timing_stats"]["item"]["count"]')" 300 "workers: item timer count"
jget w3.json 'sum(1 for t in d["threads"] if t["name"].startswith("worker-"))' | grep -qx 3 ||
  die "workers: three worker threads expected in the report"
exit 0
