# Fault: PFERRIS_OUTPUT naming an existing character device or FIFO is written as it is. The
# exclusive create made /dev/null.1, /dev/null.2... (as root) and fifo.1 beside a FIFO. The crash
# report's writer did the same (and said so despite PFERRIS_QUIET) until session 4.
. "$TOP/tests/lib.sh"
cc -O1 -o "$TMP/output_device" "$TOP/tests/faults/output_device.c" || die "cannot build the repro"
mkdir out && cd out || die "mkdir"
run() { timeout 20 env LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 PFERRIS_OUTPUT="$1" "$TMP/output_device"; }
# Files beside /dev/null holding this test's report (other processes on the machine may make
# /dev/null.N of their own: only ours, naming $TMP, are counted and removed).
junk() {
  local f
  for f in /dev/null.[0-9]* /dev/null.[0-9]*.json; do
    [ -f "$f" ] && grep -qF "$TMP/output_device" "$f" 2>/dev/null && echo "$f"
  done
}
# /dev/null: discarded, nothing created beside it.
o=$(run /dev/null 2>err); rc=$?
expect_eq "$rc" 0 "exit status with /dev/null"
expect_eq "$o" done "output with /dev/null"
made=$(junk)
if [ -n "$made" ]; then
  rm -f $made
  die "files made beside /dev/null: $made"
fi
[ ! -s err ] || die "a warning with /dev/null: $(cat err)"
# /dev/stderr, stderr a pipe: the report comes out there.
run /dev/stderr 2>&1 >/dev/null | cat > got
python3 -c 'import json,sys; d=json.load(open("got")); assert d["schema"] == "pferris-report/1"' \
  || die "no report on /dev/stderr: $(head -c 300 got)"
# /dev/stderr, stderr a log file: the report is appended to the log (not written over its
# start, nor to /dev/stderr.1).
echo before > log
run /dev/stderr 2>>log >/dev/null
python3 -c '
t = open("log").read()
assert t.startswith("before\n"), t[:40]
import json; assert json.loads(t[7:])["schema"] == "pferris-report/1"' || die "no report appended to the log: $(head -c 300 log)"
for f in /dev/stderr.1 /dev/stderr.1.json; do
  [ -f "$f" ] && grep -qF "$TMP/output_device" "$f" && { rm -f "$f"; die "$f was made"; }
done
rm -f log
# A FIFO with a reader: the report goes through it, no fifo.1 beside it.
mkfifo fifo || die "mkfifo"
cat fifo > got &
reader=$!
o=$(run "$PWD/fifo"); rc=$?
wait $reader
expect_eq "$rc" 0 "exit status with a FIFO"
python3 -c 'import json,sys; d=json.load(open("got")); assert d["schema"] == "pferris-report/1"' \
  || die "no report through the FIFO: $(head -c 300 got)"
[ -z "$(ls | grep -v -x -e fifo -e got -e err)" ] || die "files made beside the FIFO: $(ls)"
# A FIFO with no reader: no wait, one warning, the program's status unchanged.
o=$(run "$PWD/fifo" 2>err); rc=$?
expect_eq "$rc" 0 "exit status with a FIFO that has no reader"
grep -q "cannot write the report" err || die "no warning for a FIFO without reader: $(cat err)"
[ -z "$(ls | grep -v -x -e fifo -e got -e err)" ] || die "files made beside the FIFO: $(ls)"
# A crash: its report goes to the device or the FIFO as it is, and PFERRIS_QUIET keeps its notice
# off stderr.
crash() { timeout 20 env LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 PFERRIS_OUTPUT="$1" \
          "$TOP/$B/tests/prog_signals" null; }
crash /dev/null 2>err; rc=$?
[ $rc -ge 128 ] || die "the crash did not end the program: $rc"
made=$(ls /dev/null.[0-9]* /dev/null.[0-9]*.json 2>/dev/null | while read -r f; do
  grep -qF "prog_signals" "$f" 2>/dev/null && echo "$f"; done)
if [ -n "$made" ]; then
  rm -f $made
  die "crash reports made beside /dev/null: $made"
fi
grep -q "best-effort report" err && die "a crash notice despite PFERRIS_QUIET: $(cat err)"
rm -f got
cat fifo > got &
reader=$!
crash "$PWD/fifo" 2>/dev/null
wait $reader
python3 -c 'import json,sys; d=json.load(open("got")); assert d["exit"]["how"] == "crash"' \
  || die "no crash report through the FIFO: $(head -c 300 got)"
[ -z "$(ls | grep -v -x -e fifo -e got -e err)" ] || die "files made beside the FIFO: $(ls)"
exit 0
