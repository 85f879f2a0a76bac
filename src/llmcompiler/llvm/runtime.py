"""How this machine links and runs a target's programs (for differential testing).

The host's programs link with ``clang++-19`` as a user's default build would and run
natively. Linux programs of other architectures link with ``ld.lld`` against Debian's
cross sysroot (``/usr/<triple>``, from ``libc6-dev-<arch>-cross``) and run under
``qemu-<arch> -L <sysroot>`` (``qemu-user``). WebAssembly WASI programs link against
Debian's ``wasi-libc`` and run under ``wasmtime`` (PyPI) in a child Python process, so
a timeout kills it and a trap cannot hurt the caller. Bare-metal firmware, Mach-O,
COFF and anything else cannot run here.

This module is the only one that runs emulators and wasmtime; the emulator of each
Linux port is a column of :data:`llmcompiler.llvm.sysroots.LINUX_PORTS`, the one table
of Debian's ports. Whether each is installed is checked when asked, never assumed
(``scripts/install-cross.sh`` installs them).
"""

from __future__ import annotations

import functools
import glob
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from llmcompiler.errors import LLVMNotFoundError
from llmcompiler.llvm.sysroots import LINUX_PORTS
from llmcompiler.llvm.target import COFF, MACHO, WASM, Target, target
from llmcompiler.llvm.toolchain import tool


@dataclass(frozen=True)
class Runtime:
    """How to link and run the programs of one target here.

    Attributes:
        triple: the target triple.
        link: the link command before its inputs: the compiler driver and its flags.
        prefix: what goes before an executable to run it (nothing for native code).
    """

    triple: str
    link: tuple[str, ...]
    prefix: tuple[str, ...] = ()

    def link_argv(self, inputs: Sequence[str], exe: str) -> list[str]:
        """The command that links (and, for IR inputs, compiles) ``inputs`` into ``exe``,
        with libm and the target's C runtime."""
        return [*self.link, *inputs, "-o", exe, "-lm", "-w"]

    def run_argv(self, exe: str, args: Sequence[str] = ()) -> list[str]:
        """The command that runs ``exe`` with ``args``."""
        return [*self.prefix, exe, *args]


#: WASI versions whose C library Debian's ``wasi-libc`` provides.
_WASI_OS = ("wasi", "wasip1")

_FORMAT_NAMES = {MACHO: "Mach-O", COFF: "COFF", "xcoff": "XCOFF", "goff": "GOFF"}

#: Runs a WASI module under wasmtime: ``python -c _WASI_RUNNER MODULE ARG...``, stdin
#: and stdout passed through; the exit status is the module's, a trap ends the process
#: with SIGILL as a native trap does, anything else wasmtime refuses with status 125.
_WASI_RUNNER = r"""
import os, signal, sys, tempfile
import wasmtime
module_path, argv = sys.argv[1], sys.argv[1:]
with tempfile.TemporaryDirectory(prefix="llmc-wasi-") as tmp:
    stdin, stdout = os.path.join(tmp, "stdin"), os.path.join(tmp, "stdout")
    with open(stdin, "wb") as f:
        f.write(sys.stdin.buffer.read())
    open(stdout, "wb").close()
    wasi = wasmtime.WasiConfig()
    wasi.argv = [os.path.basename(module_path), *argv[1:]]
    wasi.stdin_file, wasi.stdout_file = stdin, stdout
    wasi.inherit_stderr()
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    store.set_wasi(wasi)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    code, trapped = 0, None
    try:
        instance = linker.instantiate(store, wasmtime.Module.from_file(engine, module_path))
        instance.exports(store)["_start"](store)
    except wasmtime.ExitTrap as exit_trap:
        code = exit_trap.code
    except wasmtime.Trap as trap:
        trapped = trap
    except wasmtime.WasmtimeError as err:
        print(f"wasmtime: {err}", file=sys.stderr)
        code = 125
    with open(stdout, "rb") as f:
        sys.stdout.buffer.write(f.read())
    sys.stdout.flush()
if trapped is not None:
    print(f"wasm trap: {trapped}", file=sys.stderr)
    sys.stderr.flush()
    signal.signal(signal.SIGILL, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGILL)
sys.exit(code & 0xFF)
"""


def runtime_for(triple: str) -> Runtime | None:
    """The :class:`Runtime` for ``triple``, or None when its programs cannot run here
    (:func:`why_not` says why).

    Raises:
        LLVMNotFoundError: clang-19 (or libLLVM 19, to read the triple) is missing.
    """
    found = _find(triple)
    return found if isinstance(found, Runtime) else None


def why_not(triple: str) -> str:
    """Why ``triple``'s programs cannot run here: ``cannot run <triple> here``, followed
    by the cause in parentheses (and what to install when that would help); '' when they
    can run."""
    found = _find(triple)
    return "" if isinstance(found, Runtime) else f"cannot run {triple} here ({found})"


def _find(triple: str) -> Runtime | str:
    """The Runtime of ``triple``, or the reason (without parentheses) there is none."""
    t = target(triple)
    if t.is_host:
        return Runtime(triple, (tool("clang++"),))
    fmt = t.object_format
    if fmt in _FORMAT_NAMES:
        return _FORMAT_NAMES[fmt]
    if t.bare_metal:
        return "no operating system"
    if fmt == WASM:
        return _wasi(t)
    if t.is_linux:
        return _cross_linux(t)
    return f"no runtime for {t.os} programs"


def _cross_linux(t: Target) -> Runtime | str:
    env = t.environment or "gnu"
    big_endian_arm = t.family == "arm" and t.arch.endswith("eb")
    # Linux targets by (Target.family, environment): i386..i686 and every little-endian
    # 32-bit Arm or Thumb share an entry
    entry = None if big_endian_arm else LINUX_PORTS.get((t.family, env))
    if entry is None or entry.qemu is None:
        return f"no emulator or sysroot known for {t.arch} Linux, environment {env}"
    if not shutil.which(entry.qemu):
        return f"{entry.qemu} not installed: apt-get install qemu-user"
    sysroot = f"/usr/{entry.gnu}"
    libgcc = glob.glob(f"/usr/lib/gcc-cross/{entry.gnu}/*/libgcc.a")
    if not os.path.isfile(f"{sysroot}/lib/crt1.o") or not libgcc:
        return (
            f"no {entry.gnu} sysroot: apt-get install libc6-dev-{entry.debian}-cross "
            f"libgcc-12-dev-{entry.debian}-cross"
        )
    try:
        tool("ld.lld")
    except LLVMNotFoundError:
        return "ld.lld-19 not installed: apt-get install lld-19"
    # C++ programs need the target's libstdc++ (libstdc++-12-dev-<arch>-cross); C ones not
    cxx = glob.glob(f"/usr/lib/gcc-cross/{entry.gnu}/*/libstdc++.so")
    driver = tool("clang++" if cxx else "clang")
    # --gcc-triple: the module's triple (armv7-unknown-linux-gnueabihf) may not be the
    # spelling under which Debian installed the cross libraries (arm-linux-gnueabihf)
    link = (driver, f"--target={t.triple}", f"--gcc-triple={entry.gnu}", "-fuse-ld=lld")
    return Runtime(t.triple, link, (shutil.which(entry.qemu), "-L", sysroot))


def _wasi(t: Target) -> Runtime | str:
    if not t.is_wasi:
        return "WebAssembly without WASI"
    if t.arch != "wasm32" or t.os not in _WASI_OS:
        return f"no runtime for {t.arch} {t.os}"
    if not _wasi_libraries(t.triple):
        return f"no WASI libc for {t.triple}: apt-get install wasi-libc libclang-rt-19-dev-wasm32"
    try:
        tool("wasm-ld")
    except LLVMNotFoundError:
        return "wasm-ld-19 not installed: apt-get install lld-19"
    if importlib.util.find_spec("wasmtime") is None:
        return "wasmtime not installed: pip install wasmtime"
    link = (tool("clang"), f"--target={t.triple}")
    return Runtime(t.triple, link, (sys.executable, "-c", _WASI_RUNNER))


@functools.cache
def _wasi_libraries(triple: str) -> bool:
    """Whether clang-19 finds the WASI libc and compiler-rt builtins for ``triple``."""
    found = []
    for flag in ("-print-file-name=libc.a", "-print-libgcc-file-name"):
        argv = [tool("clang"), f"--target={triple}", flag]
        proc = subprocess.run(argv, capture_output=True, check=False)
        path = proc.stdout.decode(errors="replace").strip()
        found.append(proc.returncode == 0 and os.path.isabs(path) and os.path.isfile(path))
    return all(found)
