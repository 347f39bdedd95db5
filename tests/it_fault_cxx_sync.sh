# C++ std::mutex, std::condition_variable, std::timed_mutex, std::shared_mutex and
# std::recursive_mutex behave the same with and without the preload (they go through the
# interposed pthread calls), and the condition variable's waits are seen in the report.
. "$TOP/tests/lib.sh"
command -v c++ > /dev/null || skip "no C++ compiler"
c++ -std=c++17 -O1 -pthread -o cxx_sync "$TOP/tests/faults/cxx_sync.cc" || die "cannot compile tests/faults/cxx_sync.cc"
timeout 30 ./cxx_sync > plain.txt; a=$?
timeout 30 env LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 PFERRIS_OUTPUT=cxx.json ./cxx_sync > live.txt; b=$?
expect_eq "$a" 0 "exit status without the preload"
expect_eq "$b" "$a" "exit status under the preload"
cmp -s plain.txt live.txt || die "output differs under the preload: $(diff plain.txt live.txt)"
grep -q "wait_for: timeout" live.txt || die "wait_for did not time out: $(cat live.txt)"
jget cxx.json '[l["kind"] for l in d["locks"]]' | grep -q cond || die "no condition variable wait in the report: $(jget cxx.json 'd["locks"]')"
exit 0
