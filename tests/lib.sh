# lib.sh — sourced by the integration tests: assertions and helpers.
set -u
die() { echo "FAIL: $*"; exit 1; }
skip() { echo "$*"; exit 77; }
# The report of one process: reports matching a glob, exactly one expected.
# It runs inside $(...), where die would only end the subshell and hand its message on as a
# path: the message goes to stderr and the test itself is ended.
one_report() { local f; f=$(ls $1 2>/dev/null); [ "$(echo "$f" | grep -c .)" = 1 ] || { echo "FAIL: expected one report matching $1, found: $(ls)" >&2; kill -TERM $$; exit 1; }; echo "$f"; }
# jq-free JSON queries through python3 (present on Debian; the bootstrap installs it).
jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {"d": d}))' "$1" "$2"; }
expect_eq() { [ "$1" = "$2" ] || die "$3: got '$1', expected '$2'"; }
preload() { LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 "$@"; }
