# Fault (issue 10, item 3): reports built at once by two threads (the API) share the symbol
# cache; neither may free it under the other.
. "$TOP/tests/lib.sh"
cc -O1 -pthread -o "$TMP/prog" "$TOP/tests/faults/report_race.c" -ldl || die "cannot compile the repro"
expect_eq "$(timeout -k 2 60 "$TMP/prog")" ok "without pferris"
for run in 1 2 3; do
  got=$(timeout -k 2 120 env LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 PFERRIS_SAMPLE=1 \
        PFERRIS_OUTPUT="$TMP/r.json" "$TMP/prog" 2>&1; echo "rc=$?")
  expect_eq "$got" "$(printf 'ok\nrc=0')" "run $run under the preload"
  rm -f "$TMP"/r*.json
done
exit 0
