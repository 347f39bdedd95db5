# Fault: a report write that fails (file size limit, full disk) leaves no partial file, names
# the real cause, and never raises a signal in the program (SIGXFSZ, SIGPIPE).
. "$TOP/tests/lib.sh"
cc -O1 -o "$TMP/report_write" "$TOP/tests/faults/report_write.c" || die "cannot build the repro"
mkdir out && cd out || die "mkdir"
plain=$("$TMP/report_write" 512); a=$?
expect_eq "$a" 0 "plain exit status"
# The file size limit: 512 bytes, less than any report.
live=$(timeout 20 env LD_PRELOAD="$PFERRIS_SO" "$TMP/report_write" 512 2>err); b=$?
expect_eq "$b" 0 "exit status under a file size limit (153 is SIGXFSZ)"
expect_eq "$live" "$plain" "output"
left=$(ls -A | grep -v '^err$' || true)
[ -z "$left" ] || die "a partial report or temporary file was left: $left"
grep -q "File too large" err || die "the warning does not name EFBIG: $(cat err)"
grep -q "Input/output error" err && die "the warning still says EIO: $(cat err)"
# A full disk: /dev/full answers every write with ENOSPC.
if [ -w /dev/full ]; then
  live=$(timeout 20 env LD_PRELOAD="$PFERRIS_SO" PFERRIS_OUTPUT=/dev/full "$TMP/report_write" 100000000 2>err); b=$?
  expect_eq "$b" 0 "exit status writing to /dev/full"
  grep -q "No space left on device" err || die "the warning does not name ENOSPC: $(cat err)"
fi
# stderr a pipe whose reader is gone: EPIPE, and no SIGPIPE (the program exits 0, not 141).
rm -f pferris.*.json
{ timeout 20 env LD_PRELOAD="$PFERRIS_SO" PFERRIS_OUTPUT=- "$TMP/report_write" 100000000 2>&1 >/dev/null; echo "rc=$?" >rc; } | true
sleep 0.2
expect_eq "$(cat rc)" "rc=0" "exit status with the report to a closed pipe"
