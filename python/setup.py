"""Builds the pferris extension for pip (pip install --no-build-isolation ./python).

The extension links no copy of the core. The build runs `make` in the repository for
build/libpferris.so and ships a copy beside the extension (pferris/libpferris.so), which the
module loads when the process has no pferris of its own; under LD_PRELOAD it uses the preload's.
It needs the repository around python/ (lib/pferris.h, the Makefile) and the Debian packages of
scripts/bootstrap (libjansson-dev, libunwind-dev, python3-dev).
"""
import os
import shutil
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
PIP_BUILD = os.path.join(TOP, "build", "pip")  # out of tree, egg-info included
os.makedirs(PIP_BUILD, exist_ok=True)
SRC = sorted(os.path.join("src", f) for f in os.listdir(os.path.join(HERE, "src"))
             if f.endswith(".c"))


class BuildWithCore(build_ext):
    def run(self):
        super().run()
        # SAN= : the package carries the plain build, also when a sanitizer's test run (which
        # exports SAN) installs it before any plain build exists.
        subprocess.check_call(["make", "-C", TOP, "--no-print-directory", "SAN=",
                               "build/libpferris.so"])
        ext = self.get_ext_fullpath("pferris._pferris")
        shutil.copy2(os.path.join(TOP, "build", "libpferris.so"),
                     os.path.join(os.path.dirname(ext), "libpferris.so"))


def version():
    with open(os.path.join(TOP, "Makefile")) as f:
        for line in f:
            if line.startswith("VERSION"):
                return line.split("=", 1)[1].strip()
    return "0.0.0"


setup(
    ext_modules=[Extension(
        "pferris._pferris",
        sources=SRC,
        include_dirs=[os.path.join(TOP, "lib")],
        define_macros=[("PFERRIS_VERSION", '"%s"' % version())],
        extra_compile_args=["-std=gnu11", "-fvisibility=hidden"],
        libraries=["jansson", "dl"],
    )],
    cmdclass={"build_ext": BuildWithCore},
    options={"build": {"build_base": PIP_BUILD}, "egg_info": {"egg_base": PIP_BUILD}},
)
