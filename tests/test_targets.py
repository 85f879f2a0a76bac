"""Every target: triples read as LLVM reads them, code generated with the module's own
target and clang's relocation model for it, and size, opt and optimize on modules of
the 13 triples the project supports; instruction count tuned without code generation."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import FIXTURES
from llmcompiler.cli import main
from llmcompiler.llvm import berkeley_size
from llmcompiler.llvm.codegen import relocation_model
from llmcompiler.llvm.target import COFF, ELF, MACHO, WASM, target
from llmcompiler.llvm.toolchain import llc_object, opt, tool
from llmcompiler.program import program_from_ir

#: triple -> (object format, relocation model clang-19 uses, family)
TRIPLES = {
    "x86_64-linux-gnu": (ELF, "pic", "x86_64"),
    "x86_64-apple-macosx": (MACHO, "pic", "x86_64"),
    "x86_64-windows-msvc": (COFF, "pic", "x86_64"),
    "i386-linux-gnu": (ELF, "pic", "i386"),
    "aarch64-linux-gnu": (ELF, "pic", "aarch64"),
    "armv7-linux-gnueabihf": (ELF, "pic", "arm"),
    "thumbv7em-none-eabi": (ELF, "static", "arm"),
    "riscv32-unknown-elf": (ELF, "static", "riscv32"),
    "riscv64-linux-gnu": (ELF, "pic", "riscv64"),
    "wasm32-wasi": (WASM, "static", "wasm32"),
    "powerpc64le-linux-gnu": (ELF, "pic", "powerpc64le"),
    "s390x-linux-gnu": (ELF, "pic", "s390x"),
    "mips-linux-gnu": (ELF, "pic", "mips"),
}

FREESTANDING = FIXTURES.parent / "freestanding.c"


@pytest.mark.parametrize("triple", TRIPLES)
def test_a_triple_is_read_as_llvm_reads_it(triple):
    fmt, model, family = TRIPLES[triple]
    t = target(triple)
    assert (t.object_format, relocation_model(triple), t.family) == (fmt, model, family)
    assert t.bare_metal == (triple in ("thumbv7em-none-eabi", "riscv32-unknown-elf"))


def test_normalized_parts():
    t = target("aarch64-linux-gnu")
    assert (t.arch, t.vendor, t.os, t.environment) == ("aarch64", "unknown", "linux", "gnu")
    t = target("thumbv7em-none-eabi")
    assert (t.arch, t.os, t.environment) == ("thumbv7em", "none", "eabi")


def _module(triple: str, tmp_path, source=FREESTANDING, flags=("-ffreestanding",)) -> str:
    out = tmp_path / f"{triple}{''.join(flags)}.ll"
    argv = [tool("clang"), f"--target={triple}", *flags, "-Oz", "-Xclang"]
    argv += ["-disable-llvm-passes", "-emit-llvm", "-S", "-c", str(source), "-o", str(out)]
    subprocess.run(argv, check=True, capture_output=True)
    return str(out)


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    root = tmp_path_factory.mktemp("targets")
    return {triple: _module(triple, root) for triple in TRIPLES}


def _llc_oz_size(path: str, triple: str) -> tuple[int, int]:
    """(instcount, size) of -Oz by the reference tools, at clang's relocation model."""
    from conftest import count_ir_text

    with open(path, "rb") as f:
        ir = opt(f.read(), "default<Oz>", triple=triple)
    args = [tool("llc"), "-filetype=obj", f"-relocation-model={relocation_model(triple)}"]
    obj = subprocess.run([*args, "-", "-o", "-"], input=ir, capture_output=True, check=True)
    return count_ir_text(ir.decode()), berkeley_size(obj.stdout).binary_size


@pytest.mark.parametrize("triple", TRIPLES)
def test_size_of_every_target_equals_the_reference_tools(triple, modules, capsys):
    assert main(["size", modules[triple], "--json", "--no-cache"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["oz"]["instcount"], row["oz"]["size"]) == _llc_oz_size(modules[triple], triple)


@pytest.mark.parametrize("triple", TRIPLES)
def test_the_fast_emitter_agrees_with_llc_on_every_target(triple, modules, capsys):
    assert main(["size", modules[triple], "--json", "--no-cache", "--fast-size"]) == 0
    (fast,) = json.loads(capsys.readouterr().out)
    assert main(["size", modules[triple], "--json", "--no-cache"]) == 0
    (exact,) = json.loads(capsys.readouterr().out)
    assert fast["oz"] == exact["oz"]


@pytest.mark.parametrize("triple", ["thumbv7em-none-eabi", "wasm32-wasi", "x86_64-apple-macosx"])
def test_opt_writes_an_object_of_the_modules_own_format(triple, modules, tmp_path):
    out = tmp_path / "x.o"
    assert main(["opt", modules[triple], "-p", "default<Oz>", "-o", str(out)]) == 0
    magic = out.read_bytes()[:4]
    expected = {ELF: b"\x7fELF", WASM: b"\0asm", MACHO: b"\xcf\xfa\xed\xfe"}
    assert magic == expected[TRIPLES[triple][0]]


@pytest.mark.parametrize("objective", ["size", "instcount"])
@pytest.mark.parametrize("triple", TRIPLES)
def test_optimize_tunes_every_target(triple, objective, modules, capsys):
    argv = ["optimize", modules[triple], "--objective", objective, "--evaluations", "30"]
    assert main([*argv, "--json", "--seed", "1"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    key = "size" if objective == "size" else "instcount"
    assert row["best"][key] <= row["oz"][key]
    assert row["best"]["size"] > 0 and row["oz"]["size"] == _llc_oz_size(modules[triple], triple)[1]


#: A module whose code generation fails (an inline-assembly statement the assembler
#: rejects), as LLVM 19 fails on some real modules: opt runs it, llc-19 does not.
NO_CODEGEN = """\
target triple = "x86_64-pc-linux-gnu"
define internal i32 @twice(i32 %x) {
  %y = mul i32 %x, 2
  ret i32 %y
}
define i32 @f(i32 %x) minsize optsize {
entry:
  %p = alloca i32
  store i32 %x, ptr %p
  %v = load i32, ptr %p
  %a = call i32 @twice(i32 %v)
  %b = add i32 %a, 2
  call void asm sideeffect "not_an_instruction", ""()
  ret i32 %b
}
"""


def test_instcount_is_tuned_where_code_generation_fails(tmp_path, capsys):
    path = tmp_path / "nocodegen.ll"
    path.write_text(NO_CODEGEN)
    program = program_from_ir(NO_CODEGEN.encode(), "nocodegen.ll")
    with pytest.raises(Exception, match="invalid instruction mnemonic"):
        llc_object(program.bitcode)
    argv = ["optimize", str(path), "--objective", "instcount", "--evaluations", "40"]
    assert main([*argv, "--json", "--no-cache"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["oz"]["size"] is None and row["best"]["size"] is None
    assert 0 < row["best"]["instcount"] <= row["oz"]["instcount"]
    assert main([*argv, "--no-cache"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[1].split()[1] == "-"  # the -Oz size column: no size, not a number


def test_size_gives_one_clear_error_where_code_generation_fails(tmp_path, capsys):
    path = tmp_path / "nocodegen.ll"
    path.write_text(NO_CODEGEN)
    assert main(["optimize", str(path), "--evaluations", "20", "--no-cache"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (
        f"llmc: error: {path}: -Oz fails: error: llc-19 failed: <inline asm>:1:2: error: "
        "invalid instruction mnemonic 'not_an_instruction'"
    )


@pytest.mark.parametrize("triple", TRIPLES)
def test_c_files_compile_for_every_target(triple, tmp_path, capsys):
    assert main(["size", "--target", triple, str(FREESTANDING), "--json", "--no-cache"]) == 0
    (from_c,) = json.loads(capsys.readouterr().out)
    module = _module(triple, tmp_path, flags=())  # what clang-19 --target gives, by hand
    assert main(["size", module, "--json", "--no-cache"]) == 0
    (from_ir,) = json.loads(capsys.readouterr().out)
    assert (from_c["input"], from_c["oz"]) == (from_ir["input"], from_ir["oz"])


# -- search data per target ----------------------------------------------------------


def test_each_target_gets_the_coreset_learned_for_it():
    from llmcompiler.search.coreset import coreset_for, describe_coreset, load_coreset

    aarch64 = coreset_for("aarch64-unknown-linux-gnu")
    assert aarch64.provenance["target"] == "aarch64" and aarch64.provenance["fits"]
    assert aarch64.pipelines != load_coreset().pipelines
    mips = coreset_for("mips-unknown-linux-gnu")  # none learned: the x86-64 one, said so
    assert mips.pipelines == load_coreset().pipelines and not mips.provenance["fits"]
    assert describe_coreset(mips, "mips-unknown-linux-gnu") == (
        f"no coreset learned for mips-unknown-linux-gnu yet: using the x86_64 one "
        f"({len(mips.pipelines)} lists)"
    )
    assert coreset_for("x86_64-pc-linux-gnu").provenance["fits"]


def test_each_objective_gets_the_coreset_learned_for_it():
    from llmcompiler.search.coreset import coreset_for, load_coreset

    size = coreset_for("x86_64-pc-linux-gnu")
    instcount = coreset_for("x86_64-pc-linux-gnu", "instcount")
    assert size.pipelines == load_coreset().pipelines
    assert (size.provenance["objective"], instcount.provenance["objective"]) == (
        "size",
        "instcount",
    )
    assert instcount.pipelines != size.pipelines and instcount.provenance["fits"]
    # a family without coresets of its own gets the x86-64 one for the objective ...
    mips = coreset_for("mips-unknown-linux-gnu", "instcount")
    assert mips.pipelines == instcount.pipelines and not mips.provenance["fits"]
    # ... and one with a size coreset of its own keeps it: it fits the target better
    aarch64 = coreset_for("aarch64-unknown-linux-gnu", "instcount")
    assert aarch64.pipelines == coreset_for("aarch64-unknown-linux-gnu").pipelines


def test_coreset_show_prints_the_one_for_the_objective(capsys):
    assert main(["coreset", "show", "--objective", "instcount"]) == 0
    from llmcompiler.search.coreset import coreset_for

    out = capsys.readouterr().out
    head, _, lists = out.partition("}\n")
    assert json.loads(head + "}")["objective"] == "instcount"
    assert tuple(lists.splitlines()) == coreset_for("", "instcount").pipelines


def test_optimize_says_which_coreset_it_used(modules, capsys):
    argv = ["optimize", modules["aarch64-linux-gnu"], "--evaluations", "30", "--no-cache"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "llmc: note: coreset learned on aarch64 (" in err
    assert main([*argv, "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["triple"], row["coreset"]) == ("aarch64-unknown-linux-gnu", "aarch64")
    assert main(["optimize", modules["mips-linux-gnu"], "--evaluations", "30", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["coreset"] == "x86_64"


def test_a_coreset_is_learned_per_target(tmp_path):
    from llmcompiler.search.coreset import build_coreset
    from llmcompiler.search.tunedb import TuneDB

    db = TuneDB(tmp_path / "t.sqlite")
    row = {
        "status": "ok",
        "lists": [{"pipeline": "L1", "size": 1, "instcount": 1, "improvement_pct": 5.0}],
    }
    db.record({**row, "hash": "a", "name": "a.c", "triple": "aarch64-unknown-linux-gnu"})
    db.record({**row, "hash": "b", "name": "b.c", "triple": "arm64-apple-ios"})
    coreset, _ = build_coreset(db, k=4)
    assert coreset.provenance["target"] == "aarch64"  # one family, two spellings
    db.record({**row, "hash": "c", "name": "c.c", "triple": "thumbv7em-unknown-none-eabi"})
    with pytest.raises(Exception, match=r"several targets \(aarch64, arm\)"):
        build_coreset(db, k=4)
