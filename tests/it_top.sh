# pferris top: a running profiled program publishes its live state in the per-user private
# directory; --once --json shows it; the entry goes at exit and a dead pid's entry is cleaned;
# a directory of another owner, open to others, or a symlink is refused.
. "$TOP/tests/lib.sh"
prog=$TOP/$B/tests/prog_signals
pferris=$TOP/$B/pferris
export XDG_RUNTIME_DIR=$TMP/run
mkdir -m 700 "$XDG_RUNTIME_DIR"
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null' EXIT
LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 "$prog" threads > out & pid=$!
for i in $(seq 100); do [ -f "$XDG_RUNTIME_DIR/pferris/$pid.json" ] && break; sleep 0.05; done
sleep 1.2
"$pferris" top --once --json > top.json || die "top --once --json failed"
jget top.json "[p['pid'] for p in d['processes']]" | grep -q "$pid" || die "pid $pid not in: $(cat top.json)"
jget top.json "([p for p in d['processes'] if p['pid'] == $pid][0]['allocations'] > 1000 and
  [p for p in d['processes'] if p['pid'] == $pid][0]['threads'] == 2 and
  'prog_signals threads' in [p for p in d['processes'] if p['pid'] == $pid][0]['command'])" |
  grep -q True || die "wrong figures: $(cat top.json)"
for k in pid command elapsed live_bytes peak_bytes allocations threads counters timers; do
  jget top.json "'$k' in d['processes'][0]" | grep -q True || die "top --json: no $k"
done
"$pferris" top --once | grep -q "prog_signals threads" || die "top --once: no process line"
"$pferris" top --once $pid | grep -q "TID" || die "top PID: no thread table"
expect_eq "$(stat -c %a "$XDG_RUNTIME_DIR/pferris")" 700 "directory mode"
kill -TERM $pid; wait $pid
[ -e "$XDG_RUNTIME_DIR/pferris/$pid.json" ] && die "the entry stayed after exit"

# SIGKILL leaves the entry; top ignores and removes it.
LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 "$prog" threads > out & pid=$!
for i in $(seq 100); do [ -f "$XDG_RUNTIME_DIR/pferris/$pid.json" ] && break; sleep 0.05; done
[ -f "$XDG_RUNTIME_DIR/pferris/$pid.json" ] || die "no entry published"
kill -KILL $pid; wait $pid
expect_eq "$("$pferris" top --once --json)" '{
 "processes": []
}' "top after SIGKILL"
[ -e "$XDG_RUNTIME_DIR/pferris/$pid.json" ] && die "the dead pid's entry was not removed"
rm -f pferris.*.json

# Refused: another owner, a mode open to others, a symlink. The program runs on, unpublished.
export XDG_RUNTIME_DIR=$TMP/other
mkdir -p "$XDG_RUNTIME_DIR/pferris"; chmod 700 "$XDG_RUNTIME_DIR/pferris"
if [ "$(id -u)" = 0 ]; then
  chown 65534 "$XDG_RUNTIME_DIR/pferris"
  "$pferris" top --once > o 2> e && die "top accepted a directory owned by uid 65534"
  grep -q "owned by uid 65534" e || die "no reason given: $(cat e)"
  LD_PRELOAD="$PFERRIS_SO" PFERRIS_CHECKPOINT=0 "$prog" threads > out 2> err & pid=$!
  sleep 1.5; kill -TERM $pid; wait $pid
  grep -q "pferris top will not see this process" err || die "the program did not refuse: $(cat err)"
  ls "$XDG_RUNTIME_DIR/pferris" | grep -q . && die "an entry was written into another's directory"
  chown 0 "$XDG_RUNTIME_DIR/pferris"
fi
chmod 755 "$XDG_RUNTIME_DIR/pferris"
"$pferris" top --once > o 2> e && die "top accepted a directory of mode 755"
grep -q "mode 755" e || die "no reason for mode 755: $(cat e)"
rm -rf "$XDG_RUNTIME_DIR/pferris"; mkdir -m 700 real; ln -s "$PWD/real" "$XDG_RUNTIME_DIR/pferris"
"$pferris" top --once > o 2> e && die "top followed a symlink"
grep -q "symlink is not followed" e || die "no reason for the symlink: $(cat e)"
exit 0
