"""A fixed-length feature vector of a module, in the spirit of Autophase.

Autophase (Haj-Ali et al., MLSys 2020) describes a program to a learned
optimizer by 56 counts: instructions by opcode, blocks by their numbers of
predecessors and successors, phi nodes and their arguments, edges and
critical edges, constants. This vector keeps that spirit and adds what
llmcompiler's analyses compute: def-use, dominator-tree and loop statistics.
Every feature is a non-negative integer count (or maximum) over all defined
functions; :data:`FEATURE_NAMES` documents the order, which is fixed for a
version of the project (:data:`FEATURES_VERSION`).
"""

from __future__ import annotations

from collections import Counter

from llmcompiler.analysis.facts import analyze
from llmcompiler.analysis.loops import back_edges, loop_depths
from llmcompiler.llvm import Module
from llmcompiler.llvm.ir import Function, functions

FEATURES_VERSION = 1

#: Opcodes with a histogram slot; every other opcode counts in 'op_other'.
HISTOGRAM_OPCODES = (
    "ret", "br", "switch", "indirectbr", "invoke", "unreachable", "fneg",
    "add", "fadd", "sub", "fsub", "mul", "fmul", "udiv", "sdiv", "fdiv", "urem", "srem", "frem",
    "shl", "lshr", "ashr", "and", "or", "xor",
    "alloca", "load", "store", "getelementptr",
    "trunc", "zext", "sext", "fptoui", "fptosi", "uitofp", "sitofp", "fptrunc", "fpext",
    "ptrtoint", "inttoptr", "bitcast",
    "icmp", "fcmp", "phi", "call", "select",
    "extractelement", "insertelement", "shufflevector", "extractvalue", "insertvalue", "freeze",
)  # fmt: skip

#: (name, meaning) of the features after the opcode histogram, in order.
STRUCTURE_FEATURES = (
    ("functions", "defined functions"),
    ("blocks", "basic blocks"),
    ("instructions", "instructions"),
    ("blocks_1_pred", "blocks with exactly one predecessor"),
    ("blocks_2_preds", "blocks with exactly two predecessors"),
    ("blocks_many_preds", "blocks with more than two predecessors"),
    ("blocks_1_succ", "blocks with exactly one successor"),
    ("blocks_2_succs", "blocks with exactly two successors"),
    ("blocks_many_succs", "blocks with more than two successors"),
    ("blocks_1_pred_1_succ", "blocks with one predecessor and one successor"),
    ("blocks_2_preds_2_succs", "blocks with two predecessors and two successors"),
    ("blocks_big", "blocks with more than 15 instructions"),
    ("edges", "CFG edges"),
    ("critical_edges", "edges from a multi-successor to a multi-predecessor block"),
    ("cond_branches", "conditional br"),
    ("uncond_branches", "unconditional br"),
    ("blocks_with_phi", "blocks that start with a phi"),
    ("phi_args", "incoming values of all phis"),
    ("phis_many_args", "phis with more than 5 incoming values"),
    ("int_const_operands", "operands that are integer constants"),
    ("zero_operands", "integer-constant operands equal to 0"),
    ("one_operands", "integer-constant operands equal to 1"),
    ("i1_values", "values of type i1"),
    ("i8_values", "values of type i8"),
    ("i16_values", "values of type i16"),
    ("i32_values", "values of type i32"),
    ("i64_values", "values of type i64"),
    ("ssa_values", "arguments and instructions with a result"),
    ("uses", "uses of those values"),
    ("max_uses", "most uses of one value"),
    ("unused_values", "instructions with a result and no use"),
    ("single_use_values", "values with exactly one use"),
    ("unreachable_blocks", "blocks the entry does not reach"),
    ("domtree_max_depth", "deepest dominator tree among the functions"),
    ("domtree_depth_sum", "sum of every block's dominator-tree depth"),
    ("back_edges", "edges to a dominating block"),
    ("loops", "natural loops"),
    ("max_loop_depth", "deepest loop nesting"),
    ("blocks_in_loops", "blocks inside some loop"),
    ("instructions_in_loops", "instructions inside some loop"),
    ("loop_exits", "edges leaving a loop"),
    ("calls_to_declarations", "calls of functions the module only declares"),
)

FEATURE_NAMES: tuple[str, ...] = (
    tuple(f"op_{op}" for op in HISTOGRAM_OPCODES)
    + ("op_other",)
    + tuple(name for name, _ in STRUCTURE_FEATURES)
)


def features(module: Module) -> list[int]:
    """Return the feature vector of ``module`` (length ``len(FEATURE_NAMES)``)."""
    counts = feature_dict(module)
    return [counts[name] for name in FEATURE_NAMES]


def feature_dict(module: Module) -> dict[str, int]:
    """Return the features by name, in :data:`FEATURE_NAMES` order."""
    f: Counter[str] = Counter()
    maxima: dict[str, int] = {"max_uses": 0, "domtree_max_depth": 0, "max_loop_depth": 0}
    known = set(HISTOGRAM_OPCODES)
    for fn in functions(module):
        a = analyze(fn)
        cfg, dom = a.cfg, a.dom
        f["functions"] += 1
        f["blocks"] += len(cfg)
        depth_in_loop = loop_depths(a.loops, len(cfg))
        for i, block in enumerate(cfg.blocks):
            np, ns = len(cfg.preds[i]), len(cfg.succs[i])
            f["blocks_1_pred"] += np == 1
            f["blocks_2_preds"] += np == 2
            f["blocks_many_preds"] += np > 2
            f["blocks_1_succ"] += ns == 1
            f["blocks_2_succs"] += ns == 2
            f["blocks_many_succs"] += ns > 2
            f["blocks_1_pred_1_succ"] += np == 1 and ns == 1
            f["blocks_2_preds_2_succs"] += np == 2 and ns == 2
            f["blocks_in_loops"] += depth_in_loop[i] > 0
            size = 0
            for inst in block.instructions():
                size += 1
                if size == 1 and inst.opcode == "phi":
                    f["blocks_with_phi"] += 1
                op = inst.opcode
                f[f"op_{op}" if op in known else "op_other"] += 1
                if depth_in_loop[i]:
                    f["instructions_in_loops"] += 1
                if op == "br":
                    f["cond_branches" if inst.condition is not None else "uncond_branches"] += 1
                elif op == "phi":
                    n = len(inst.incoming)
                    f["phi_args"] += n
                    f["phis_many_args"] += n > 5
                elif op == "call":
                    callee = inst.operands[-1]
                    if isinstance(callee, Function) and callee.is_declaration:
                        f["calls_to_declarations"] += 1
                for operand in inst.operands:
                    if operand.is_constant_int:
                        f["int_const_operands"] += 1
                        if operand.type.width <= 64:
                            v = operand.signed_value()
                            f["zero_operands"] += v == 0
                            f["one_operands"] += v == 1
                if not inst.type.is_void:
                    _count_value(f, maxima, inst)
            f["instructions"] += size
            f["blocks_big"] += size > 15
        for param in fn.params:
            _count_value(f, maxima, param)
        f["edges"] += len(cfg.edges())
        f["critical_edges"] += len(cfg.critical_edges())
        f["unreachable_blocks"] += len(cfg) - len(dom.rpo)
        f["domtree_depth_sum"] += sum(dom.depth(n) for n in dom.rpo)
        maxima["domtree_max_depth"] = max(maxima["domtree_max_depth"], dom.max_depth())
        f["back_edges"] += len(back_edges(cfg.succs, dom))
        f["loops"] += len(a.loops)
        maxima["max_loop_depth"] = max([maxima["max_loop_depth"]] + [lp.depth for lp in a.loops])
        f["loop_exits"] += sum(len(lp.exits(cfg.succs)) for lp in a.loops)
    f.update(maxima)
    return {name: int(f[name]) for name in FEATURE_NAMES}


def _count_value(f: Counter, maxima: dict[str, int], value) -> None:
    n = value.use_count()
    f["ssa_values"] += 1
    f["uses"] += n
    f["unused_values"] += n == 0 and value.is_instruction
    f["single_use_values"] += n == 1
    maxima["max_uses"] = max(maxima["max_uses"], n)
    ty = value.type
    if ty.is_integer and ty.width in (1, 8, 16, 32, 64):
        f[f"i{ty.width}_values"] += 1
