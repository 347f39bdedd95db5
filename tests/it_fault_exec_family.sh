# Fault: every member of the exec family counts as an exec attempt, as execv does. A forked
# child whose execl, execle, execlp, fexecve or execveat fails and then calls _exit(127)
# leaves no report; the parent leaves exactly one.
. "$TOP/tests/lib.sh"
cc -O1 -o "$TMP/exec_family" "$TOP/tests/faults/exec_family.c" || die "cannot build the repro"
for how in execv execl execle execlp fexecve execveat; do
  plain=$("$TMP/exec_family" $how)
  rm -f pferris.*.json
  live=$(preload timeout 20 "$TMP/exec_family" $how); rc=$?
  expect_eq "$rc" 0 "$how: exit status"
  expect_eq "$live" "$plain" "$how: output"
  n=$(ls pferris.exec_family.*.json 2>/dev/null | wc -l)
  expect_eq "$n" 1 "$how: reports (the parent's only; a failed exec's child writes none)"
done
