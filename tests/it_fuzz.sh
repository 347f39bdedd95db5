# Fuzzes the report reader and the report tool's outputs (tests/fuzz/fuzz_reader.c, linked with
# every tools/pferris/*.c but main.c, and lib/report/jstr.c and demangle.c that they use) with
# libFuzzer for a fixed number of runs from the seed corpus in tests/fuzz/corpus. Needs clang and its libFuzzer runtime (Debian: clang,
# libclang-rt-14-dev); skipped without them.
. "$TOP/tests/lib.sh"
CC_FUZZ=${CC_FUZZ:-clang}
command -v "$CC_FUZZ" > /dev/null || skip "clang is not installed (apt-get install clang libclang-rt-14-dev)"
tool_sources=()
for f in "$TOP"/tools/pferris/*.c; do
  [ "${f##*/}" = main.c ] || tool_sources+=("$f")
done
flags="-g -O1 -std=gnu11 -D_GNU_SOURCE -DPFERRIS_VERSION=\"fuzz\" -I$TOP/lib -I$TOP/tools $(pkg-config --cflags jansson)"
if ! $CC_FUZZ $flags -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
     -o fuzz_reader "$TOP/tests/fuzz/fuzz_reader.c" "${tool_sources[@]}" "$TOP"/tools/common/*.c \
     "$TOP"/lib/report/jstr.c "$TOP"/lib/report/demangle.c $(pkg-config --libs jansson) -lz -lm 2> build.log; then
  grep -q "fuzzer" build.log && skip "clang cannot link libFuzzer (apt-get install libclang-rt-14-dev): $(grep -m1 error build.log)"
  cat build.log; die "the fuzz target does not build"
fi
# New inputs go to a scratch copy: the corpus in the tree stays as committed.
cp -r "$TOP/tests/fuzz/corpus" corpus
./fuzz_reader -runs=${FUZZ_RUNS:-10000} -seed=1 -max_len=16384 -timeout=20 -rss_limit_mb=2048 \
  -print_final_stats=1 corpus > fuzz.log 2>&1 || { tail -n 40 fuzz.log; die "the fuzzer found a fault"; }
grep -q "Done [0-9]* runs" fuzz.log || { tail -n 20 fuzz.log; die "the fuzzer did not finish its runs"; }
exit 0
