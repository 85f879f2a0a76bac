"""Our dominator trees and natural loops against LLVM's own (opt-19 print<domtree>/print<loops>)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from conftest import C_PROGRAMS
from llmcompiler.analysis.dominators import dominator_tree, reverse_postorder
from llmcompiler.analysis.facts import analyze
from llmcompiler.llvm import Module, TargetMachine
from llmcompiler.llvm.ir import functions
from llmcompiler.llvm.toolchain import tool

SHAPES = Path(__file__).parent / "fixtures" / "analysis" / "cfg_shapes.ll"
_NODE = re.compile(r"^\s*\[(\d+)\] (%\S+) ")
_LOOP = re.compile(r"^\s*(?:Parallel )?Loop at depth (\d+) containing: (.*)$")


def _opt_print(ir: bytes, analysis: str) -> str:
    proc = subprocess.run(
        [tool("opt"), f"-passes=print<{analysis}>", "-disable-output", "-"],
        input=ir,
        capture_output=True,
        check=True,
    )
    return proc.stderr.decode()


def llvm_idoms(ir: bytes) -> dict[str, dict[str, str | None]]:
    """function -> {block: immediate dominator} parsed from print<domtree>."""
    out: dict[str, dict[str, str | None]] = {}
    current: dict[str, str | None] = {}
    stack: list[str] = []
    for line in _opt_print(ir, "domtree").splitlines():
        if line.startswith("DominatorTree for function: "):
            current = out.setdefault(line.split(": ", 1)[1].strip(), {})
            stack = []
        elif m := _NODE.match(line):
            level, name = int(m.group(1)), m.group(2)
            del stack[level - 1 :]
            current[name] = stack[-1] if stack else None
            stack.append(name)
    return out


def llvm_loops(ir: bytes) -> dict[str, set[tuple[str, int, frozenset[str]]]]:
    """function -> {(header, depth, blocks)} parsed from print<loops>."""
    out: dict[str, set] = {}
    current: set = set()
    for line in _opt_print(ir, "loops").splitlines():
        if line.startswith("Loop info for function "):
            current = out.setdefault(line.split("'")[1], set())
        elif m := _LOOP.match(line):
            blocks = [b.split("<")[0] for b in m.group(2).split(",")]
            header = next(b.split("<")[0] for b in m.group(2).split(",") if "<header>" in b)
            current.add((header, int(m.group(1)), frozenset(blocks)))
    return out


def _compare(module: Module, ir: bytes) -> int:
    """Assert our idoms and loops equal LLVM's for every function; return blocks checked."""
    reference, reference_loops = llvm_idoms(ir), llvm_loops(ir)
    checked = 0
    for fn in functions(module):
        a = analyze(fn)
        name = a.cfg.names
        ours = {name[b]: (None if d is None else name[d]) for b, d in a.dom.idom.items()}
        assert ours == reference[fn.name], fn.name
        loops = {
            (name[lp.header], lp.depth, frozenset(name[b] for b in lp.blocks)) for lp in a.loops
        }
        assert loops == reference_loops.get(fn.name, set()), fn.name
        checked += len(ours)
    return checked


def test_shapes_equal_llvm():
    ir = SHAPES.read_bytes()
    with Module.parse(ir, SHAPES.name) as module:
        assert _compare(module, ir) > 15


def test_irreducible_cycle_is_not_a_natural_loop():
    with Module.parse(SHAPES.read_bytes()) as module:
        fn = next(f for f in functions(module) if f.name == "irreducible")
        a = analyze(fn)
        assert a.loops == []
        assert a.dom.idom[a.cfg.names.index("%right")] == 0


@pytest.mark.parametrize("pipeline", ["", "mem2reg", "default<O2>"])
def test_fixture_programs_equal_llvm(programs, pipeline):
    checked = 0
    for name in C_PROGRAMS:
        with Module.parse(programs[name].bitcode, name) as module:
            if pipeline:
                module.run_passes(pipeline, TargetMachine(module.triple))
            checked += _compare(module, module.to_bitcode())
    assert checked > 40


def test_unreachable_nodes_are_left_out():
    succs = [[1], [], [1]]  # 2 -> 1, but nothing reaches 2
    preds = [[], [0, 2], []]
    tree = dominator_tree(succs, preds)
    assert tree.idom == {0: None, 1: 0}
    assert reverse_postorder(succs) == [0, 1]
    assert tree.dominates(0, 1) and not tree.dominates(1, 0) and not tree.dominates(2, 1)
