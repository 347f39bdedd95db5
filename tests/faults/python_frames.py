# python_frames.py — the repro of tests/it_fault_python_frames.sh: everything that moves
# CPython 3.11's frames under a reader that samples them from malloc and from SIGPROF. Deep
# recursion (more frames than the reader walks), generators and a coroutine driven by send,
# exceptions raised and caught through frames as they unwind, code objects made and freed in a
# loop (so new ones reuse the old addresses), names and files that are not ASCII, and threads
# that allocate while they do not hold the GIL (zlib.compress releases it) beside threads that
# do; and, through ctypes, a caller's frame whose code and link to its own caller are garbage
# (unmapped, misaligned, not a code object) while its callee allocates: CPython itself never
# looks at them then, pferris's reader does. It prints a digest of what it computed and exits 3: output and status must be the same
# with and without the preload.
import ctypes
import hashlib
import sys
import threading
import zlib

digest = hashlib.sha256()


def note(x):
    digest.update(repr(x).encode())


def deep(n):
    if n == 0:
        return len(bytearray(3000)) + len(b"x" * 2000)
    return deep(n - 1) + 1


def gen(n):
    for i in range(n):
        yield bytearray(1000 + i)


def outer_gen(n):
    yield from gen(n)
    yield from (bytes(500 + i) for i in range(n))


def coro():
    total = 0
    while True:
        got = yield total
        total += len(bytearray(got))


def raiser(depth):
    if depth == 0:
        raise ValueError("x" * 1000)
    try:
        return raiser(depth - 1)
    finally:
        bytearray(700)


def exceptions(rounds):
    caught = 0
    for i in range(rounds):
        try:
            raiser(i % 20)
        except ValueError as e:
            caught += len(str(e)) + len(bytearray(900))
    return caught


def dynamic_code(rounds):
    total = 0
    for i in range(rounds):
        src = "def f%d(n):\n    return len(bytearray(n + %d))\n" % (i, i)
        ns = {}
        exec(compile(src, "<dyn %d>" % i, "exec"), ns)
        total += ns["f%d" % i](600)
        total += (lambda k: len(bytearray(k)))(800 + i)
    return total


def функция_с_длинным_именем(n):
    return sum(len(bytearray(600 + i)) for i in range(n))


class Ünïcode:
    def méthode(self, n):
        return функция_с_длинным_именем(n)


def compressor(seed, rounds, out, i):
    data = bytes((seed * j) & 255 for j in range(200000))
    size = 0
    for _ in range(rounds):
        size += len(zlib.compress(data, 6))  # allocates with the GIL released
    out[i] = size


def allocator(rounds, out, i):
    out[i] = sum(len(bytearray(2000)) + deep(30) for _ in range(rounds))


FRAME_F_FRAME = 24  # PyFrameObject.f_frame: the _PyInterpreterFrame (3.11)
IFRAME_CODE, IFRAME_PREVIOUS = 32, 48  # _PyInterpreterFrame.f_code, .previous
GARBAGE = (0xDEAD0000, 0x10, 0x7FFFFFFF0000, 0xFFFFFFFFFFFFFFF0)


def callee(slot, values, saved):
    total = 0
    for bad in values:
        slot.value = bad
        try:
            total += len(bytearray(5000)) + len(bytearray(100000))
        finally:
            slot.value = saved
    return total


def corrupted_caller():
    if sys.version_info[:2] != (3, 11):
        return 0
    iframe = ctypes.c_void_p.from_address(id(sys._getframe()) + FRAME_F_FRAME).value
    misaligned = id(sys._getframe()) + 3
    not_code = id(b"not a code object" * 3)
    total = 0
    for off in (IFRAME_CODE, IFRAME_PREVIOUS):
        slot = ctypes.c_void_p.from_address(iframe + off)
        total += callee(slot, GARBAGE + (misaligned, not_code, iframe), slot.value)
    return total


sys.setrecursionlimit(10000)
note(corrupted_caller())
note(deep(2500))
note(sum(len(b) for b in outer_gen(300)))
c = coro()
next(c)
for k in range(200):
    last = c.send(1000 + k)
note(last)
note(exceptions(400))
note(dynamic_code(300))
note(Ünïcode().méthode(200))
results = [None] * 6
threads = [threading.Thread(target=compressor, args=(i + 3, 12, results, i)) for i in range(3)]
threads += [threading.Thread(target=allocator, args=(300, results, i)) for i in range(3, 6)]
for t in threads:
    t.start()
note(exceptions(200))
for t in threads:
    t.join()
note(results)
print(digest.hexdigest())
sys.exit(3)
