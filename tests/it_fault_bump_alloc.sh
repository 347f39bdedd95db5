# Fault: a linked allocator without malloc_usable_size. pferris must take block sizes only
# from the allocator that owns the block (glibc's malloc_usable_size on another allocator's
# pointer crashed), and, when the owner has none, count requested sizes and say so in the
# report (heap.size_source "requested"; with glibc's malloc it is "usable").
. "$TOP/tests/lib.sh"
cc -O1 -g -shared -fPIC -DBUMP_LIB -o "$TMP/libbump.so" "$TOP/tests/faults/bump_alloc.c" \
  || die "cannot build the allocator"
cc -O1 -g -o "$TMP/bump_alloc" "$TOP/tests/faults/bump_alloc.c" -L"$TMP" -lbump \
  -Wl,-rpath,"$TMP" || die "cannot build the repro"
cc -O1 -g -o "$TMP/plain_alloc" "$TOP/tests/faults/bump_alloc.c" || die "cannot build the plain repro"
mkdir out && cd out || die "mkdir"
plain=$("$TMP/bump_alloc"); a=$?
expect_eq "$a" 0 "plain exit status"
for sample in 0 524288 1; do
  rm -f pferris.*.json
  live=$(PFERRIS_SAMPLE=$sample preload timeout 20 "$TMP/bump_alloc"); b=$?
  expect_eq "$b" "$a" "exit status under the preload (PFERRIS_SAMPLE=$sample)"
  expect_eq "$live" "$plain" "output under the preload (PFERRIS_SAMPLE=$sample)"
done
r=$(one_report 'pferris.bump_alloc.*.json')
expect_eq "$(jget "$r" 'd["heap"]["size_source"]')" requested "size source with the bump allocator"
jget "$r" 'd["heap"]["allocations"] >= 2000 and d["heap"]["bytes_allocated_usable"] == d["heap"]["bytes_allocated"]' \
  | grep -q True || die "requested sizes not counted: $(jget "$r" 'd["heap"]')"
"$TOP/$B/pferris" report "$r" >/dev/null || die "pferris report refuses the report"
rm -f pferris.*.json
preload "$TMP/plain_alloc" >/dev/null || die "the plain repro failed"
expect_eq "$(jget "$(one_report 'pferris.plain_alloc.*.json')" 'd["heap"]["size_source"]')" usable \
  "size source with glibc's malloc"
