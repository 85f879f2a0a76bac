"""Where the C headers for a target come from on Debian, and the clang flags that use them.

clang-19 finds two kinds by itself: a Linux cross sysroot (``/usr/aarch64-linux-gnu``,
installed by ``libc6-dev-arm64-cross``) and wasi-libc (``/usr/include/wasm32-wasi``).
It does not find Debian's picolibc for bare-metal Arm and RISC-V: for those,
:func:`header_flags` adds what ``picolibc.specs`` gives gcc (the include directory as
``-isystem``, ``-ftls-model=local-exec``), like a toolchain file would. Mach-O, COFF and
other targets have no Debian package; their headers come from ``--sysroot`` or
``-isystem``.

The knowledge is the three tables below (the first, Debian's Linux ports, also serves
:mod:`llmcompiler.llvm.runtime`); code asks :func:`headers` about a triple.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

from llmcompiler.llvm.binding import default_triple
from llmcompiler.llvm.target import Target, target


@dataclass(frozen=True)
class LinuxPort:
    """One of Debian's Linux ports.

    Attributes:
        debian: Debian's name for the architecture (``arm64``), as in its
            ``libc6-dev-ARCH-cross`` and ``libgcc-12-dev-ARCH-cross`` packages.
        gnu: the GNU triple that names the cross sysroot (``/usr/GNU``), the multiarch
            folder (``/usr/include/GNU``) and the cross libraries (``/usr/lib/gcc-cross/GNU``).
        qemu: the qemu-user binary that runs its programs; None where none has been tried
            (:mod:`llmcompiler.llvm.runtime` then does not run them).
    """

    debian: str
    gnu: str
    qemu: str | None = None


#: Debian's Linux ports, by (Target.family, environment): the one table of them, read
#: here for headers and by :mod:`llmcompiler.llvm.runtime` to link and run programs.
LINUX_PORTS = {
    ("x86_64", "gnu"): LinuxPort("amd64", "x86_64-linux-gnu", "qemu-x86_64"),
    ("x86_64", "gnux32"): LinuxPort("x32", "x86_64-linux-gnux32"),
    ("i386", "gnu"): LinuxPort("i386", "i686-linux-gnu", "qemu-i386"),
    ("aarch64", "gnu"): LinuxPort("arm64", "aarch64-linux-gnu", "qemu-aarch64"),
    ("arm", "gnueabihf"): LinuxPort("armhf", "arm-linux-gnueabihf", "qemu-arm"),
    ("arm", "gnueabi"): LinuxPort("armel", "arm-linux-gnueabi", "qemu-arm"),
    ("riscv64", "gnu"): LinuxPort("riscv64", "riscv64-linux-gnu", "qemu-riscv64"),
    ("powerpc64le", "gnu"): LinuxPort("ppc64el", "powerpc64le-linux-gnu", "qemu-ppc64le"),
    ("powerpc64", "gnu"): LinuxPort("ppc64", "powerpc64-linux-gnu", "qemu-ppc64"),
    ("powerpc", "gnu"): LinuxPort("powerpc", "powerpc-linux-gnu", "qemu-ppc"),
    ("s390x", "gnu"): LinuxPort("s390x", "s390x-linux-gnu", "qemu-s390x"),
    ("mips", "gnu"): LinuxPort("mips", "mips-linux-gnu", "qemu-mips"),
    ("mipsel", "gnu"): LinuxPort("mipsel", "mipsel-linux-gnu", "qemu-mipsel"),
    ("mips64", "gnuabi64"): LinuxPort("mips64", "mips64-linux-gnuabi64"),
    ("mips64el", "gnuabi64"): LinuxPort("mips64el", "mips64el-linux-gnuabi64", "qemu-mips64el"),
    ("sparc64", "gnu"): LinuxPort("sparc64", "sparc64-linux-gnu"),
    ("sparcv9", "gnu"): LinuxPort("sparc64", "sparc64-linux-gnu"),
    ("m68k", "gnu"): LinuxPort("m68k", "m68k-linux-gnu"),
}

#: Debian's picolibc builds for bare-metal targets, by Target.family: the build's name
#: (``picolibc-NAME``, ``/usr/lib/picolibc/NAME``). The RISC-V build is multilib: its
#: headers serve riscv32 too.
_PICOLIBC = {
    "arm": "arm-none-eabi",
    "riscv32": "riscv64-unknown-elf",
    "riscv64": "riscv64-unknown-elf",
}

#: wasi-libc, by the triple's os part: whether clang-19 finds it itself. Debian's
#: wasi-libc installs ``/usr/include/wasm32-wasi`` only; clang looks for ``wasm32-wasip1``
#: under that name, so it is given with -isystem.
_WASI = {"wasi": True, "wasip1": False}
_WASI_INCLUDE = "/usr/include/wasm32-wasi"

#: Flags that make clang look for system headers elsewhere than the places above.
_REPLACING = ("--sysroot", "-isysroot", "-nostdinc", "-nostdlibinc", "--config")
#: Flags that choose the headers: then :func:`header_flags` adds none.
_OWN_HEADERS = (*_REPLACING, "-isystem")

_NOT_FOUND = re.compile(r"'[^'\n]+' file not found")


@dataclass(frozen=True)
class Headers:
    """The C library headers of one target on a Debian machine.

    Attributes:
        triple: the target triple as given.
        package: the Debian package that installs them; None when Debian has none.
        include: the directory they are (or would be) installed in; None without a package.
        flags: clang flags that make clang use them; empty when clang finds them itself.
        installed: whether they are there now.
    """

    triple: str
    package: str | None
    include: str | None
    flags: tuple[str, ...]
    installed: bool


def headers(triple: str) -> Headers:
    """The C headers for ``triple`` on this machine: which Debian package has them, where
    they are, whether they are installed and which flags clang-19 needs to use them.

    Raises:
        LLVMNotFoundError: libLLVM 19 is missing (the triple is read by LLVM).
    """
    t = target(triple)
    port = LINUX_PORTS.get((t.family, t.environment)) if t.is_linux else None
    if port is not None:
        cross = f"/usr/{port.gnu}/include"
        multiarch = f"/usr/include/{port.gnu}/bits/libc-header-start.h"
        installed = os.path.exists(f"{cross}/stdio.h") or os.path.exists(multiarch)
        if _is_host(t):
            return Headers(triple, "libc6-dev", "/usr/include", (), installed)
        return Headers(triple, f"libc6-dev-{port.debian}-cross", cross, (), installed)
    if t.bare_metal and t.family in _PICOLIBC:
        name = _PICOLIBC[t.family]
        include = f"/usr/lib/picolibc/{name}/include"
        flags = ("-isystem", include, "-ftls-model=local-exec")  # as picolibc.specs
        return Headers(triple, f"picolibc-{name}", include, flags, _has_stdio(include))
    if t.arch == "wasm32" and t.os in _WASI:
        flags = () if _WASI[t.os] else ("-isystem", _WASI_INCLUDE)
        return Headers(triple, "wasi-libc", _WASI_INCLUDE, flags, _has_stdio(_WASI_INCLUDE))
    return Headers(triple, None, None, (), False)


def _is_host(t: Target) -> bool:
    host = target(default_triple())
    return (t.family, t.environment) == (host.family, host.environment) and host.is_linux


def _has_stdio(include: str) -> bool:
    return os.path.exists(os.path.join(include, "stdio.h"))


def triple_in(flags: Sequence[str]) -> str | None:
    """The target clang flags name: the last ``--target=T``, ``--target T`` or
    ``-target T``; None when they name none (clang then compiles for the host)."""
    found = None
    for i, flag in enumerate(flags):
        if flag.startswith("--target="):
            found = flag.removeprefix("--target=")
        elif flag in ("--target", "-target") and i + 1 < len(flags):
            found = flags[i + 1]
    return found


def header_flags(flags: Sequence[str]) -> list[str]:
    """The flags to add to clang target flags ``flags`` so that the target's installed
    headers are used (``-isystem /usr/lib/picolibc/arm-none-eabi/include ...`` for
    ``thumbv7em-none-eabi``); none when clang finds them itself, when they are not
    installed, or when ``flags`` choose headers themselves (``--sysroot``, ``-isystem``,
    ``-nostdinc``...)."""
    if any(f.startswith(_OWN_HEADERS) for f in flags):
        return []
    found = headers(triple_in(flags) or default_triple())
    return list(found.flags) if found.installed else []


def missing_headers_hint(flags: Sequence[str], diagnostics: str) -> str | None:
    """One line to show after clang's ``diagnostics`` for a compile with target flags
    ``flags``: where the target's headers come from, when clang did not find a header
    and the reason may be missing headers; else None."""
    if not _NOT_FOUND.search(diagnostics):
        return None
    triple = triple_in(flags) or default_triple()
    found = headers(triple)
    if found.package is None:
        return (
            f"no Debian package has C headers for {triple}: give them with --sysroot=DIR "
            "or -isystem DIR"
        )
    if not found.installed:
        return f"headers for {triple} come from the Debian package {found.package}"
    chosen = _REPLACING if not found.flags else _OWN_HEADERS  # -isystem stops only ours
    if any(f.startswith(chosen) for f in flags):
        return (
            f"headers for {triple} are installed in {found.include} (Debian package "
            f"{found.package}), but the flags given choose other headers"
        )
    return None
