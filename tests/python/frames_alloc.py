# frames_alloc.py — for tests/it_python_frames.sh: three functions allocate 60%, 30% and 10% of
# the bytes (bytearrays of 4 KiB, freed at once), hold() keeps 8 MiB until the process ends,
# far() allocates 80 lines below its start (a long line-table entry), spin() burns CPU in pure
# Python. The lines the test looks for are marked; it reads their
# numbers from this file. The process ends with os._exit, so what it holds is still live then
# (a normal exit frees module globals during the interpreter's finalization).
import os
import sys

SIZE = 4096
ROUNDS = 64
held = []


def f60(n):
    for _ in range(n):
        bytearray(SIZE)  # LINE:f60


def f30(n):
    for _ in range(n):
        bytearray(SIZE)  # LINE:f30


def f10(n):
    for _ in range(n):
        bytearray(SIZE)  # LINE:f10


def hold():
    held.append(bytearray(8 << 20))  # LINE:hold


def far():
    x = len(held)
    # line 0 of a long gap: the line table's long form, with a two-byte delta
    # line 1 of a long gap: the line table's long form, with a two-byte delta
    # line 2 of a long gap: the line table's long form, with a two-byte delta
    # line 3 of a long gap: the line table's long form, with a two-byte delta
    # line 4 of a long gap: the line table's long form, with a two-byte delta
    # line 5 of a long gap: the line table's long form, with a two-byte delta
    # line 6 of a long gap: the line table's long form, with a two-byte delta
    # line 7 of a long gap: the line table's long form, with a two-byte delta
    # line 8 of a long gap: the line table's long form, with a two-byte delta
    # line 9 of a long gap: the line table's long form, with a two-byte delta
    # line 10 of a long gap: the line table's long form, with a two-byte delta
    # line 11 of a long gap: the line table's long form, with a two-byte delta
    # line 12 of a long gap: the line table's long form, with a two-byte delta
    # line 13 of a long gap: the line table's long form, with a two-byte delta
    # line 14 of a long gap: the line table's long form, with a two-byte delta
    # line 15 of a long gap: the line table's long form, with a two-byte delta
    # line 16 of a long gap: the line table's long form, with a two-byte delta
    # line 17 of a long gap: the line table's long form, with a two-byte delta
    # line 18 of a long gap: the line table's long form, with a two-byte delta
    # line 19 of a long gap: the line table's long form, with a two-byte delta
    # line 20 of a long gap: the line table's long form, with a two-byte delta
    # line 21 of a long gap: the line table's long form, with a two-byte delta
    # line 22 of a long gap: the line table's long form, with a two-byte delta
    # line 23 of a long gap: the line table's long form, with a two-byte delta
    # line 24 of a long gap: the line table's long form, with a two-byte delta
    # line 25 of a long gap: the line table's long form, with a two-byte delta
    # line 26 of a long gap: the line table's long form, with a two-byte delta
    # line 27 of a long gap: the line table's long form, with a two-byte delta
    # line 28 of a long gap: the line table's long form, with a two-byte delta
    # line 29 of a long gap: the line table's long form, with a two-byte delta
    # line 30 of a long gap: the line table's long form, with a two-byte delta
    # line 31 of a long gap: the line table's long form, with a two-byte delta
    # line 32 of a long gap: the line table's long form, with a two-byte delta
    # line 33 of a long gap: the line table's long form, with a two-byte delta
    # line 34 of a long gap: the line table's long form, with a two-byte delta
    # line 35 of a long gap: the line table's long form, with a two-byte delta
    # line 36 of a long gap: the line table's long form, with a two-byte delta
    # line 37 of a long gap: the line table's long form, with a two-byte delta
    # line 38 of a long gap: the line table's long form, with a two-byte delta
    # line 39 of a long gap: the line table's long form, with a two-byte delta
    # line 40 of a long gap: the line table's long form, with a two-byte delta
    # line 41 of a long gap: the line table's long form, with a two-byte delta
    # line 42 of a long gap: the line table's long form, with a two-byte delta
    # line 43 of a long gap: the line table's long form, with a two-byte delta
    # line 44 of a long gap: the line table's long form, with a two-byte delta
    # line 45 of a long gap: the line table's long form, with a two-byte delta
    # line 46 of a long gap: the line table's long form, with a two-byte delta
    # line 47 of a long gap: the line table's long form, with a two-byte delta
    # line 48 of a long gap: the line table's long form, with a two-byte delta
    # line 49 of a long gap: the line table's long form, with a two-byte delta
    # line 50 of a long gap: the line table's long form, with a two-byte delta
    # line 51 of a long gap: the line table's long form, with a two-byte delta
    # line 52 of a long gap: the line table's long form, with a two-byte delta
    # line 53 of a long gap: the line table's long form, with a two-byte delta
    # line 54 of a long gap: the line table's long form, with a two-byte delta
    # line 55 of a long gap: the line table's long form, with a two-byte delta
    # line 56 of a long gap: the line table's long form, with a two-byte delta
    # line 57 of a long gap: the line table's long form, with a two-byte delta
    # line 58 of a long gap: the line table's long form, with a two-byte delta
    # line 59 of a long gap: the line table's long form, with a two-byte delta
    # line 60 of a long gap: the line table's long form, with a two-byte delta
    # line 61 of a long gap: the line table's long form, with a two-byte delta
    # line 62 of a long gap: the line table's long form, with a two-byte delta
    # line 63 of a long gap: the line table's long form, with a two-byte delta
    # line 64 of a long gap: the line table's long form, with a two-byte delta
    # line 65 of a long gap: the line table's long form, with a two-byte delta
    # line 66 of a long gap: the line table's long form, with a two-byte delta
    # line 67 of a long gap: the line table's long form, with a two-byte delta
    # line 68 of a long gap: the line table's long form, with a two-byte delta
    # line 69 of a long gap: the line table's long form, with a two-byte delta
    # line 70 of a long gap: the line table's long form, with a two-byte delta
    # line 71 of a long gap: the line table's long form, with a two-byte delta
    # line 72 of a long gap: the line table's long form, with a two-byte delta
    # line 73 of a long gap: the line table's long form, with a two-byte delta
    # line 74 of a long gap: the line table's long form, with a two-byte delta
    # line 75 of a long gap: the line table's long form, with a two-byte delta
    # line 76 of a long gap: the line table's long form, with a two-byte delta
    # line 77 of a long gap: the line table's long form, with a two-byte delta
    # line 78 of a long gap: the line table's long form, with a two-byte delta
    # line 79 of a long gap: the line table's long form, with a two-byte delta
    return x + len(bytearray(3 << 20))  # LINE:far


def spin():
    total = 0
    for i in range(3_000_000):
        total += i * i  # LINE:spin
    return total


for _ in range(ROUNDS):
    f60(6 * 512)
    f30(3 * 512)
    f10(1 * 512)
hold()
far()
if len(sys.argv) > 1 and sys.argv[1] == "spin":
    spin()
print("done")
sys.stdout.flush()
os._exit(0)
