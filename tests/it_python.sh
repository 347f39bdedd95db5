# The Python module (make python): its unittest suite (tests/python/test_*.py, including a
# preloaded Python program's report), then the seed's four Python examples exactly as the seed
# writes them but for the import (pyferris -> pferris), with the sanity checks it_examples.sh
# makes of their C versions. Debian's python3, never a pyenv shim.
. "$TOP/tests/lib.sh"
PY=/usr/bin/python3
[ -x $PY ] || skip "no /usr/bin/python3"
pkg=$TOP/$B/python
[ -f "$pkg/pferris/__init__.py" ] || die "$pkg/pferris was not built (make python)"
export PYTHONPATH=$pkg PFERRIS_QUIET=1
unset LD_PRELOAD
$PY -c 'import pferris, sys; sys.exit(0 if pferris.core.endswith("/libpferris.so") else 1)' ||
  die "import pferris: $($PY -c 'import pferris; print(pferris.core)' 2>&1)"

$PY -m unittest discover -s "$TOP/tests/python" -p 'test_*.py' > unit.txt 2>&1 ||
  { cat unit.txt; die "Python unittest failed"; }
tail -n 3 unit.txt

# pip install ./python (the pyproject route), into a scratch target: the package imports from
# there and loads the libpferris.so it installed beside itself.
if $PY -m pip --version >/dev/null 2>&1; then
  $PY -m pip install -q --no-build-isolation --no-deps --no-cache-dir --target "$TMP/site" \
    "$TOP/python" > pip.txt 2>&1 || { cat pip.txt; die "pip install ./python failed"; }
  got=$(cd "$TMP" && PYTHONPATH="$TMP/site" $PY -c 'import pferris; print(pferris.core)') ||
    die "the pip-installed module does not import"
  expect_eq "$got" "$TMP/site/pferris/libpferris.so" "pip-installed module's core"
else
  echo "no pip for $PY: pip install ./python not tested"
fi

cpus=$(nproc)
num() { sed -n "s/^$1\([0-9.]*\).*/\1/p" "$2" | head -n 1; }
py() { $PY -c "import sys; sys.exit(0 if ($1) else 1)"; }
ex=$TOP/tests/python

# Example 1: 100 items that each sleep 10 ms take at least 1 s / CPUs.
$PY "$ex/seed_example_1.py" > ex1.txt || die "seed example 1 failed"
cat ex1.txt
total=$(num 'Total execution time: ' ex1.txt)
prep=$(num 'Data preparation: ' ex1.txt)
par=$(num 'Parallel processing: ' ex1.txt)
[ -n "$total" ] && [ -n "$prep" ] && [ -n "$par" ] || die "example 1: missing lines"
py "$par >= 1.0 / $cpus - 0.01" || die "example 1: parallel processing $par s is below the sleeps"
py "$total + 0.01 >= $par and $prep <= $par" || die "example 1: total $total, prep $prep, parallel $par"

# Example 2 as written (8 counts x 2 s): a count from those tried, and the last line.
$PY "$ex/seed_example_2.py" > ex2.txt || die "seed example 2 failed"
cat ex2.txt
head -n 1 ex2.txt | grep -qx 'Auto-tuning worker count...' || die "example 2: first line"
opt=$(num 'Optimal workers: ' ex2.txt)
best=$(num 'Best throughput: ' ex2.txt)
expect_eq "$(num 'Tested configurations: ' ex2.txt)" 8 "example 2: tested configurations"
py "1 <= $opt <= 8" || die "example 2: optimal $opt outside 1..8"
py "$best > 0" || die "example 2: best throughput $best"
grep -qx "Processed 1000 items with $opt workers" ex2.txt || die "example 2: last line"

# Example 3: a list of a million squares (tens of MB) appears, and some of it leaves.
$PY "$ex/seed_example_3.py" > ex3.txt || die "seed example 3 failed"
cat ex3.txt
expect_eq "$(sed -n 's/^  \([a-z_]*\): [0-9]* MB$/\1/p' ex3.txt | tr '\n' ' ')" \
  "startup after_data_creation after_processing after_cleanup " "example 3: stages"
m() { sed -n "s/^  $1: \([0-9]*\) MB$/\1/p" ex3.txt; }
py "$(m after_data_creation) - $(m startup) >= 20" || die "example 3: the list is not seen"
py "$(m after_cleanup) < $(m after_processing)" || die "example 3: cleanup freed nothing"

# Example 4: four operations with their known result counts.
$PY "$ex/seed_example_4.py" > ex4.txt || die "seed example 4 failed"
cat ex4.txt
expect_eq "$(grep -c '^  Time: [0-9]*\.[0-9]\{3\}s$' ex4.txt)" 4 "example 4: time lines"
expect_eq "$(grep -c '^  Throughput: [0-9]* items/sec$' ex4.txt)" 4 "example 4: throughput lines"
expect_eq "$(grep -A3 '^map_square:$' ex4.txt | num '  Results: ' /dev/stdin)" 10000 "map_square results"
expect_eq "$(grep -A3 '^map_cube:$' ex4.txt | num '  Results: ' /dev/stdin)" 10000 "map_cube results"
expect_eq "$(grep -A3 '^filter_even:$' ex4.txt | num '  Results: ' /dev/stdin)" 5000 "filter_even results"
expect_eq "$(grep -A3 '^filter_prime:$' ex4.txt | num '  Results: ' /dev/stdin)" 1229 "filter_prime results"

# The same examples under the preload: unchanged output shape, and a report beside it.
PFERRIS_OUTPUT=ex4.json LD_PRELOAD=$PFERRIS_SO $PY "$ex/seed_example_4.py" > ex4p.txt ||
  die "seed example 4 failed under the preload"
expect_eq "$(grep -A3 '^filter_prime:$' ex4p.txt | num '  Results: ' /dev/stdin)" 1229 "preloaded filter_prime results"
[ -f ex4.json ] || die "no report from the preloaded example"
py "$(jget ex4.json 'd["heap"]["allocations"]') > 0" || die "preloaded example: no heap figures"
exit 0
