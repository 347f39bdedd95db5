# One report per process whatever the way out: exit from a thread while others run, _exit,
# _Exit, a forked child that works; no report from a child that only execs (or fails to).
. "$TOP/tests/lib.sh"
prog=$TOP/$B/tests/prog_exits
# The process's own allocations before main (a sanitizer runtime's in SAN builds).
preload "$TOP/$B/tests/prog_alloc" none
A0=$(jget "$(one_report 'pferris.prog_alloc.*.json')" 'd["heap"]["allocations"]')
rm -f pferris.*.json
preload "$prog" thread-exit; rc=$?
expect_eq $rc 7 "exit code of exit() from a thread"
r=$(one_report 'pferris.prog_exits.*.json')
jget "$r" 'd["heap"]["allocations"] >= 100' | grep -q True || die "thread-exit: allocations missing"
expect_eq "$(jget "$r" 'len(d["threads"])')" 4 "thread-exit: threads"
rm -f "$r"

for m in _exit:5 _Exit:6; do
  preload "$prog" "${m%:*}"; rc=$?
  expect_eq $rc "${m#*:}" "exit code of ${m%:*}"
  r=$(one_report 'pferris.prog_exits.*.json')
  expect_eq "$(jget "$r" 'd["heap"]["allocations"]')" $((A0 + 1000)) "${m%:*}: allocations"
  rm -f "$r"
done

out=$(preload "$prog" fork-work)
expect_eq "$out" "child exit 0" "fork-work output"
n=$(ls pferris.prog_exits.*.json | wc -l)
expect_eq "$n" 2 "fork-work: reports (parent and child)"
parent=$(grep -l "\"ppid\": $$" pferris.prog_exits.*.json 2>/dev/null || true)
for r in pferris.prog_exits.*.json; do
  a=$(jget "$r" 'd["heap"]["allocations"]')
  case "$a" in
    $((A0 + 300))) ;; # the parent: 100 + 200, the child's not doubled into it
    500) ;; # the child: its own 500 only
    *) die "fork-work: $r has $a allocations";;
  esac
done
rm -f pferris.*.json

out=$(preload "$prog" fork-exec /bin/true)
expect_eq "$out" "child exit 0" "fork-exec output"
ls pferris.*.json | grep -v prog_exits | grep -q true || die "the exec'd program did not report itself"
expect_eq "$(ls pferris.prog_exits.*.json | wc -l)" 1 "fork-exec: only the parent's prog_exits report"
rm -f pferris.*.json

out=$(preload "$prog" exec-fail)
expect_eq "$out" "child exit 127" "exec-fail output"
expect_eq "$(ls pferris.*.json | wc -l)" 1 "exec-fail: no report from the failed child"
rm -f pferris.*.json

out=$(preload "$prog" system "exit 3")
expect_eq "$out" "system 3" "system output"
expect_eq "$(ls pferris.prog_exits.*.json | wc -l)" 1 "system: one prog_exits report"
rm -f pferris.*.json

out=$(preload "$prog" spawn /bin/true)
expect_eq "$out" "spawned exit 0" "posix_spawn output"
expect_eq "$(ls pferris.prog_exits.*.json | wc -l)" 1 "spawn: one prog_exits report"
ls pferris.true.*.json >/dev/null 2>&1 || die "the spawned program did not report itself"

rm -f pferris.*.json
# vfork: the child runs in the parent's memory; neither its exec nor its _exit may write or
# suppress the parent's report.
for m in vfork-exec:0 vfork-exit:3; do
  out=$(preload "$prog" "${m%:*}" /bin/true)
  expect_eq "$out" "vfork child exit ${m#*:}" "${m%:*} output"
  r=$(one_report 'pferris.prog_exits.*.json')
  expect_eq "$(jget "$r" 'd["pid"] != 0 and d["heap"]["allocations"]')" $((A0 + 300)) "${m%:*}: the parent's own report"
  rm -f pferris.*.json
done
