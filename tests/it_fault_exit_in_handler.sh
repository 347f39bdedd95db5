# Fault (issue 10, item 2): _exit from a signal handler that may have interrupted the allocator
# (or pferris) must neither hang nor corrupt the heap: the report is then skipped, with a note.
. "$TOP/tests/lib.sh"
cc -O1 -pthread -o "$TMP/prog" "$TOP/tests/faults/exit_in_handler.c" || die "cannot compile the repro"
timeout -k 2 10 "$TMP/prog" 1 || die "the repro fails without pferris"
for threads in 0 1 3; do
  for run in 1 2 3 4 5 6; do
    for sample in 524288 1; do
      timeout -k 2 10 env LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 PFERRIS_SAMPLE=$sample \
        "$TMP/prog" $threads 2>"$TMP/err"; rc=$?
      expect_eq $rc 0 "exit status ($threads threads, run $run, PFERRIS_SAMPLE=$sample; $(head -c 300 "$TMP/err"))"
    done
  done
done
exit 0
