# Bad input to pferris report: not JSON, another schema, truncated, empty, huge, a field of the
# wrong type, a missing file, and usage errors. Each: exit code 2 and one clear message that
# names the file and the problem; never a crash.
. "$TOP/tests/lib.sh"
P=$TOP/$B/pferris
bad() { # FILE PATTERN [MODE...]: every mode fails with exit 2 and a message matching PATTERN
  local f=$1 pat=$2; shift 2
  for mode in "" "--flame heap" "--flame time" "--flame cpu" "--trace" "--svg" "--merge" "--json"; do
    err=$("$P" report $mode "$f" 2>&1 >/dev/null); rc=$?
    expect_eq $rc 2 "exit code of 'report $mode' on $f"
    echo "$err" | grep -q "^pferris: $f: $pat" || die "message of 'report $mode' on $f: $err"
  done
}
printf 'hello, world\n' > text.json;            bad text.json "is not valid JSON: .* at line 1, column"
: > empty.json;                                  bad empty.json "is empty, not a report"
printf '  \n\n' > blank.json;                    bad blank.json "holds only white space"
printf '[1, 2]' > array.json;                    bad array.json "is JSON but not a pferris report (an array, expected an object)"
printf '{"pid": 3}' > noschema.json;             bad noschema.json 'is JSON but not a pferris report (no "schema" key)'
printf '{"schema": "pferris-report/2", "timings": {}}' > v2.json
bad v2.json "is a report of schema 'pferris-report/2'; this pferris reads pferris-report/1 only"
printf '{"schema": "pferris-report/1", "heap": {"sites": [{"bytes": "lots"}]}}' > type.json
bad type.json '"heap.sites\[0\].bytes" is a string; expected a number'
printf '{"schema": "pferris-report/1", "timing_tree": [{"name": "a", "children": [{"name": 7}]}]}' > tree.json
bad tree.json '"timing_tree\[0\].children\[0\].name" is an integer; expected a string'
printf '{"schema": "pferris-report/1", "a": 1, "a": 2}' > dup.json; bad dup.json "is not valid JSON: duplicate object key"
# A real report cut in the middle, as a disk-full or killed writer leaves it.
LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 PFERRIS_OUTPUT=good.json "$TOP/$B/tests/prog_report" 2 20 >/dev/null
"$P" report good.json > /dev/null || die "the good report does not read"
head -c $(( $(stat -c %s good.json) / 2 )) good.json > cut.json
bad cut.json "is truncated: the JSON stops after [0-9]* bytes inside the report"
# Huge: a sparse file past the limit is refused before it is read.
truncate -s 300M huge.json;                      bad huge.json "is 300 MiB, more than the 256 MiB a report may have"
printf '\x00\xff\xfe{' > binary.json;            bad binary.json "is not valid JSON"
err=$("$P" report missing.json 2>&1); expect_eq $? 2 "missing file exit code"
echo "$err" | grep -q "^pferris: missing.json: cannot open: No such file or directory" || die "missing: $err"
mkdir dir.json; err=$("$P" report dir.json 2>&1); expect_eq $? 2 "directory exit code"
echo "$err" | grep -q "dir.json: is a directory" || die "directory: $err"
# From standard input.
err=$(printf 'nope' | "$P" report - 2>&1); expect_eq $? 2 "stdin exit code"
echo "$err" | grep -q "^pferris: standard input: is not valid JSON" || die "stdin: $err"
"$P" report - < good.json > /dev/null || die "a good report on standard input"
# One bad file among good ones: nothing is written, exit 2.
out=$("$P" report --merge good.json cut.json 2>/dev/null); expect_eq $? 2 "merge with a bad file"
expect_eq "$out" "" "output of a failed merge"

# Usage errors: exit 2 and the usage text; --help and --version exit 0.
for args in "" "report" "report --frobnicate good.json" "report --flame cycles good.json" \
            "report --diff good.json" "report --svg good.json good.json" "report --top 0 good.json" \
            "report --top x good.json" "report --fail-above 5 good.json" "report --trace --svg good.json" \
            "report --fail-above -1 --diff good.json good.json" "run" "run -o" "run --bogus true" "nonsense"; do
  "$P" $args > /dev/null 2>err.txt; rc=$?
  expect_eq $rc 2 "exit code of 'pferris $args'"
  grep -q "usage: pferris run" err.txt || die "no usage text for 'pferris $args': $(cat err.txt)"
done
"$P" --help | grep -q "usage: pferris run" || die "--help"
"$P" report --help > /dev/null || die "report --help"
"$P" --version | grep -q "^pferris [0-9]" || die "--version"
exit 0
