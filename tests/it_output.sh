# PFERRIS_OUTPUT patterns, '-', an unwritable place, and bad PFERRIS_* values: one clear line
# each, the program's output and exit code unchanged.
. "$TOP/tests/lib.sh"
prog=$TOP/$B/tests/prog_alloc
PFERRIS_OUTPUT='out-%e-%p-%%.json' preload "$prog" >/dev/null
ls out-prog_alloc-*-%.json >/dev/null || die "pattern not expanded: $(ls)"
rm -f out-*.json

err=$(PFERRIS_OUTPUT=- LD_PRELOAD="$PFERRIS_SO" "$prog" 2>&1 >/dev/null)
echo "$err" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["schema"]=="pferris-report/1"' || die "PFERRIS_OUTPUT=- did not print a report on stderr"

mkdir ro && chmod 555 ro
if [ "$(id -u)" = 0 ]; then out=/proc/version/x.json; else out=ro/x.json; fi
err=$(PFERRIS_OUTPUT=$out LD_PRELOAD="$PFERRIS_SO" "$prog" 2>&1 >/dev/null); rc=$?
expect_eq $rc 0 "exit code with an unwritable report path"
expect_eq "$(echo "$err" | grep -c .)" 1 "one line on stderr"
echo "$err" | grep -q "cannot write the report to '$out'" || die "message: $err"

# The default name, the notice, and no clobbering of an existing file of the same name.
err=$(LD_PRELOAD="$PFERRIS_SO" "$prog" 2>&1 >/dev/null)
echo "$err" | grep -q "^pferris: report written to .*pferris.prog_alloc.[0-9]*.json$" || die "notice: $err"
rm -f pferris.*.json
echo keep > fixed.json
PFERRIS_OUTPUT=fixed.json preload "$prog" >/dev/null
expect_eq "$(cat fixed.json)" keep "existing file clobbered"
[ -f fixed.1.json ] || die "no fixed.1.json beside the existing file"

# Bad values: one warning each naming the variable, the value and the default.
err=$(PFERRIS_SAMPLE=abc PFERRIS_HEAP=maybe PFERRIS_WORKERS=-2 PFERRIS_QUIET=1 LD_PRELOAD="$PFERRIS_SO" "$prog" 2>&1 >/dev/null)
echo "$err" | grep -qx "pferris: PFERRIS_SAMPLE='abc' is not a number of bytes (0 to 1099511627776); using 524288" || die "SAMPLE warning: $err"
echo "$err" | grep -qx "pferris: PFERRIS_HEAP='maybe' is not 0 or 1; using 1" || die "HEAP warning: $err"
echo "$err" | grep -q "PFERRIS_WORKERS='-2'" || die "WORKERS warning: $err"
expect_eq "$(echo "$err" | grep -c .)" 3 "exactly three warnings"
# The program's own chdir does not move the report: it lands where the program started.
mkdir sub && (cd sub && PFERRIS_OUTPUT=rel.json preload sh -c 'cd /; true')
[ -f sub/rel.json ] || die "relative report path not kept from the start directory"
