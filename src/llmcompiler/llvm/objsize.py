"""Binary size and undefined symbols of an object file, as ``llvm-size-19`` (Berkeley
format) and ``llvm-nm-19 -u`` report them.

Pure Python over the headers, so it works on in-memory objects in the tuner's hot loop.
The format is read from the magic number: ELF (32/64-bit, either byte order), Mach-O
(32/64-bit), COFF (regular and bigobj) and WebAssembly. llvm-size's rules per format:

- ELF (ELFObjectFile::isBerkeleyText / isBerkeleyData): text is the allocated sections
  that are executable or not writable (.text, .rodata, .eh_frame, ...); data the other
  allocated sections that occupy file space (.data, ...); bss the allocated NOBITS ones.
- Mach-O (printDarwinSegmentSizes): llvm-size prints ``__TEXT __DATA __OBJC others``.
  In an object file (MH_OBJECT) all sections sit in one unnamed segment and each is
  counted by the segment name it carries; in a linked image each segment by its vmsize.
  ``__DATA`` holds the zero-fill sections too (__bss, __common), so there is no bss
  column; ``others`` is everything else (__LD,__compact_unwind; i386's
  __IMPORT,__pointers; __DWARF).
- COFF (the generic path): sections with IMAGE_SCN_CNT_CODE are text, with
  CNT_INITIALIZED_DATA data (.data, .rdata, .xdata, .pdata), with
  CNT_UNINITIALIZED_DATA bss, each counted by its SizeOfRawData.
- WebAssembly: the payload of the code section is text, of the data section data
  (zero-initialized globals are bytes of the data section: wasm has no bss).

Binary size is ``text + data`` in every format: the first two numbers llvm-size prints.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from llmcompiler.errors import EvaluationError
from llmcompiler.llvm.target import COFF, ELF, MACHO, WASM

_T = TypeVar("_T")


@dataclass(frozen=True)
class BerkeleySize:
    """The numbers ``llvm-size-19 --format=berkeley`` prints for one object.

    Attributes:
        text: ELF/COFF/wasm text column; Mach-O ``__TEXT``.
        data: ELF/COFF/wasm data column; Mach-O ``__DATA`` (zero-fill sections included).
        bss: ELF/COFF bss column; 0 for Mach-O (in ``__DATA``) and wasm (in data).
        objc: Mach-O ``__OBJC`` (0 for C); 0 for other formats.
        others: Mach-O ``others``: sections of any other segment; 0 for other formats.
        format: the object format, as :mod:`llmcompiler.llvm.target` names it.
    """

    text: int
    data: int
    bss: int = 0
    objc: int = 0
    others: int = 0
    format: str = ELF

    @property
    def binary_size(self) -> int:
        """``text + data``: the project's definition of binary size, the first two
        numbers llvm-size prints. For Mach-O that is ``__TEXT + __DATA``: ``__OBJC`` is
        empty for C, and ``others`` is mostly unwind and debug metadata the linker
        rewrites (plus i386's non-lazy pointers). Unlike ELF and COFF, Mach-O's
        ``__DATA`` counts zero-initialized data, and wasm's data section holds it too."""
        return self.text + self.data


def berkeley_size(obj: bytes) -> BerkeleySize:
    """Return the sizes ``llvm-size-19 --format=berkeley`` prints for ``obj``.

    Raises:
        EvaluationError: ``obj`` is not an ELF, Mach-O, COFF or WebAssembly object, or
            its headers are truncated.
    """
    return _read(obj, _SIZE)


def undefined_symbols(obj: bytes) -> frozenset[str]:
    """Return the names of the symbols ``obj`` uses but does not define (what the linker
    must find elsewhere): exactly what ``llvm-nm-19 --undefined-only`` lists.

    Names are as the symbol table spells them: Mach-O and 32-bit Windows C symbols keep
    their leading underscore (``_memcpy``). Common symbols (a tentative ``int x;`` that
    the linker allocates) are defined, not undefined, in every format. Per format:

    - ELF: global and weak symbols in section SHN_UNDEF;
    - Mach-O: external N_UNDF symbols with value 0 (value > 0 is a common symbol);
    - COFF: external symbols in section 0 with value 0 (value > 0 is a common symbol),
      and weak externals unless they may resolve to their default (SEARCH_ALIAS: an
      ``__attribute__((weak))`` declaration, which llvm-nm lists as defined weak);
    - wasm: the symbols the linking section's table marks WASM_SYM_UNDEFINED, named by
      their import when they carry no name of their own (memory imports such as
      ``__linear_memory`` are no symbols). A linked module has no linking section:
      llvm-nm then reads its symbols from the name section, and the imported functions
      and globals named there are the undefined ones (none in a shared library, whose
      symbols come from its exports).

    Raises:
        EvaluationError: as :func:`berkeley_size`.
    """
    return _read(obj, _UNDEFINED)


def function_sizes(obj: bytes) -> dict[str, int] | None:
    """Return {symbol name: bytes of code} for the functions an ELF object defines (each
    STT_FUNC symbol's st_size, as ``llvm-nm-19 -S`` prints it), or None for the other
    formats, whose symbol tables hold no sizes.

    Raises:
        EvaluationError: as :func:`berkeley_size`.
    """
    if _format(obj) != ELF:
        return None
    return _read(obj, {ELF: _elf_function_sizes})


def _read(obj: bytes, readers: dict[str, Callable[[bytes], _T]]) -> _T:
    """Run the reader for ``obj``'s format; a header that points past the end of ``obj``
    becomes an EvaluationError."""
    kind = _format(obj)
    try:
        return readers[kind](obj)
    except (struct.error, IndexError, ValueError) as exc:
        raise EvaluationError(f"truncated or malformed {kind} object file ({exc})") from None


# -- format detection (llvm::identify_magic) ----------------------------------------------

_MACHO_MAGIC = {
    b"\xce\xfa\xed\xfe": ("<", False),
    b"\xcf\xfa\xed\xfe": ("<", True),
    b"\xfe\xed\xfa\xce": (">", False),
    b"\xfe\xed\xfa\xcf": (">", True),
}
#: IMAGE_FILE_MACHINE_ values of the COFF objects LLVM writes: i386, AMD64, ARMNT,
#: ARM64, ARM64EC, ARM64X.
_COFF_MACHINES = {0x14C, 0x8664, 0x1C4, 0xAA64, 0xA641, 0xA64E}
#: ClassID of a bigobj COFF header (COFF::BigObjMagic).
_BIGOBJ_MAGIC = b"\xc7\xa1\xba\xd1\xee\xba\xa9\x4b\xaf\x20\xfa\xf6\x6a\xa4\xdc\xb8"


def _format(obj: bytes) -> str:
    """Return the object format of ``obj``, or raise EvaluationError naming what it is."""
    head = obj[:4]
    if head == b"\x7fELF" and len(obj) > 5 and obj[4] in (1, 2) and obj[5] in (1, 2):
        return ELF
    if head in _MACHO_MAGIC:
        return MACHO
    if head == b"\0asm":
        return WASM
    if head == b"\0\0\xff\xff" and obj[12:28] == _BIGOBJ_MAGIC:
        return COFF
    if len(obj) >= 20 and int.from_bytes(obj[:2], "little") in _COFF_MACHINES:
        return COFF
    raise EvaluationError(
        f"not an object file llmcompiler can read: {_describe(obj)}, not an ELF object "
        "file, nor a Mach-O, COFF or WebAssembly object"
    )


def _describe(obj: bytes) -> str:
    if not obj:
        return "an empty file"
    if obj[:2] in (b"\x01\xdf", b"\x01\xf7"):
        return "an XCOFF object (AIX)"
    if obj[:3] == b"\x03\xf0\x00":
        return "a GOFF object (z/OS)"
    if obj[:2] == b"MZ":
        return "a PE/DOS executable image"
    if obj[:4] == b"\xca\xfe\xba\xbe":
        return "a universal (fat) Mach-O file"
    if obj[:8] == b"!<arch>\n":
        return "an archive"
    if obj[:4] == b"BC\xc0\xde" or obj[:4] == b"\xde\xc0\x17\x0b":
        return "LLVM bitcode"
    if obj[:4] == b"\x7fELF":
        return "an ELF file with an invalid class or byte order"
    return f"unknown format (starts with {obj[:8]!r})"


def _table(obj: bytes, at: int, size: int) -> bytes:
    """The ``size`` bytes of a table at ``at``; ValueError when they run past the end."""
    if at + size > len(obj):
        raise ValueError(f"a table at {at} of {size} bytes ends past the end of the file")
    return obj[at : at + size]


def _cstr(obj: bytes, at: int, end: int | None = None) -> str:
    """The NUL-terminated string at ``at`` (ending at ``end`` at most)."""
    if at >= len(obj):
        raise ValueError(f"a string at {at} is past the end of the file")
    stop = obj.find(b"\0", at, end)
    return obj[at : stop if stop >= 0 else end].decode(errors="replace")


# -- ELF ------------------------------------------------------------------------------------

_SHF_WRITE, _SHF_ALLOC, _SHF_EXECINSTR = 0x1, 0x2, 0x4
_SHT_SYMTAB, _SHT_NOBITS = 2, 8
_STB_GLOBAL, _STB_WEAK = 1, 2


#: By (EI_CLASS, EI_DATA): the file header's (e_shoff, e_shentsize, e_shnum); a whole
#: section header; its (sh_type, sh_flags, sh_size); a symbol's (name, info, shndx).
_ELF_LAYOUT = {
    (elf_class, data): (
        struct.Struct(endian + ("40xQ10xHH" if elf_class == 2 else "32xI10xHH")),
        struct.Struct(endian + ("IIQQQQIIQQ" if elf_class == 2 else "IIIIIIIIII")),
        struct.Struct(endian + ("4xIQ16xQ24x" if elf_class == 2 else "4xII8xI16x")),
        struct.Struct(endian + ("IBxH16x" if elf_class == 2 else "I8xBxH")),
    )
    for elf_class in (1, 2)
    for data, endian in ((1, "<"), (2, ">"))
}


def _elf_sections(obj: bytes, brief: bool = False) -> list[tuple[int, ...]]:
    """Section headers, for either class and byte order: whole (name, type, flags, addr,
    offset, size, link, info, align, entsize), or when ``brief`` (type, flags, size).
    e_shnum 0 means the count is in section 0's sh_size (more than 0xff00 sections)."""
    file_header, whole, short, _ = _ELF_LAYOUT[obj[4], obj[5]]
    shoff, shentsize, shnum = file_header.unpack_from(obj)
    header = short if brief else whole
    if shoff == 0:
        return []
    if shnum == 0:
        shnum = whole.unpack_from(obj, shoff)[5]
    if shentsize == header.size:
        return list(header.iter_unpack(_table(obj, shoff, shnum * shentsize)))
    return [header.unpack_from(obj, shoff + i * shentsize) for i in range(shnum)]


def _elf_size(obj: bytes) -> BerkeleySize:
    text = data = bss = 0
    for sh_type, flags, size in _elf_sections(obj, brief=True):
        if not flags & _SHF_ALLOC:
            continue
        if flags & _SHF_EXECINSTR or not flags & _SHF_WRITE:
            text += size
        elif sh_type != _SHT_NOBITS:
            data += size
        else:
            bss += size
    return BerkeleySize(text, data, bss)


def _elf_undefined(obj: bytes) -> frozenset[str]:
    symbol = _ELF_LAYOUT[obj[4], obj[5]][3]
    sections = _elf_sections(obj)
    names = set()
    for _, sh_type, _, _, offset, size, link, _, _, entsize in sections:
        if sh_type != _SHT_SYMTAB or not entsize:
            continue
        strtab = sections[link][4]
        for at in range(offset + entsize, offset + size, entsize):  # entry 0 is null
            st_name, st_info, st_shndx = symbol.unpack_from(obj, at)
            if st_shndx == 0 and st_name and st_info >> 4 in (_STB_GLOBAL, _STB_WEAK):
                names.add(_cstr(obj, strtab + st_name))
    return frozenset(names)


#: A symbol's (name, info, shndx, size) for 64-bit and (name, size, info, shndx) for 32-bit.
_ELF_SIZED_SYMBOL = {
    (elf_class, data): struct.Struct(endian + ("IBxH8xQ" if elf_class == 2 else "I4xIBxH"))
    for elf_class in (1, 2)
    for data, endian in ((1, "<"), (2, ">"))
}
_STT_FUNC = 2


def _elf_function_sizes(obj: bytes) -> dict[str, int]:
    elf_class = obj[4]
    symbol = _ELF_SIZED_SYMBOL[elf_class, obj[5]]
    sections = _elf_sections(obj)
    sizes: dict[str, int] = {}
    for _, sh_type, _, _, offset, size, link, _, _, entsize in sections:
        if sh_type != _SHT_SYMTAB or not entsize:
            continue
        strtab = sections[link][4]
        for at in range(offset + entsize, offset + size, entsize):
            fields = symbol.unpack_from(obj, at)
            if elf_class == 2:
                st_name, st_info, st_shndx, st_size = fields
            else:
                st_name, st_size, st_info, st_shndx = fields
            if st_shndx and st_name and st_info & 0xF == _STT_FUNC:
                sizes[_cstr(obj, strtab + st_name)] = st_size
    return sizes


# -- Mach-O ---------------------------------------------------------------------------------

_MH_OBJECT = 0x1
_LC_SEGMENT, _LC_SYMTAB, _LC_SEGMENT_64 = 0x1, 0x2, 0x19
_N_STAB, _N_TYPE, _N_EXT, _N_UNDF = 0xE0, 0x0E, 0x01, 0x0
#: By (byte order, 64-bit): the segment command, its (segname, vmsize, nsects), its
#: size, and each section header after it as (segname, size).
_MACHO_SEGMENT = {
    (endian, is64): (
        _LC_SEGMENT_64 if is64 else _LC_SEGMENT,
        struct.Struct(endian + ("8x16s8xQ24xI" if is64 else "8x16s4xI16xI")),
        72 if is64 else 56,
        struct.Struct(endian + ("16x16s8xQ32x" if is64 else "16x16s4xI28x")),
    )
    for endian, is64 in _MACHO_MAGIC.values()
}


def _macho_commands(obj: bytes) -> tuple[str, bool, int, list[tuple[int, int]]]:
    """(byte order, 64-bit, filetype, [(cmd, offset)]) of a Mach-O file."""
    endian, is64 = _MACHO_MAGIC[obj[:4]]
    filetype, ncmds = struct.unpack_from(endian + "II", obj, 12)
    at, commands = (32 if is64 else 28), []
    for _ in range(ncmds):
        cmd, cmdsize = struct.unpack_from(endian + "II", obj, at)
        if cmdsize < 8:
            raise ValueError(f"load command {cmd:#x} of size {cmdsize}")
        commands.append((cmd, at))
        at += cmdsize
    return endian, is64, filetype, commands


def _macho_size(obj: bytes) -> BerkeleySize:
    endian, is64, filetype, commands = _macho_commands(obj)
    segment_cmd, segment, first, section = _MACHO_SEGMENT[endian, is64]
    totals = {b"__TEXT": 0, b"__DATA": 0, b"__OBJC": 0}
    others = 0
    for cmd, at in commands:
        if cmd != segment_cmd:
            continue
        segname, vmsize, nsects = segment.unpack_from(obj, at)
        if filetype == _MH_OBJECT:  # one unnamed segment: count each section by its own
            start = at + first
            sizes = list(section.iter_unpack(_table(obj, start, nsects * section.size)))
        else:
            sizes = [(segname, vmsize)]
        for name, size in sizes:
            name = name.split(b"\0", 1)[0]
            if name in totals:
                totals[name] += size
            else:
                others += size
    return BerkeleySize(totals[b"__TEXT"], totals[b"__DATA"], 0, totals[b"__OBJC"], others, MACHO)


def _macho_undefined(obj: bytes) -> frozenset[str]:
    endian, is64, _, commands = _macho_commands(obj)
    # n_strx, n_type, n_value of nlist (strx, type, sect, desc, value)
    nlist = struct.Struct(endian + ("IB3xQ" if is64 else "IB3xI"))
    names = set()
    for cmd, at in commands:
        if cmd != _LC_SYMTAB:
            continue
        symoff, nsyms, stroff, strsize = struct.unpack_from(endian + "IIII", obj, at + 8)
        for n_strx, n_type, n_value in nlist.iter_unpack(_table(obj, symoff, nsyms * nlist.size)):
            if (
                not n_type & _N_STAB
                and n_type & _N_EXT
                and n_type & _N_TYPE == _N_UNDF
                and n_value == 0
            ):
                names.add(_cstr(obj, stroff + n_strx, stroff + strsize))
    return frozenset(names)


# -- COFF -----------------------------------------------------------------------------------

_SCN_CNT_CODE, _SCN_CNT_INITIALIZED_DATA, _SCN_CNT_UNINITIALIZED_DATA = 0x20, 0x40, 0x80
_SYM_CLASS_EXTERNAL, _SYM_CLASS_WEAK_EXTERNAL = 2, 105
_WEAK_EXTERN_SEARCH_ALIAS = 3


def _coff_header(obj: bytes) -> tuple[int, int, int, int, int]:
    """(first section header, section count, symbol table, symbol count, symbol size)
    for a regular or a bigobj COFF object."""
    if obj[:4] == b"\0\0\xff\xff":  # bigobj: 32-bit section count, 20-byte symbols
        nsections, symtab, nsymbols = struct.unpack_from("<III", obj, 44)
        return 56, nsections, symtab, nsymbols, 20
    nsections, _, symtab, nsymbols, optional = struct.unpack_from("<HIIIH", obj, 2)
    return 20 + optional, nsections, symtab, nsymbols, 18


def _coff_size(obj: bytes) -> BerkeleySize:
    first, nsections, *_ = _coff_header(obj)
    text = data = bss = 0
    # SizeOfRawData, Characteristics of each 40-byte section header
    for size, flags in struct.iter_unpack("<16xI16xI", _table(obj, first, 40 * nsections)):
        if flags & _SCN_CNT_CODE:
            text += size
        elif flags & _SCN_CNT_INITIALIZED_DATA:
            data += size
        elif flags & _SCN_CNT_UNINITIALIZED_DATA:
            bss += size
    return BerkeleySize(text, data, bss, format=COFF)


def _coff_undefined(obj: bytes) -> frozenset[str]:
    _, _, symtab, nsymbols, entry = _coff_header(obj)
    # name, value, section number, storage class, aux count
    symbol = struct.Struct("<8sIi2xBB" if entry == 20 else "<8sIh2xBB")
    strtab = symtab + nsymbols * entry
    names, i = set(), 0
    while i < nsymbols:
        at = symtab + i * entry
        name, value, section, storage, naux = symbol.unpack_from(obj, at)
        if storage == _SYM_CLASS_EXTERNAL:
            undefined = section == 0 and value == 0
        else:  # a weak external's first aux record: tag index, characteristics
            undefined = (
                storage == _SYM_CLASS_WEAK_EXTERNAL
                and naux > 0
                and struct.unpack_from("<I", obj, at + entry + 4)[0] != _WEAK_EXTERN_SEARCH_ALIAS
            )
        if undefined:
            if name[:4] == b"\0\0\0\0":
                names.add(_cstr(obj, strtab + int.from_bytes(name[4:], "little")))
            else:
                names.add(name.split(b"\0", 1)[0].decode(errors="replace"))
        i += 1 + naux
    return frozenset(names)


# -- WebAssembly ----------------------------------------------------------------------------

_WASM_IMPORT, _WASM_CODE, _WASM_DATA = 2, 10, 11
_WASM_FUNCTION, _WASM_TABLE, _WASM_MEMORY, _WASM_GLOBAL, _WASM_TAG = 0, 1, 2, 3, 4
_WASM_SYMBOL_TABLE = 8  # linking subsection
_SYMTAB_DATA, _SYMTAB_SECTION = 1, 3  # symbol kinds without an import of their own
_SYMTAB_IMPORT_KIND = {0: _WASM_FUNCTION, 2: _WASM_GLOBAL, 4: _WASM_TAG, 5: _WASM_TABLE}
_WASM_SYM_UNDEFINED, _WASM_SYM_EXPLICIT_NAME = 0x10, 0x40
_WASM_NAMES_FUNCTION, _WASM_NAMES_GLOBAL = 1, 7  # name section subsections


def _leb(obj: bytes, at: int) -> tuple[int, int]:
    """(value, next offset) of the unsigned LEB128 number at ``at``."""
    value = shift = 0
    while True:
        byte = obj[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def _wasm_name(obj: bytes, at: int) -> tuple[str, int]:
    length, at = _leb(obj, at)
    return obj[at : at + length].decode(errors="replace"), at + length


def _wasm_sections(obj: bytes) -> list[tuple[int, int, int]]:
    """(id, payload offset, payload size) of each section after the 8-byte header."""
    sections, at = [], 8
    while at < len(obj):
        section_id = obj[at]
        size, at = _leb(obj, at + 1)
        if at + size > len(obj):
            raise ValueError(f"section {section_id} ends past the end of the file")
        sections.append((section_id, at, size))
        at += size
    return sections


def _wasm_size(obj: bytes) -> BerkeleySize:
    text = data = 0
    for section_id, _, size in _wasm_sections(obj):
        if section_id == _WASM_CODE:
            text += size
        elif section_id == _WASM_DATA:
            data += size
    return BerkeleySize(text, data, format=WASM)


def _wasm_imports(obj: bytes, at: int) -> dict[int, list[str]]:
    """The field names of an import section's payload at ``at``, by import kind."""
    imports: dict[int, list[str]] = {kind: [] for kind in range(5)}
    count, at = _leb(obj, at)
    for _ in range(count):
        _, at = _wasm_name(obj, at)  # module
        field, at = _wasm_name(obj, at)
        kind = obj[at]
        at += 1
        if kind == _WASM_FUNCTION:
            _, at = _leb(obj, at)  # type index
        elif kind in (_WASM_TABLE, _WASM_MEMORY):
            if kind == _WASM_TABLE:
                at += 1  # element type
            flags, at = _leb(obj, at)
            _, at = _leb(obj, at)  # minimum
            if flags & 1:
                _, at = _leb(obj, at)  # maximum
        elif kind == _WASM_GLOBAL:
            at += 2  # value type, mutability
        elif kind == _WASM_TAG:
            _, at = _leb(obj, at + 1)  # attribute, type index
        else:
            raise ValueError(f"unknown import kind {kind}")
        imports[kind].append(field)
    return imports


def _wasm_undefined(obj: bytes) -> frozenset[str]:
    imports: dict[int, list[str]] = {kind: [] for kind in range(5)}
    symtab, names, dylink = None, None, False
    for section_id, at, size in _wasm_sections(obj):
        if section_id == _WASM_IMPORT:
            imports = _wasm_imports(obj, at)
        elif section_id == 0:
            name, body = _wasm_name(obj, at)
            if name == "linking":
                symtab = _wasm_symtab(obj, body, at + size)
            elif name == "name":
                names = (body, at + size)
            dylink = dylink or name.startswith("dylink")
    if symtab is not None:  # an object file
        return frozenset(
            name if name is not None else imports[_SYMTAB_IMPORT_KIND[kind]][index]
            for kind, flags, index, name in symtab
            if flags & _WASM_SYM_UNDEFINED
        )
    if names is None or dylink:  # llvm-nm takes a shared library's symbols from exports
        return frozenset()
    return _wasm_imported_names(obj, *names, imports)


def _wasm_imported_names(
    obj: bytes, at: int, end: int, imports: dict[int, list[str]]
) -> frozenset[str]:
    """The undefined symbols llvm-nm makes for a linked module from its name section:
    the names given to imported functions and globals."""
    imported = {
        _WASM_NAMES_FUNCTION: len(imports[_WASM_FUNCTION]),
        _WASM_NAMES_GLOBAL: len(imports[_WASM_GLOBAL]),
    }
    names = set()
    while at < end:
        subsection = obj[at]
        size, at = _leb(obj, at + 1)
        if subsection in imported:
            count, entry = _leb(obj, at)
            for _ in range(count):
                index, entry = _leb(obj, entry)
                name, entry = _wasm_name(obj, entry)
                if index < imported[subsection]:
                    names.add(name)
        at += size
    return frozenset(names)


def _wasm_symtab(obj: bytes, at: int, end: int) -> list[tuple[int, int, int, str | None]]:
    """(kind, flags, element index, name or None when named by its import) of each entry
    of the symbol table in a linking section's payload from ``at`` (after its name)."""
    _, at = _leb(obj, at)  # version
    while at < end:
        subsection = obj[at]
        size, at = _leb(obj, at + 1)
        if subsection != _WASM_SYMBOL_TABLE:
            at += size
            continue
        symbols = []
        count, at = _leb(obj, at)
        for _ in range(count):
            kind = obj[at]
            flags, at = _leb(obj, at + 1)
            index, name = 0, None
            if kind == _SYMTAB_DATA:
                name, at = _wasm_name(obj, at)
                if not flags & _WASM_SYM_UNDEFINED:
                    for _ in range(3):  # segment, offset, size
                        _, at = _leb(obj, at)
            elif kind == _SYMTAB_SECTION:
                _, at = _leb(obj, at)
            elif kind in _SYMTAB_IMPORT_KIND:
                index, at = _leb(obj, at)
                if not flags & _WASM_SYM_UNDEFINED or flags & _WASM_SYM_EXPLICIT_NAME:
                    name, at = _wasm_name(obj, at)
            else:
                raise ValueError(f"unknown symbol kind {kind}")
            symbols.append((kind, flags, index, name))
        return symbols
    return []


_SIZE: dict[str, Callable[[bytes], BerkeleySize]] = {
    ELF: _elf_size,
    MACHO: _macho_size,
    COFF: _coff_size,
    WASM: _wasm_size,
}
_UNDEFINED: dict[str, Callable[[bytes], frozenset[str]]] = {
    ELF: _elf_undefined,
    MACHO: _macho_undefined,
    COFF: _coff_undefined,
    WASM: _wasm_undefined,
}
