# The pthread synchronisation calls keep their exact results under the preload (mutex kinds,
# timeouts and bad arguments, the old condition variable ABI, semaphores with errno and
# cancellation, a cancelled condition wait, barriers): the repro's output and exit status are
# the same with and without it, and neither run hangs.
. "$TOP/tests/lib.sh"
cc -O1 -pthread -o locks "$TOP/tests/faults/locks.c" || die "cannot compile tests/faults/locks.c"
timeout 20 ./locks > plain.txt; a=$?
timeout 20 env LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 PFERRIS_OUTPUT=locks.json ./locks > live.txt; b=$?
expect_eq "$a" 0 "exit status without the preload"
expect_eq "$b" "$a" "exit status under the preload"
cmp -s plain.txt live.txt || die "output differs under the preload: $(diff plain.txt live.txt)"
grep -q "errorcheck: relock *EDEADLK" live.txt || die "no EDEADLK on relock: $(cat live.txt)"
grep -q "robust: lock after owner died *EOWNERDEAD" live.txt || die "no EOWNERDEAD: $(cat live.txt)"
grep -q "cond: clockwait monotonic *ETIMEDOUT" live.txt || die "no ETIMEDOUT from clockwait: $(cat live.txt)"
grep -q "old cond: timedwait *ETIMEDOUT" live.txt || die "old ABI: $(cat live.txt)"
grep -q "sem: wait with a cancel pending *cancelled" live.txt || die "sem_wait is no cancellation point: $(cat live.txt)"
# The waits were seen: the holder's mutex was contended.
jget locks.json '[l["kind"] for l in d["locks"]]' | grep -q mutex || die "no contended mutex in the report"
exit 0
