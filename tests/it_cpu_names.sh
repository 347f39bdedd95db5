# Names people can read: a C++ program whose CPU time goes to ns::Class::method(int) shows that
# name demangled in the report (beside the raw one), the summary, --top and --flame cpu; with
# libc's separate debug file installed (libc6-dbg), libc frames of a stripped libc are named.
. "$TOP/tests/lib.sh"
command -v g++ >/dev/null || skip "no g++ (apt-get install g++)"
cat > cxx.cc <<'CC'
#include <cstdio>
#include <ctime>
namespace ns {
struct Class {
    unsigned long v = 1;
    __attribute__((noinline)) unsigned long method(int rounds);
};
unsigned long Class::method(int rounds)
{
    clock_t end = clock() + CLOCKS_PER_SEC * rounds / 10;
    while (clock() < end)
        for (int i = 0; i < 1000; i++)
            v = v * 6364136223846793005ul + 1;
    return v;
}
}
int main()
{
    ns::Class c;
    std::printf("%lu\n", c.method(5) & 1);
    return 0;
}
CC
g++ -O2 -g -o cxx cxx.cc || die "g++ failed"
PFERRIS_OUTPUT=r.json preload ./cxx >/dev/null || die "cxx failed"
jget r.json '[(f["symbol"], f.get("demangled")) for s in d["cpu"]["sites"] for f in s["frames"]]' > frames.txt
grep -q "('_ZN2ns5Class6methodEi', 'ns::Class::method(int)')" frames.txt || die "the report's frames: $(cat frames.txt)"
"$TOP/$B/pferris" report r.json > sum.txt || die "pferris report failed"
grep -q "bottleneck  ns::Class::method(int): " sum.txt || die "summary: $(grep -A8 bottleneck sum.txt)"
grep -q "_ZN2ns" sum.txt && die "a mangled name in the summary: $(grep _ZN2ns sum.txt)"
"$TOP/$B/pferris" report --flame cpu r.json | grep -q ";main;ns::Class::method(int)" || die "--flame cpu: $("$TOP/$B/pferris" report --flame cpu r.json)"
# A report without the demangled key (written by an older pferris) is demangled by the tools.
python3 -c '
import json; r = json.load(open("r.json"))
for s in r["cpu"]["sites"]:
    for f in s["frames"]: f.pop("demangled", None)
json.dump(r, open("raw.json", "w"))'
"$TOP/$B/pferris" report --flame cpu raw.json | grep -q ";main;ns::Class::method(int)" || die "the tools do not demangle by themselves"

# libc's frames from its separate debug file: the thread start of prog_cpu's workers.
libc=$(ldd "$TOP/$B/tests/prog_cpu" | awk '/libc.so.6/ {print $3}')
id=$(readelf -n "$libc" 2>/dev/null | awk '/Build ID/ {print $3}')
[ -n "$id" ] && [ -f "/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug" ] || skip "no separate debug file for $libc (apt-get install libc6-dbg)"
PFERRIS_OUTPUT=c.json preload "$TOP/$B/tests/prog_cpu" 0.3 >/dev/null || die "prog_cpu failed"
jget c.json '[f["symbol"] for f in d["cpu"]["sites"][0]["frames"]]' | grep -q "start_thread" ||
  die "libc frames unnamed: $(jget c.json '[(f["symbol"], f["module"]) for f in d["cpu"]["sites"][0]["frames"]]')"
exit 0
