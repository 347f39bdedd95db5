# Fault (issue 13, item 3): pferris's own blocks never land in the program's heap. The block
# pthread_create hands the new thread was glibc's: freed in the child, it sat in the child's
# tcache and became the program's first small block (from the parent's arena); with call-site
# sampling on, libunwind's thread-local block (the loader allocates it through malloc at the
# thread's first unwind) took it instead, for good. Either way the program's heap moved
# (mallocbench: 6,200 or 9,500 page faults against 8,700 without pferris). Under the preload,
# a new thread's first blocks are where they are without it.
. "$TOP/tests/lib.sh"
case "$SAN" in address|thread) skip "the sanitizer's allocator serves the program here" ;; esac
cc -O1 -pthread -o "$TMP/prog" "$TOP/tests/faults/heap_layout.c" || die "cannot compile the repro"
# Threads run two at a time: the order they reach malloc in decides which arena each gets.
sorted() { timeout -k 2 60 "$@" | sort; }
want=$(sorted "$TMP/prog") || die "the repro fails without pferris"
for sample in 0 524288 1; do
  got=$(sorted env LD_PRELOAD="$PFERRIS_SO" PFERRIS_QUIET=1 PFERRIS_OUTPUT=/dev/null \
        PFERRIS_SAMPLE=$sample PFERRIS_CPU_HZ=997 "$TMP/prog")
  expect_eq "$got" "$want" "a new thread's first blocks moved with PFERRIS_SAMPLE=$sample"
done
exit 0
