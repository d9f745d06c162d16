"""Build of profkit._engine: one C extension from src/*.c.

Environment switches:
  PROFKIT_DEBUG=1     -O0 -g, assertions on (PK_DEBUG)
  PROFKIT_SANITIZE=1  AddressSanitizer + UBSan
  PROFKIT_WERROR=1    warnings are errors (CI and development)
"""
import glob
import os

from setuptools import Extension, setup

flags = ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers",
         "-Wno-cast-function-type",
         # Only PyInit__engine is exported: calls between the C files are
         # direct, never through the PLT.
         "-fvisibility=hidden"]
link = []
if os.environ.get("PROFKIT_WERROR"):
    flags.append("-Werror")
if os.environ.get("PROFKIT_DEBUG"):
    flags += ["-O0", "-g", "-UNDEBUG", "-DPK_DEBUG"]
else:
    flags += ["-O2"]
if os.environ.get("PROFKIT_SANITIZE"):
    san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined"]
    flags += san + ["-g"]
    link += san

setup(
    ext_modules=[
        Extension(
            "profkit._engine",
            sources=sorted(glob.glob("src/*.c")),
            depends=sorted(glob.glob("src/*.h")),
            extra_compile_args=flags,
            extra_link_args=link,
        )
    ],
)
