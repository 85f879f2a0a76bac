"""Program features: fixed length, documented names, counts that match the IR."""

from __future__ import annotations

from pathlib import Path

from llmcompiler.analysis import FEATURE_NAMES, feature_dict, features
from llmcompiler.analysis.features import STRUCTURE_FEATURES
from llmcompiler.llvm import Module, TargetMachine

SHAPES = Path(__file__).parent / "fixtures" / "analysis" / "cfg_shapes.ll"


def test_names_are_unique_documented_and_fixed():
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES) == 95
    assert all(meaning for _, meaning in STRUCTURE_FEATURES)


def test_counts_on_hand_written_shapes():
    with Module.parse(SHAPES.read_bytes()) as module:
        f = feature_dict(module)
        vector = features(module)
        total = module.instruction_count()
    assert vector == [f[n] for n in FEATURE_NAMES]
    assert sum(v for k, v in f.items() if k.startswith("op_")) == f["instructions"] == total
    assert f["functions"] == 4 and f["blocks"] == 18
    assert f["op_phi"] == 9 and f["op_switch"] == 1 and f["op_mul"] == 1
    assert f["loops"] == 2 and f["max_loop_depth"] == 2 and f["back_edges"] == 2
    assert f["unreachable_blocks"] == 1
    assert f["blocks_many_succs"] == 1  # the switch
    assert f["domtree_max_depth"] == 6  # entry, outer, inner, inner.body, inner.latch, outer.latch


def test_features_follow_mem2reg(programs):
    with Module.parse(programs["loops.c"].bitcode) as module:
        before = feature_dict(module)
        module.run_passes("mem2reg", TargetMachine(module.triple))
        after = feature_dict(module)
        assert after["instructions"] == module.instruction_count()
    assert before["op_alloca"] > after["op_alloca"]
    assert before["op_phi"] < after["op_phi"]
    assert before["loops"] == after["loops"] > 0
