# Real programs we did not write, under the preload: byte-identical output, the same exit code,
# and a report with real figures.
. "$TOP/tests/lib.sh"
python3 -c '
import random
r = random.Random(7)
with open("big.txt", "w") as f:
    for i in range(600000):
        f.write("%08x %s\n" % (r.getrandbits(32), "x" * r.randint(0, 40)))
'
same() { # NAME CMD...: run plain and under the preload, compare stdout and exit code
  local name=$1; shift
  "$@" > "plain.$name" 2>/dev/null; local a=$?
  preload "$@" > "live.$name" 2>/dev/null; local b=$?
  expect_eq "$b" "$a" "$name exit code"
  cmp -s "plain.$name" "live.$name" || die "$name output differs under the preload"
}
reports_of() { ls pferris."$1".*.json 2>/dev/null; }

same sort sort -S 50M --parallel=2 big.txt
r=$(reports_of sort | head -n 1); [ -n "$r" ] || die "no sort report"
jget "$r" 'd["heap"]["allocations"] > 10 and d["heap"]["peak_bytes"] > 1000000' | grep -q True || die "sort: heap figures not real"
jget "$r" 'len(d["threads"]) >= 2' | grep -q True || die "sort --parallel=2: threads not seen"
rm -f pferris.*.json

same xz xz -T2 -3 -c big.txt
r=$(reports_of xz | head -n 1); [ -n "$r" ] || die "no xz report"
jget "$r" 'd["workers"]["max_concurrent_threads"] >= 2' | grep -q True || die "xz -T2: threads not seen"
rm -f pferris.*.json

same python python3 -c '
import threading, hashlib
out = [None] * 4
def work(i):
    h = hashlib.sha256()
    for k in range(20000):
        h.update(str(k * i).encode())
    out[i] = h.hexdigest()[:16]
ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
print(out, sum(len(str(x)) for x in range(100000)))
'
r=$(reports_of python3 | head -n 1); [ -n "$r" ] || die "no python3 report"
jget "$r" 'len(d["threads"]) >= 5 and d["heap"]["allocations"] > 1000' | grep -q True || die "python3: threads or heap missing"
rm -f pferris.*.json

same perl perl -e 'my %h; $h{$_ % 1000} .= "x" for 1..200000; print scalar(keys %h), "\n"'
same shell sh -c 'ls / | sort | wc -l; exit 3'
ls pferris.sort.*.json pferris.ls.*.json pferris.wc.*.json >/dev/null 2>&1 || die "exec'd programs of a shell pipeline did not report: $(ls)"
rm -f pferris.*.json
if command -v sqlite3 >/dev/null; then
  same sqlite sqlite3 :memory: 'create table t(a); with recursive c(x) as (select 1 union all select x+1 from c where x<50000) insert into t select x from c; select count(*), sum(a) from t;'
fi
if command -v pigz >/dev/null; then
  same pigz pigz -p 2 -c big.txt
fi

# C++ exceptions thrown while every allocation is unwound (PFERRIS_SAMPLE=1): pferris's
# libunwind is loaded privately and must not take over the program's exception handling.
if command -v g++ >/dev/null; then
  cat > cxx.cc <<'CXX'
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
static int depth(int n) { if (n == 0) throw std::runtime_error("bottom " + std::string(100, 'x')); return depth(n - 1) + 1; }
int main() {
  std::vector<std::thread> ts; long caught[4] = {0};
  for (int t = 0; t < 4; t++) ts.emplace_back([&, t] { for (int i = 0; i < 2000; i++) { try { depth(i % 20); } catch (const std::exception &e) { caught[t] += (long)std::string(e.what()).size(); } } });
  for (auto &t : ts) t.join();
  std::printf("%ld %ld %ld %ld\n", caught[0], caught[1], caught[2], caught[3]);
  return 0;
}
CXX
  g++ -O2 -pthread cxx.cc -o cxx || die "g++ failed"
  same cxx ./cxx
  PFERRIS_SAMPLE=1 preload ./cxx > sampled.cxx || die "C++ exceptions failed with every allocation unwound"
  cmp -s plain.cxx sampled.cxx || die "C++ output differs with PFERRIS_SAMPLE=1"
fi

# A single-threaded program stays single-threaded under the preload: unshare(CLONE_NEWUSER)
# refuses a process with a second thread.
if unshare --user --map-root-user true 2>/dev/null; then
  same unshare unshare --user --map-root-user id -u
fi
