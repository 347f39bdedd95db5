# Fault: PFERRIS_OUTPUT naming an existing character device or FIFO is written as it is. The
# exclusive create made /dev/null.1, /dev/null.2... (as root) and fifo.1 beside a FIFO.
. "$TOP/tests/lib.sh"
cc -O1 -o "$TMP/output_device" "$TOP/tests/faults/output_device.c" || die "cannot build the repro"
mkdir out && cd out || die "mkdir"
run() { timeout 20 env LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 PFERRIS_OUTPUT="$1" "$TMP/output_device"; }
junk() { for f in /dev/null.[0-9]* /dev/null.[0-9]*.json; do [ -f "$f" ] && echo "$f"; done; }
before=$(junk)
# /dev/null: discarded, nothing created beside it.
o=$(run /dev/null 2>err); rc=$?
expect_eq "$rc" 0 "exit status with /dev/null"
expect_eq "$o" done "output with /dev/null"
after=$(junk)
if [ "$after" != "$before" ]; then
  for f in $after; do echo "$before" | grep -qx "$f" || rm -f "$f"; done
  die "files made beside /dev/null: $after"
fi
[ ! -s err ] || die "a warning with /dev/null: $(cat err)"
# /dev/stderr, stderr a pipe: the report comes out there.
run /dev/stderr 2>&1 >/dev/null | cat > got
python3 -c 'import json,sys; d=json.load(open("got")); assert d["schema"] == "pferris-report/1"' \
  || die "no report on /dev/stderr: $(head -c 300 got)"
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
