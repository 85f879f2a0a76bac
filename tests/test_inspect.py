"""``llmc inspect`` and the per-function facts, checked against opt-19's own output."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import C_PROGRAMS, FIXTURES, count_ir_text
from llmcompiler.analysis.facts import module_facts
from llmcompiler.cli import main
from llmcompiler.llvm import Module, TargetMachine, default_triple
from llmcompiler.llvm.toolchain import opt

ANALYSIS = Path(__file__).parent / "fixtures" / "analysis"
_DEFINE = re.compile(r"^define .*@([\w.$]+)\(")


def opt_functions(ir_text: str) -> dict[str, str]:
    """function name -> its body text, from opt's textual output."""
    out, name, lines = {}, None, []
    for line in ir_text.splitlines():
        if m := _DEFINE.match(line):
            name, lines = m.group(1), [line]
        elif name is not None:
            lines.append(line)
            if line.startswith("}"):
                out[name] = "\n".join(lines)
                name = None
    return out


def _count(body: str, opcode: str) -> int:
    return len(re.findall(rf"^\s+%[\w.$]+ = {opcode} ", body, re.M))


@pytest.mark.parametrize("name", C_PROGRAMS)
def test_phi_and_alloca_counts_after_mem2reg_equal_opt(programs, name):
    program = programs[name]
    reference = opt_functions(opt(program.bitcode, "mem2reg").decode())
    with Module.parse(program.bitcode, name) as module:
        before = {f.name: f for f in module_facts(module)}
        module.run_passes("mem2reg", TargetMachine(module.triple))
        after = {f.name: f for f in module_facts(module)}
    assert set(after) == set(reference)
    for fn, body in reference.items():
        assert after[fn].phi_nodes == _count(body, "phi"), fn
        assert after[fn].allocas == _count(body, "alloca"), fn
        assert after[fn].loads == _count(body, "load"), fn
        assert after[fn].instructions == count_ir_text(body), fn
        phi_lines = [ln for ln in body.splitlines() if " = phi " in ln]
        assert after[fn].phi_incoming == sum(ln.count("[ ") for ln in phi_lines), fn
    assert sum(f.allocas for f in before.values()) > sum(f.allocas for f in after.values())
    assert sum(f.phi_nodes for f in after.values()) > 0


def test_json_before_and_after(capsys):
    rc = main(["inspect", str(FIXTURES / "loops.c"), "--passes", "mem2reg", "--json"])
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"file", "triple", "before", "after"}
    assert data["triple"] == default_triple()
    for side in ("before", "after"):
        for fn in data[side]:
            for key in ("blocks", "instructions", "phi_nodes", "allocas", "loads", "stores"):
                assert isinstance(fn[key], int), key
            assert isinstance(fn["name"], str)
    before = {f["name"]: f for f in data["before"]}
    after = {f["name"]: f for f in data["after"]}
    assert before["row_sums"]["allocas"] > 0 and after["row_sums"]["allocas"] == 0
    assert after["row_sums"]["phi_nodes"] > 0 and before["row_sums"]["phi_nodes"] == 0
    assert after["row_sums"]["loops"] and after["row_sums"]["loops"][0]["depth"] == 1


def test_text_table_for_one_function(capsys):
    shapes = ANALYSIS / "cfg_shapes.ll"
    rc = main(["inspect", str(shapes), "--function", "nested", "--passes", "simplifycfg"])
    out = capsys.readouterr().out
    assert rc == 0
    assert out.startswith("@nested\n") and "before" in out and "after" in out
    assert "@irreducible" not in out
    assert "loop %outer: depth 1" in out and "loop %inner: depth 2" in out
    assert "%inner.latch <- %inner.body" in out


def test_json_without_passes_has_no_after(capsys):
    assert main(["inspect", str(ANALYSIS / "cfg_shapes.ll"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "after" not in data
    switchy = next(f for f in data["before"] if f["name"] == "switchy")
    assert switchy["unreachable_blocks"] == 1 and switchy["phi_incoming"] == 4


def test_errors_are_one_line(capsys):
    shapes = str(ANALYSIS / "cfg_shapes.ll")
    assert main(["inspect", shapes, "--function", "nope"]) == 1
    assert "no defined function named 'nope'" in capsys.readouterr().err
    assert main(["inspect", shapes, "--passes", "no-such-pass"]) == 1
    assert "unknown pass name 'no-such-pass'" in capsys.readouterr().err
    assert main(["inspect", "missing.c"]) == 1
    assert "no such file" in capsys.readouterr().err
