"""The ctypes binding against the reference tools: opt-19, llc-19, llvm-size-19."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import C_PROGRAMS, FIXTURES, NO_TLI_LIBCALLS, PIPELINES, count_ir_text
from llmcompiler.errors import EvaluationError, InvalidIRError, PipelineError
from llmcompiler.llvm import Module, TargetMachine, berkeley_size
from llmcompiler.llvm.toolchain import llc_object, llvm_size, opt


def _strip_header(ir: str) -> str:
    """Drop the lines naming the module, which differ between opt and us."""
    return "\n".join(
        ln for ln in ir.splitlines() if not ln.startswith(("; ModuleID", "source_filename"))
    )


def _run(module: Module, pipeline: str) -> Module:
    out = module.clone()
    if pipeline:
        out.run_passes(pipeline, TargetMachine(module.triple))
    return out


@pytest.mark.parametrize("name", C_PROGRAMS)
def test_instcount_and_ir_equal_opt(programs, name):
    program = programs[name]
    module = Module.parse(program.bitcode, name)
    for pipeline in PIPELINES:
        reference = opt(program.bitcode, pipeline or "verify").decode()
        with _run(module, pipeline) as ours:
            assert ours.instruction_count() == count_ir_text(reference), pipeline
            assert _strip_header(ours.to_text()) == _strip_header(reference), pipeline


@pytest.mark.parametrize("name", C_PROGRAMS)
def test_llc_size_path_equals_llvm_size(programs, name, tmp_path):
    program = programs[name]
    module = Module.parse(program.bitcode, name)
    for pipeline in PIPELINES[:3]:
        reference_ir = opt(program.bitcode, pipeline or "verify", text=False)
        obj = tmp_path / "ref.o"
        obj.write_bytes(llc_object(reference_ir))
        text, data, bss = llvm_size(obj)
        with _run(module, pipeline) as ours:
            ours_size = berkeley_size(llc_object(ours.to_bitcode()))
        assert (ours_size.text, ours_size.data, ours_size.bss) == (text, data, bss)
        assert ours_size.binary_size == text + data


@pytest.mark.parametrize("name", NO_TLI_LIBCALLS)
def test_fast_size_equals_llc_without_tli_libcalls(programs, name, tmp_path):
    program = programs[name]
    module = Module.parse(program.bitcode, name)
    tm = TargetMachine(module.triple)
    for pipeline in PIPELINES:
        with _run(module, pipeline) as ours:
            reference = tmp_path / "ref.o"
            reference.write_bytes(llc_object(ours.to_bitcode()))
            text, data, _ = llvm_size(reference)
            fast = berkeley_size(tm.emit_object(ours.clone()))
        assert fast.binary_size == text + data, pipeline


def test_fast_size_differs_where_llc_uses_library_info(programs):
    """Documented limit: the C API emitter has no target library info, so sqrt is a
    plain call there, while llc inlines sqrtsd with an errno fallback."""
    program = programs["float.c"]
    module = Module.parse(program.bitcode, "float.c")
    with _run(module, "default<Oz>") as ours:
        fast = berkeley_size(TargetMachine(module.triple).emit_object(ours.clone()))
        exact = berkeley_size(llc_object(ours.to_bitcode()))
    assert fast.binary_size != exact.binary_size


def test_berkeley_size_counts_data_and_bss(tmp_path):
    source = tmp_path / "d.c"
    source.write_text(
        "int zero[100]; int table[50] = {1}; const int ro[30] = {2};\n"
        "int get(int i) { return zero[i] + table[i] + ro[i]; }\n"
    )
    obj = tmp_path / "d.o"
    subprocess.run(["clang-19", "-c", "-Oz", str(source), "-o", str(obj)], check=True)
    size = berkeley_size(obj.read_bytes())
    assert (size.text, size.data, size.bss) == llvm_size(obj)
    assert size.data == 200 and size.bss == 400


def test_berkeley_size_rejects_non_elf():
    with pytest.raises(EvaluationError, match="not an ELF object file"):
        berkeley_size(b"MZ\x90\x00" + bytes(100))


def test_parse_error_carries_llvm_message():
    with pytest.raises(InvalidIRError) as info:
        Module.parse((FIXTURES / "garbage.ll").read_bytes(), "garbage.ll")
    assert str(info.value) == (
        "garbage.ll:1:1: error: expected top-level entity (This is not LLVM IR at all.)"
    )


def test_verifier_rejects_invalid_module():
    module = Module.parse((FIXTURES / "invalid.ll").read_bytes(), "invalid.ll")
    with pytest.raises(InvalidIRError, match="^IR verification failed: "):
        module.verify()


def test_unknown_pass_and_bad_syntax_give_llvm_messages(programs):
    module = Module.parse(programs["loops.c"].bitcode)
    with pytest.raises(PipelineError) as info:
        module.run_passes("no-such-pass")
    assert str(info.value) == "unknown pass name 'no-such-pass'"
    with pytest.raises(PipelineError) as info:
        module.run_passes("function(")
    assert str(info.value) == "invalid pipeline 'function('"
    with pytest.raises(PipelineError) as info:
        module.run_passes("function(instcombine<foo>)")
    assert str(info.value) == "invalid InstCombine pass parameter 'foo'"


def test_clone_is_independent_and_bitcode_round_trips(programs):
    module = Module.parse(programs["recursion.c"].bitcode)
    before = module.instruction_count()
    with module.clone() as copy:
        copy.run_passes("default<Oz>", TargetMachine(module.triple))
        assert copy.instruction_count() < before
    assert module.instruction_count() == before
    again = Module.parse(module.to_bitcode())
    assert again.to_text() == module.to_text()


def test_emit_assembly_is_att_syntax(programs):
    module = Module.parse(programs["loops.c"].bitcode)
    asm = TargetMachine(module.triple).emit_assembly(module.clone()).decode()
    assert "main:" in asm and "%rsp" in asm


def test_missing_llvm_explains_how_to_install():
    env = dict(os.environ, LLMC_LIBLLVM="/nonexistent/libLLVM.so.19")
    code = "from llmcompiler.llvm import Module; Module.parse(b'')"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "apt-get install -y llvm-19 clang-19" in proc.stderr
    cli = subprocess.run(
        [sys.executable, "-m", "llmcompiler", "size", str(FIXTURES / "tiny.ll")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 3
    assert cli.stderr.startswith("llmc: error: libLLVM 19 not found; install it with: apt-get")


def test_context_closed_before_module_is_safe():
    """The garbage collector may finalize a context before its module."""
    code = (
        "from llmcompiler.llvm import Module\n"
        "m = Module.parse(open({!r}, 'rb').read())\n"
        "m.context.close()\n"
        "m.close()\n"
        "print('survived')\n".format(str(FIXTURES / "tiny.ll"))
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout == "survived\n", proc.stderr
