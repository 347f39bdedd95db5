# Allocation call sites: exact with PFERRIS_SAMPLE=1, unbiased estimates at the default rate,
# leaks named with their live bytes, cross-thread frees, realloc chains, aligned allocations.
. "$TOP/tests/lib.sh"
prog=$TOP/$B/tests/prog_sites
# site FUNCTION KEY: the figure summed over sites whose innermost frame is FUNCTION
site() { jget "$r" "sum(s['$2'] for s in d['heap']['sites'] if s['frames'] and s['frames'][0]['symbol'] == '$1')"; }

PFERRIS_SAMPLE=1 preload "$prog" 3000 || die "prog_sites failed"
r=$(one_report 'pferris.prog_sites.*.json')
expect_eq "$(jget "$r" 'd["heap"]["sampling"]["active"]')" True "sampling active"
expect_eq "$(site big allocations)" 3000 "big: allocations"
expect_eq "$(site big bytes)" 180000000 "big: bytes"
expect_eq "$(site big live_bytes)" 0 "big: live"
expect_eq "$(site mid bytes)" 90000000 "mid: bytes"
expect_eq "$(site small bytes)" 30000000 "small: bytes"
expect_eq "$(site small live_bytes)" 20000000 "small: leaked bytes"
expect_eq "$(site producer allocations)" 1000 "producer: allocations"
expect_eq "$(site producer live_bytes)" 0 "producer: freed by another thread"
expect_eq "$(site grow allocations)" 100 "grow: realloc chain"
expect_eq "$(site grow bytes)" 5050000 "grow: bytes"
expect_eq "$(site grow live_bytes)" 100000 "grow: the last block is live"
expect_eq "$(site aligned allocations)" 300 "aligned: allocations"
expect_eq "$(site aligned live_bytes)" 0 "aligned: live"
jget "$r" '[f["symbol"] for f in [s for s in d["heap"]["sites"] if s["frames"][0]["symbol"] == "producer"][0]["frames"][:2]]' | grep -q "'producer', 'produce'" || die "producer's stack"
jget "$r" '[s for s in d["heap"]["sites"] if s["frames"][0]["symbol"] == "big"][0]["frames"][0]["module"]' | grep -q "prog_sites$" || die "module of big"
# No frame of pferris in any stack: the thread's start hands over to the program's function by
# a tail call (the producer thread's stack ended in pferris's trampoline before).
expect_eq "$(jget "$r" '[f["symbol"] for s in d["heap"]["sites"] for f in s["frames"] if (f["module"] or "").endswith("libpferris.so")]')" "[]" "pferris's frames in call-site stacks"
rm -f "$r"

# Default rate (512 KiB), 2 GB allocated: within 10%, 15% and 25% of the truth (about five
# standard errors each at this run's sizes), and the leak named with its live bytes.
preload "$prog" 20000 || die "prog_sites failed"
r=$(one_report 'pferris.prog_sites.*.json')
check() { python3 -c "import sys; e=$2; t=$3; sys.exit(0 if abs(e - t) <= $4 * t else 1)" || die "$1: estimated $2, true $3 (tolerance $4)"; }
check big "$(site big bytes)" 1200000000 0.10
check mid "$(site mid bytes)" 600000000 0.15
check small "$(site small bytes)" 200000000 0.25
check "small (live)" "$(site small live_bytes)" 20000000 0.5
check "big (allocations)" "$(site big allocations)" 20000 0.10

# pferris report --top names the call sites with their source lines (the module has -g).
"$TOP/$B/pferris" report --top 3 "$r" > top.txt 2>&1 || die "pferris report --top failed: $(cat top.txt)"
line=$(grep -n 'malloc(60000)' "$TOP/tests/prog_sites.c" | cut -d: -f1)
grep -q "big (prog_sites.c:$line)" top.txt || die "--top does not show big (prog_sites.c:$line): $(cat top.txt)"
grep -A3 "by live bytes" top.txt | grep -q "small (prog_sites.c:" || die "--top by live bytes does not name small(): $(cat top.txt)"
