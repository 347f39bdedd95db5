# Fault (issue 10, item 14): pferris's own threads carry their own names (the kernel keeps 15
# bytes), so they do not show as threads of the program.
. "$TOP/tests/lib.sh"
cc -O1 -pthread -o "$TMP/prog" "$TOP/tests/faults/thread_names.c" || die "cannot compile the repro"
expect_eq "$(timeout -k 2 10 "$TMP/prog")" "" "threads without pferris"
mkdir -p "$TMP/live"
got=$(timeout -k 2 10 env LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 PFERRIS_LIVE="$TMP/live" "$TMP/prog")
expect_eq "$got" "$(printf 'pferris-live\npferris-sampler')" "threads under the preload"
exit 0
