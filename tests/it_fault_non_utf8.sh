# Fault: strings from the program that are not UTF-8 are kept in the report, each byte that is
# not part of a valid UTF-8 sequence written as \xNN. They vanished: jansson returns NULL for
# them and nothing checked (command, timings, counters, memory_usage, threads[].name).
. "$TOP/tests/lib.sh"
cc -O1 -pthread -I"$TOP/lib" -o "$TMP/non_utf8" "$TOP/tests/faults/non_utf8.c" -ldl \
  || die "cannot build the repro"
mkdir out && cd out || die "mkdir"
plain=$("$TMP/non_utf8" $'arg\xff' 'ok é'); a=$?
live=$(PFERRIS_SAMPLE=1 preload timeout 20 "$TMP/non_utf8" $'arg\xff' 'ok é'); b=$?
expect_eq "$b" "$a" "exit status"
[ "$live" = "$plain" ] || die "output differs under the preload"
r=$(one_report 'pferris.non_utf8.*.json')
q() { jget "$r" "$1"; }
expect_eq "$(q 'd["command"][1:]')" "['arg\\\\xff', 'ok é']" "command"
expect_eq "$(q '"caf\\xe9" in d["timings"] and "thread caf\\xe9" in d["timings"]')" True "timings: $(q 'list(d["timings"])')"
expect_eq "$(q '"caf\\xe9" in d["timing_stats"]')" True "timing_stats"
expect_eq "$(q 'd["counters"].get("na\\xefve")')" 3 "counters: $(q 'd["counters"]')"
expect_eq "$(q 'd["memory_usage"].get("gr\\xf6\\xdfe")')" 4096 "memory_usage: $(q 'd["memory_usage"]')"
expect_eq "$(q '"abcdefghijklmn\\xc3" in [t["name"] for t in d["threads"]]')" True \
  "threads[].name: $(q '[t["name"] for t in d["threads"]]')"
expect_eq "$(q '"caf\\xe9" in [n["name"] for n in d["timing_tree"]]')" True "timing_tree"
# The tools read it, and pferris-tune keeps such an argument in its command too.
"$TOP/$B/pferris" report "$r" >/dev/null || die "pferris report refuses the report"
"$TOP/$B/pferris-tune" --min 1 --max 1 --repeat 1 --json t.json -- "$TMP/non_utf8" $'arg\xff' \
  >/dev/null 2>err || die "pferris-tune failed: $(cat err)"
expect_eq "$(jget t.json 'd["command"][1:]')" "['arg\\\\xff']" "pferris-tune's command"
