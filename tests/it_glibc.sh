# The malloc family's edge cases answer exactly as glibc's, with the preload or without.
. "$TOP/tests/lib.sh"
prog=$TOP/$B/tests/prog_glibc
"$prog" > plain.txt || die "prog_glibc failed"
preload "$prog" > live.txt || die "prog_glibc failed under the preload"
diff plain.txt live.txt || die "glibc answers differ under the preload"
r=$(one_report 'pferris.prog_glibc.*.json')
# Every block was freed: live is zero, and frees match allocations.
expect_eq "$(jget "$r" 'd["heap"]["live_bytes"]')" 0 "live bytes"
expect_eq "$(jget "$r" 'd["heap"]["allocations"] == d["heap"]["frees"]')" True "allocations == frees"
