# A program built with only pferris.h (no link flag), as PIE and as non-PIE: unchanged without
# the preload, and its markers in the report with the right values under it.
. "$TOP/tests/lib.sh"
for prog in "$TOP/$B/tests/prog_markers" "$TOP/$B/tests/nopie_markers"; do
  [ -x "$prog" ] || die "missing $prog"
  kind=$(file -b "$prog" 2>/dev/null | cut -d, -f1)
  plain=$("$prog") || die "$prog failed without pferris"
  [ -z "$(ls pferris.*.json 2>/dev/null)" ] || die "a report without the preload"
  live=$(preload "$prog") || die "$prog failed under the preload"
  expect_eq "$live" "$plain" "output of $prog ($kind)"
  r=$(one_report "pferris.$(basename "$prog").*.json")
  expect_eq "$(jget "$r" 'd["counters"]["items"]')" 3000 "items"
  expect_eq "$(jget "$r" 'd["counters"]["batches"]')" 3 "batches"
  expect_eq "$(jget "$r" 'd["memory_usage"]["buffer"]')" 65536 "buffer last"
  expect_eq "$(jget "$r" 'd["memory_stats"]["buffer"]["peak"]')" 131072 "buffer peak"
  expect_eq "$(jget "$r" 'd["timing_stats"]["job"]["count"]')" 3 "job intervals"
  expect_eq "$(jget "$r" 'd["timing_stats"]["step"]["count"]')" 3000 "step intervals"
  expect_eq "$(jget "$r" '[n["name"] for n in d["timing_tree"]]')" "['job']" "tree roots"
  expect_eq "$(jget "$r" '[c["name"] for c in d["timing_tree"][0]["children"]]')" "['step']" "tree children"
  jget "$r" 'd["timings"]["job"] >= d["timings"]["step"] / 3 > 0' | grep -q True || die "timings not sane"
  expect_eq "$(jget "$r" 'len(d["threads"])')" 4 "threads"
  expect_eq "$(jget "$r" 'd["workers"]["max_concurrent_threads"]')" 4 "max concurrent threads"
  rm -f "$r"
done
# The worker count from the environment, and its echo in the report.
out=$(PFERRIS_WORKERS=5 preload "$TOP/$B/tests/prog_markers")
case "$out" in workers=5*) ;; *) die "PFERRIS_WORKERS ignored: $out";; esac
r=$(one_report 'pferris.prog_markers.*.json')
expect_eq "$(jget "$r" 'd["workers"]["requested"]')" 5 "workers.requested"
expect_eq "$(jget "$r" 'd["counters"]["items"]')" 5000 "items with 5 workers"
