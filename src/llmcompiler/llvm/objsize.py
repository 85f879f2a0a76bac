"""Binary size of an ELF object file, as ``llvm-size`` (Berkeley format) reports it.

Pure Python over the section header table, so it works on in-memory objects.
llvm-size's rules (ELFObjectFile::isBerkeleyText / isBerkeleyData):

- text: allocated sections that are executable or not writable
  (.text, .rodata, .eh_frame, ...);
- data: other allocated sections that occupy file space (.data, ...);
- bss: allocated sections of type NOBITS (not counted in the binary size).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from llmcompiler.errors import EvaluationError

_SHF_WRITE, _SHF_ALLOC, _SHF_EXECINSTR = 0x1, 0x2, 0x4
_SHT_NOBITS = 8


@dataclass(frozen=True)
class BerkeleySize:
    text: int
    data: int
    bss: int

    @property
    def binary_size(self) -> int:
        """``text + data``: the project's definition of binary size."""
        return self.text + self.data


def berkeley_size(obj: bytes) -> BerkeleySize:
    """Return text/data/bss sizes of an ELF object.

    Raises:
        EvaluationError: ``obj`` is not a 32- or 64-bit ELF file.
    """
    if obj[:4] != b"\x7fELF" or obj[4] not in (1, 2):
        raise EvaluationError("not an ELF object file")
    is64 = obj[4] == 2
    endian = "<" if obj[5] == 1 else ">"
    if is64:
        (shoff,) = struct.unpack_from(endian + "Q", obj, 0x28)
        shentsize, shnum = struct.unpack_from(endian + "HH", obj, 0x3A)
        fmt = endian + "IIQQQQ"  # name, type, flags, addr, offset, size
    else:
        (shoff,) = struct.unpack_from(endian + "I", obj, 0x20)
        shentsize, shnum = struct.unpack_from(endian + "HH", obj, 0x2E)
        fmt = endian + "IIIIII"
    text = data = bss = 0
    for i in range(shnum):
        _, sh_type, flags, _, _, size = struct.unpack_from(fmt, obj, shoff + i * shentsize)
        if not flags & _SHF_ALLOC:
            continue
        if flags & _SHF_EXECINSTR or not flags & _SHF_WRITE:
            text += size
        elif sh_type != _SHT_NOBITS:
            data += size
        else:
            bss += size
    return BerkeleySize(text, data, bss)


_SHT_SYMTAB = 2


def undefined_symbols(obj: bytes) -> frozenset[str]:
    """Return the names of the global and weak symbols an ELF64 object uses but does not
    define (what the linker must find elsewhere).

    Raises:
        EvaluationError: ``obj`` is not a little-endian 64-bit ELF file.
    """
    if obj[:4] != b"\x7fELF" or obj[4] != 2 or obj[5] != 1:
        raise EvaluationError("not a little-endian 64-bit ELF object file")
    (shoff,) = struct.unpack_from("<Q", obj, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", obj, 0x3A)
    # name, type, flags, addr, offset, size, link, info, addralign, entsize
    headers = [struct.unpack_from("<IIQQQQIIQQ", obj, shoff + i * shentsize) for i in range(shnum)]
    names = set()
    for _, sh_type, _, _, offset, size, link, _, _, entsize in headers:
        if sh_type != _SHT_SYMTAB or not entsize:
            continue
        strtab_offset = headers[link][4]
        for at in range(offset, offset + size, entsize):
            st_name, st_info, _, st_shndx = struct.unpack_from("<IBBH", obj, at)
            if st_shndx == 0 and st_name and st_info >> 4 in (1, 2):  # UNDEF, GLOBAL/WEAK
                end = obj.index(b"\0", strtab_offset + st_name)
                names.add(obj[strtab_offset + st_name : end].decode(errors="replace"))
    return frozenset(names)
