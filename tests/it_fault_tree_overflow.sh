# Fault (issue 10, suspected item 4): timer-tree paths beyond what the report's merged tree
# holds are counted in dropped.timer_starts, not lost.
. "$TOP/tests/lib.sh"
cc -O1 -pthread -o "$TMP/prog" "$TOP/tests/faults/tree_overflow.c" -ldl || die "cannot compile the repro"
expect_eq "$(timeout -k 2 30 "$TMP/prog")" "no pferris" "without pferris"
n=$(timeout -k 2 60 env LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 PFERRIS_OUTPUT="$TMP/r.json" "$TMP/prog") || die "the repro failed under the preload"
got=$(python3 - "$TMP/r.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
def starts(nodes):
    return sum(n["count"] + starts(n["children"]) for n in nodes)
print(starts(d["timing_tree"]) + d["dropped"]["timer_starts"])
PY
)
expect_eq "$got" "$n" "starts in the tree plus dropped"
exit 0
