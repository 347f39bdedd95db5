# The malloc family's edge cases answer exactly as glibc's, with the preload or without.
. "$TOP/tests/lib.sh"
prog=$TOP/$B/tests/prog_glibc
"$prog" > plain.txt || die "prog_glibc failed"
preload "$prog" > live.txt || die "prog_glibc failed under the preload"
diff plain.txt live.txt || die "glibc answers differ under the preload"
r=$(one_report 'pferris.prog_glibc.*.json')
# Every block the program allocated was freed: live and the balance of allocations and frees
# are what the process had before main (nothing in a plain build; a sanitizer runtime's else).
preload "$TOP/$B/tests/prog_alloc" none
r0=$(one_report 'pferris.prog_alloc.*.json')
expect_eq "$(jget "$r" 'd["heap"]["live_bytes"]')" "$(jget "$r0" 'd["heap"]["live_bytes"]')" "live bytes"
expect_eq "$(jget "$r" 'd["heap"]["allocations"] - d["heap"]["frees"]')" "$(jget "$r0" 'd["heap"]["allocations"] - d["heap"]["frees"]')" "allocations - frees"
