# Live bytes in usable sizes: pferris reads a glibc block's usable size from its chunk header
# (preload.c chunk_usable, used once it agrees with malloc_usable_size at start-up). Blocks of
# every kind kept at exit must add up in the report to what malloc_usable_size says of them.
. "$TOP/tests/lib.sh"
case "$SAN" in address|thread) skip "the sanitizer's allocator serves the program here" ;; esac
prog=$TOP/$B/tests/prog_usable
preload "$prog" none || die "baseline run failed"
r0=$(one_report 'pferris.prog_usable.*.json'); mv "$r0" base.json
want=$(preload "$prog") || die "the program failed under pferris"
r=$(one_report 'pferris.prog_usable.*.json')
expect_eq "$(jget "$r" 'd["heap"]["size_source"]')" usable "size source"
got=$(jget "$r" 'd["heap"]["live_bytes"]')
base=$(jget base.json 'd["heap"]["live_bytes"]')
expect_eq "$((got - base))" "$want" "live bytes at exit against malloc_usable_size"
exit 0
