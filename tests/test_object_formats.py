"""Object sizes and undefined symbols of every object format, against llvm-size-19 and
llvm-nm-19 on objects that clang-19, llvm-mc-19 and the LLVM linkers write."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from llmcompiler.errors import EvaluationError
from llmcompiler.llvm import BerkeleySize, berkeley_size
from llmcompiler.llvm.objsize import undefined_symbols
from llmcompiler.llvm.target import Target
from llmcompiler.llvm.toolchain import llvm_size, tool

#: Every kind of section and symbol llvm-size and llvm-nm tell apart: code, a const table
#: (rodata), initialized data, zero-initialized data (bss, a static too), a common
#: symbol, a string, calls to an undefined function and a weak undefined one, an
#: undefined variable and a weak definition.
SOURCE = r"""
extern int ext_func(int);
extern int ext_data;
extern int weak_ext(void) __attribute__((weak));
const int table[16] = {1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597};
int counter = 7;
int zeroed[32];
__attribute__((common)) int shared_common[8];
static char scratch[48];
__attribute__((weak)) int weakling(void) { return 1; }
static const char *const greeting = "hello, object formats";
int lookup(int i) { return table[i & 15] + zeroed[i & 31] + greeting[i & 7] + scratch[i & 47]; }
int bump(int x) {
  scratch[x & 47] = (char)x;
  counter += ext_func(x) + ext_data + shared_common[x & 7];
  return weak_ext ? weak_ext() : counter;
}
"""

TRIPLES = [
    "x86_64-linux-gnu",
    "i386-linux-gnu",
    "aarch64-linux-gnu",
    "armv7-linux-gnueabihf",
    "thumbv7em-none-eabi",
    "riscv32-unknown-elf",
    "riscv64-linux-gnu",
    "mips-linux-gnu",  # big-endian ELF32
    "s390x-linux-gnu",  # big-endian ELF64
    "powerpc64-linux-gnu",  # big-endian ELF64
    "powerpc64le-linux-gnu",
    "x86_64-apple-macosx",
    "arm64-apple-ios",
    "i386-apple-macosx",  # 32-bit Mach-O
    "armv7-apple-ios",
    "x86_64-windows-msvc",
    "i686-windows-msvc",
    "aarch64-windows-msvc",
    "x86_64-w64-windows-gnu",
    "wasm32-wasi",
    "wasm32-unknown-unknown",
]
#: With debug info: ELF's .debug_* are not allocated, Mach-O's __DWARF is "others",
#: COFF's .debug$S is initialized data, wasm's are custom sections.
DEBUG_TRIPLES = ["powerpc64-linux-gnu", "x86_64-apple-macosx", "x86_64-windows-msvc", "wasm32-wasi"]


@pytest.fixture(scope="module")
def objects(tmp_path_factory) -> dict[tuple[str, bool], Path]:
    """The fixture source compiled for every triple, plain and with -g."""
    folder = tmp_path_factory.mktemp("objects")
    source = folder / "fixture.c"
    source.write_text(SOURCE)
    built = {}
    for triple, debug in [(t, False) for t in TRIPLES] + [(t, True) for t in DEBUG_TRIPLES]:
        out = folder / f"{triple}{'-g' if debug else ''}.o"
        flags = ["-g"] if debug else []
        subprocess.run(
            [tool("clang"), f"--target={triple}", "-Oz", *flags, "-c", str(source), "-o", str(out)],
            check=True,
        )
        built[triple, debug] = out
    return built


def reference_size(path: Path, object_format: str) -> BerkeleySize:
    """What llvm-size-19 --format=berkeley prints, column by column."""
    lines = subprocess.run(
        [tool("llvm-size"), "--format=berkeley", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    header = lines[0].split()
    columns = dict(zip(header[: header.index("dec")], map(int, lines[1].split())))
    if "__TEXT" in columns:
        return BerkeleySize(
            columns["__TEXT"],
            columns["__DATA"],
            objc=columns["__OBJC"],
            others=columns["others"],
            format=object_format,
        )
    return BerkeleySize(columns["text"], columns["data"], columns["bss"], format=object_format)


def reference_undefined(path: Path) -> frozenset[str]:
    out = subprocess.run(
        [tool("llvm-nm"), "--undefined-only", "--format=just-symbols", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return frozenset(out.split())


@pytest.mark.parametrize(
    "triple, debug", [(t, False) for t in TRIPLES] + [(t, True) for t in DEBUG_TRIPLES]
)
def test_equal_to_llvm_size_and_nm(objects, triple, debug):
    path = objects[triple, debug]
    obj = path.read_bytes()
    size = berkeley_size(obj)
    assert size == reference_size(path, Target.parse(triple).object_format)
    assert (size.text, size.data, size.bss) == llvm_size(path)
    undefined = undefined_symbols(obj)
    assert undefined == reference_undefined(path)
    assert any(name.endswith("ext_func") for name in undefined)


def test_what_each_format_counts(objects):
    """The columns are llvm-size's, not one meaning across formats: Mach-O's __DATA holds
    the zero-fill sections, COFF's data holds .rdata (and .xdata/.pdata), Mach-O's others
    holds arm64's __LD,__compact_unwind, wasm puts zeroed globals in its data section."""
    zero_filled = 4 * 32 + 48  # zeroed, scratch
    elf = berkeley_size(objects["x86_64-linux-gnu", False].read_bytes())
    assert elf.bss == zero_filled and elf.data == 4  # counter; table is text (.rodata)
    macho = berkeley_size(objects["x86_64-apple-macosx", False].read_bytes())
    assert macho.bss == 0 and macho.data == 4 + zero_filled
    assert berkeley_size(objects["arm64-apple-ios", False].read_bytes()).others > 0
    coff = berkeley_size(objects["x86_64-windows-msvc", False].read_bytes())
    assert coff.bss == zero_filled and coff.data > 4 + 4 * 16  # .data, .rdata, .xdata, .pdata
    wasm = berkeley_size(objects["wasm32-wasi", False].read_bytes())
    assert wasm.bss == 0 and wasm.data > zero_filled
    debug = berkeley_size(objects["x86_64-windows-msvc", True].read_bytes())
    assert debug.data > coff.data  # .debug$S is initialized data to llvm-size


def test_common_symbols_are_not_undefined(objects):
    """A tentative definition is allocated by the linker: neither llvm-nm -u nor we list
    it (wasm has no common symbols: clang makes it an undefined data symbol there)."""
    for triple in ("x86_64-linux-gnu", "x86_64-apple-macosx", "x86_64-windows-msvc"):
        names = undefined_symbols(objects[triple, False].read_bytes())
        assert not any(name.endswith("shared_common") for name in names), triple
    assert "shared_common" in undefined_symbols(objects["wasm32-wasi", False].read_bytes())


@pytest.mark.parametrize(
    "triple, directive",
    [
        ("x86_64-windows-msvc", '.section .text$f{},"xr"'),
        ("x86_64-linux-gnu", '.section .t{},"ax"'),
    ],
)
def test_more_than_65279_sections(tmp_path, triple, directive):
    """COFF bigobj and ELF's extended section count (e_shnum 0), written by llvm-mc-19."""
    source = tmp_path / "many.s"
    lines = [f"{directive.format(i)}\n.byte 1" for i in range(65300)]
    source.write_text("\n".join([*lines, ".data", ".long ext_sym", ""]))
    path = tmp_path / "many.o"
    subprocess.run(
        [tool("llvm-mc"), f"-triple={triple}", "-filetype=obj", str(source), "-o", str(path)],
        check=True,
    )
    obj = path.read_bytes()
    if triple.endswith("msvc"):
        assert obj[:4] == b"\0\0\xff\xff"  # bigobj
    object_format = Target.parse(triple).object_format
    assert (
        berkeley_size(obj)
        == reference_size(path, object_format)
        == BerkeleySize(65300, 4, format=object_format)
    )
    assert undefined_symbols(obj) == reference_undefined(path) == {"ext_sym"}


def _linker(name: str) -> str:
    path = shutil.which(f"{name}-19")
    if not path:
        pytest.skip(f"{name}-19 is not installed")
    return path


@pytest.mark.parametrize(
    "linker, triple, args",
    [
        (
            "ld64.lld",
            "arm64-apple-ios",
            ["-dylib", "-arch", "arm64", "-platform_version", "ios", "14.0", "14.0"],
        ),
        ("wasm-ld", "wasm32-wasi", ["--no-entry", "--export-all"]),
        ("wasm-ld", "wasm32-wasi", ["--no-entry", "--export-all", "--import-memory"]),
    ],
)
def test_linked_images(objects, tmp_path, linker, triple, args):
    """Mach-O images count whole segments (vmsize); a linked wasm module has no linking
    section, and llvm-nm takes its undefined symbols from the name section."""
    out = tmp_path / "linked"
    undefined = "-undefined dynamic_lookup" if linker == "ld64.lld" else "--allow-undefined"
    subprocess.run(
        [_linker(linker), *args, *undefined.split(), str(objects[triple, False]), "-o", str(out)],
        check=True,
    )
    obj = out.read_bytes()
    assert berkeley_size(obj) == reference_size(out, Target.parse(triple).object_format)
    assert undefined_symbols(obj) == reference_undefined(out)


def _compiled(tmp_path: Path, triple: str) -> bytes:
    source, out = tmp_path / "f.c", tmp_path / "f.o"
    source.write_text("int f(int x) { return x + 1; }\n")
    subprocess.run(
        [tool("clang"), f"--target={triple}", "-c", str(source), "-o", str(out)], check=True
    )
    return out.read_bytes()


@pytest.mark.parametrize(
    "triple, named", [("powerpc64-ibm-aix", "an XCOFF object"), ("s390x-ibm-zos", "a GOFF object")]
)
def test_formats_llmcompiler_cannot_read_are_named(tmp_path, triple, named):
    obj = _compiled(tmp_path, triple)
    for read in (berkeley_size, undefined_symbols):
        with pytest.raises(
            EvaluationError, match=f"not an object file llmcompiler can read: {named}"
        ):
            read(obj)


@pytest.mark.parametrize(
    "data, named",
    [
        (b"", "an empty file"),
        (b"MZ\x90\x00" + bytes(100), "a PE/DOS executable"),
        (b"\xca\xfe\xba\xbe" + bytes(100), "a universal"),
        (b"!<arch>\n" + bytes(100), "an archive"),
        (b"hello, world\n", r"unknown format \(starts with b'hello, w'\)"),
    ],
)
def test_non_objects_are_named(data, named):
    with pytest.raises(EvaluationError, match=f"not an object file llmcompiler can read: {named}"):
        berkeley_size(data)


@pytest.mark.parametrize("triple", ["x86_64-linux-gnu", "x86_64-apple-macosx", "i686-windows-msvc"])
def test_truncated_object(objects, triple):
    obj = objects[triple, False].read_bytes()
    with pytest.raises(EvaluationError, match="truncated or malformed"):
        undefined_symbols(obj[: len(obj) // 2])
