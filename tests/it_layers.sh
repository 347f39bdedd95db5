# The layers of lib/ call only downwards (lib/*/README.md), and the preload carries no tool code.
# Each #include "layer/module.h" in lib/ is checked against the order below; within
# lib/runtime, against the module order its README states.
. "$TOP/tests/lib.sh"
cd "$TOP"
rank_layer() { case $1 in base) echo 0;; runtime) echo 1;; report) echo 2;; session) echo 3;; parallel) echo 2;; *) echo 9;; esac; }
rank_runtime() { case $1 in thread|pyframes|py311) echo 0;; sites|symbols|cpu) echo 1;; heap|waits) echo 2;; profile) echo 3;; timeline|live|retire) echo 4;; *) echo 9;; esac; }
bad=0
for f in lib/*/*.[ch]; do
  layer=$(basename "$(dirname "$f")"); mod=$(basename "$f"); mod=${mod%.*}
  while read -r inc; do
    il=${inc%%/*}; im=${inc#*/}; im=${im%.h}
    if [ "$(rank_layer "$il")" -gt "$(rank_layer "$layer")" ]; then
      echo "$f includes $inc: $layer may not call $il"; bad=1
    fi
    [ "$layer" = parallel ] && [ "$il" = report ] && { echo "$f includes $inc: parallel may not call report"; bad=1; }
    [ "$layer" = report ] && [ "$il" = parallel ] && { echo "$f includes $inc: report may not call parallel"; bad=1; }
    if [ "$layer" = runtime ] && [ "$il" = runtime ] && [ "$im" != "$mod" ] &&
       [ "$(rank_runtime "$im")" -gt "$(rank_runtime "$mod")" ]; then
      echo "$f includes $inc: runtime/$mod may not call runtime/$im"; bad=1
    fi
  done < <(grep -o '#include "[a-z_]*/[a-z_]*\.h"' "$f" | sed 's/#include "//; s/"$//')
done
grep -rl 'jansson' --include='*.[ch]' lib/base lib/runtime && { echo "jansson is used below the report layer"; bad=1; }
grep -l '#include "common/' lib/*/*.[ch] preload/*.c && { echo "lib/ or preload/ includes tool code"; bad=1; }
grep -rn '#include "[^"]*\.c"' lib preload tools tests && { echo "a .c includes a .c"; bad=1; }
[ $bad -eq 0 ] || die "layering broken"
so="$TOP/$B/libpferris.so"
if nm "$so" | grep -Ei ' (pf_reader_|pf_snapshot_|pf_locate_|pf_svg_)'; then
  die "tool-only code is linked into libpferris.so"
fi
exit 0
