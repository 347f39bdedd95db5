# Fault: `pferris report` on a report whose frames name a FIFO or a device as their module
# must not open them (a FIFO blocks forever, a device may act on being opened): only regular
# files are read for source lines, without blocking.
. "$TOP/tests/lib.sh"
cc -O1 -g -o "$TMP/hostile_module" "$TOP/tests/faults/hostile_module.c" || die "cannot build the repro"
PFERRIS_SAMPLE=1 preload "$TMP/hostile_module" >/dev/null || die "the repro failed"
r=$(one_report 'pferris.hostile_module.*.json')
jget "$r" 'sum(len(s["frames"]) for s in d["heap"]["sites"]) > 0' | grep -q True || die "no frames in the report"
mkfifo "$TMP/fifo" || die "mkfifo"
for mod in "$TMP/fifo" /dev/zero /dev/tty; do
  python3 - "$r" "$mod" > hostile.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for s in d["heap"]["sites"]:
    for f in s["frames"]:
        f["module"] = sys.argv[2]
        f["symbol"] = None  # so that every frame is shown by its module
        f.pop("demangled", None)
json.dump(d, sys.stdout)
PY
  out=$(timeout 20 "$TOP/$B/pferris" report hostile.json 2>&1); rc=$?
  [ $rc -ne 124 ] || die "pferris report hung on a frame whose module is $mod"
  expect_eq "$rc" 0 "pferris report with module $mod: exit status"
  echo "$out" | grep -q "${mod##*/}+0x" || die "the frames' module $mod is not in the summary: $out"
done
# A regular module still gets its source lines.
timeout 20 "$TOP/$B/pferris" report "$r" | grep -q 'hostile_module.c:' || die "source lines lost for a regular module"
