"""What llmcompiler needs to know about a target, read from its triple.

A target is data: the triple's parts, its object file format, the relocation model
clang-19 uses for it, and the key under which per-target search data is shipped.
Code asks a :class:`Target`; no other module parses triples.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from llmcompiler.llvm._ffi import lib, take_message
from llmcompiler.llvm.binding import default_triple

#: Object file formats LLVM writes, by the name llvm-size and this project use.
ELF, MACHO, COFF, WASM, XCOFF, GOFF = "elf", "macho", "coff", "wasm", "xcoff", "goff"

_APPLE_OS = ("darwin", "macos", "ios", "tvos", "watchos", "xros", "visionos", "driverkit")

#: Architecture spellings that share search data (the triple's first part, normalized).
_FAMILIES = {
    "amd64": "x86_64",
    "x86_64": "x86_64",
    "i386": "i386",
    "i486": "i386",
    "i586": "i386",
    "i686": "i386",
    "arm64": "aarch64",
    "aarch64": "aarch64",
}


@dataclass(frozen=True)
class Target:
    """A target triple and what follows from it.

    Attributes:
        triple: the triple as written (``thumbv7em-none-eabi``).
        arch: its first part (``thumbv7em``).
        vendor: its second part, '' when the triple has only two parts.
        os: the operating system part (``linux``, ``none``, ``macosx14.0.0``, ``wasi``).
        environment: the rest (``gnu``, ``eabihf``, ``msvc``), '' when absent.
    """

    triple: str
    arch: str
    vendor: str
    os: str
    environment: str

    @classmethod
    def parse(cls, triple: str) -> Target:
        """Read a triple as LLVM does: normalized (``LLVMNormalizeTargetTriple``) to
        ``arch-vendor-os-environment``, so ``aarch64-linux-gnu`` has os ``linux`` and
        ``thumbv7em-none-eabi`` has os ``none``, environment ``eabi``.

        Raises:
            LLVMNotFoundError: libLLVM 19 is missing.
        """
        normal = take_message(lib().LLVMNormalizeTargetTriple(triple.encode()))
        arch, vendor, os_, env = ([*normal.split("-", 3), "", "", ""])[:4]
        return cls(triple, arch, vendor, os_, env)

    @property
    def object_format(self) -> str:
        """The object file format LLVM writes for this target (as Triple's default)."""
        if self.environment.endswith("elf"):
            return ELF
        if self.vendor == "apple" or self.os.startswith(_APPLE_OS):
            return MACHO
        if self.os.startswith(("windows", "win32", "uefi")):
            return COFF
        if self.arch.startswith("wasm"):
            return WASM
        if self.os.startswith("aix"):
            return XCOFF
        if self.os.startswith("zos"):
            return GOFF
        return ELF

    @property
    def family(self) -> str:
        """The key per-target search data is shipped under: the architecture with its
        spellings merged (``x86_64``, ``i386``, ``aarch64``, ``arm`` for every 32-bit
        Arm and Thumb, ``riscv32``, ``riscv64``, ``wasm32``, ...)."""
        if self.arch in _FAMILIES:
            return _FAMILIES[self.arch]
        if self.arch.startswith(("arm", "thumb")) and not self.arch.startswith("arm64"):
            return "arm"
        return self.arch

    @property
    def is_linux(self) -> bool:
        return self.os.startswith("linux")

    @property
    def is_wasi(self) -> bool:
        return self.arch.startswith("wasm") and self.os.startswith("wasi")

    @property
    def bare_metal(self) -> bool:
        """No operating system: firmware (``thumbv7em-none-eabi``, ``riscv32-unknown-elf``)."""
        return self.os in ("none", "unknown", "") and not self.arch.startswith("wasm")

    @property
    def is_host(self) -> bool:
        """Whether code for this target runs natively on this machine."""
        host = target(default_triple())
        return (self.arch, self.os, self.object_format) == (host.arch, host.os, ELF) and (
            self.environment.startswith("gnu") or not self.environment
        )

    def relocation_model(self) -> str:
        """The relocation model clang-19 compiles this target with (``pic``, ``static``,
        ``ropi``, ...), or ``default`` when clang does not say (llc then chooses)."""
        from llmcompiler.llvm.codegen import relocation_model

        return relocation_model(self.triple)


@functools.cache
def target(triple: str) -> Target:
    """The cached :class:`Target` of a triple."""
    return Target.parse(triple)
