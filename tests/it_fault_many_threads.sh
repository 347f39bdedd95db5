# Fault (issue 10, item 13): thread memory is bounded. Every thread that ended used to keep its
# record, and one that used a marker its per-profiler tables: about 15 KiB each, never freed.
# Now an ended thread's row is folded into a bounded table and its record goes to a later
# thread: pferris's resident memory must not follow the number of threads started (what does
# grow, the timeline's intervals, is bounded by its own cap), and the report's figures stay
# exact while its thread list is capped at the heaviest 1000 plus one row for the rest.
. "$TOP/tests/lib.sh"
cc -O1 -pthread -I"$TOP/lib" -o "$TMP/prog" "$TOP/tests/faults/many_threads.c" || die "cannot compile the repro"
small=3000 large=15000
[ -n "${SAN:-}" ] && small=2000 large=6000
grow() { # KiB the resident set grew by over N threads (after the warm-up), under env "$@"
    local n=$1; shift
    timeout -k 2 60 env "$@" "$TMP/prog" "$n" 4 || die "the repro failed with $n threads ($*)"
}
plain_s=$(grow $small) && plain_l=$(grow $large) || exit 1
pre=(LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 PFERRIS_CHECKPOINT=0)
pre_s=$(cd "$TMP" && grow $small "${pre[@]}" PFERRIS_OUTPUT="$TMP/small.json") || exit 1
pre_l=$(cd "$TMP" && grow $large "${pre[@]}" PFERRIS_OUTPUT="$TMP/large.json") || exit 1
extra=$(( (pre_l - pre_s) - (plain_l - plain_s) ))
echo "RSS growth KiB: plain $plain_s -> $plain_l, pferris $pre_s -> $pre_l (extra $extra for $((large - small)) threads more)"
[ "$extra" -le 4096 ] || die "pferris's memory grew by $extra KiB for $((large - small)) more threads"
r="$TMP/large.json"
expect_eq "$(jget "$r" "d['counters']['many_threads.threads']")" "$large" "the counter, once per thread"
expect_eq "$(jget "$r" "d['timing_stats']['many_threads.work']['count']")" "$large" "the timer's count"
expect_eq "$(jget "$r" "d['heap']['allocations'] >= $large")" True "heap allocations"
expect_eq "$(jget "$r" "len(d['threads']) <= 1001")" True "the thread list is capped"
expect_eq "$(jget "$r" "d['workers']['threads_total']")" "$((large + 1))" "threads_total"
expect_eq "$(jget "$r" "d['workers']['threads_exited']")" "$large" "threads_exited"
expect_eq "$(jget "$r" "sum(t.get('other_threads', 1) for t in d['threads'])")" "$((large + 1))" "rows and the rest row sum every thread"
expect_eq "$(jget "$r" "[t['name'] for t in d['threads'] if 'other_threads' in t] == ['(%d other threads)' % ($large + 1 - 1000)]")" True "the rest row"
for k in allocations frees bytes_allocated; do
    expect_eq "$(jget "$r" "sum(t['$k'] for t in d['threads']) == d['heap']['$k']")" True "the rows' $k sum to the heap's"
done
"$TOP/$B/pferris" report "$r" >"$TMP/summary.txt" || die "pferris report cannot read the report"
grep -q "other threads" "$TMP/summary.txt" || die "the summary does not show the rest row"
grep -q "; $((large + 1)) threads" "$TMP/summary.txt" || die "the summary does not count every thread"
"$TOP/$B/pferris" report --trace "$r" >"$TMP/trace.json" || die "--trace cannot read the report"
expect_eq "$(jget "$TMP/trace.json" "sum(1 for e in d['traceEvents'] if e.get('name') == 'thread_name' and e.get('tid') == 0)")" 0 "--trace names no thread 0"
"$TOP/$B/pferris" report --flame heap "$r" >"$TMP/heap.folded" || die "--flame cannot read the report"
"$TOP/$B/pferris" report --merge "$r" "$TMP/small.json" >"$TMP/merged.json" || die "--merge failed"
expect_eq "$(jget "$TMP/merged.json" "d['workers']['threads_total']")" "$((large + small + 2))" "--merge sums threads_total"
exit 0
