"""Per-function SSA and CFG facts: what ``llmc inspect`` prints.

Counts (blocks, instructions by opcode, phis and their incoming edges,
allocas, loads, stores), def-use statistics, CFG edges, the dominator tree
(computed here with Cooper–Harvey–Kennedy) and natural loops.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

from llmcompiler.analysis.cfg import CFG, build_cfg
from llmcompiler.analysis.dominators import DominatorTree, dominator_tree
from llmcompiler.analysis.loops import Loop, back_edges, natural_loops
from llmcompiler.llvm import Module
from llmcompiler.llvm.ir import Function, functions, slot_names


@dataclass(frozen=True)
class LoopFacts:
    """A natural loop by block names: header, latches, size and depth."""

    header: str
    latches: list[str]
    blocks: int
    depth: int


@dataclass(frozen=True)
class FunctionFacts:
    """SSA/CFG facts of one defined function (the ``--json`` object of ``llmc inspect``).

    Attributes:
        name: the function's name (no '@').
        blocks, instructions: counts.
        phi_nodes: phi instructions; phi_incoming: their incoming (value, block) pairs.
        allocas, loads, stores: memory instructions.
        opcodes: instruction count per opcode.
        values: SSA values defined (arguments and instructions with a result).
        uses: total uses of those values; max_uses: the most uses of one value.
        unused_values: instructions with a result that nothing uses.
        edges: CFG edges; critical_edges: edges from a multi-successor block to a
            multi-predecessor block.
        unreachable_blocks: blocks the entry does not reach.
        domtree_depth: depth of the dominator tree (entry = 1).
        idom: block name -> name of its immediate dominator (entry -> None).
        back_edges: edges to a dominating block.
        loops: natural loops; max_loop_depth: deepest nesting (0 without loops).
        cfg: block name -> successor names.
    """

    name: str
    blocks: int
    instructions: int
    phi_nodes: int
    phi_incoming: int
    allocas: int
    loads: int
    stores: int
    values: int
    uses: int
    max_uses: int
    unused_values: int
    edges: int
    critical_edges: int
    unreachable_blocks: int
    domtree_depth: int
    back_edges: int
    max_loop_depth: int
    opcodes: dict[str, int] = field(default_factory=dict)
    idom: dict[str, str | None] = field(default_factory=dict)
    loops: list[LoopFacts] = field(default_factory=list)
    cfg: dict[str, list[str]] = field(default_factory=dict)

    @property
    def uses_per_value(self) -> float:
        return self.uses / self.values if self.values else 0.0

    def to_json(self) -> dict:
        out = asdict(self)
        out["uses_per_value"] = round(self.uses_per_value, 3)
        return out


#: The integer facts shown side by side by ``llmc inspect`` (in this order).
SCALAR_FIELDS = (
    "blocks",
    "instructions",
    "phi_nodes",
    "phi_incoming",
    "allocas",
    "loads",
    "stores",
    "values",
    "uses",
    "max_uses",
    "unused_values",
    "edges",
    "critical_edges",
    "unreachable_blocks",
    "domtree_depth",
    "back_edges",
    "max_loop_depth",
)


@dataclass(frozen=True)
class Analyzed:
    """A function with its CFG, dominator tree and loops (for analyses built on them)."""

    function: Function
    names: dict[int, str]
    cfg: CFG
    dom: DominatorTree
    loops: list[Loop]


def analyze(fn: Function) -> Analyzed:
    """Build CFG, dominator tree and loops of a defined function."""
    names = slot_names(fn)
    cfg = build_cfg(fn, names)
    dom = dominator_tree(cfg.succs, cfg.preds)
    return Analyzed(fn, names, cfg, dom, natural_loops(cfg.succs, cfg.preds, dom))


def function_facts(fn: Function) -> FunctionFacts:
    """Compute the facts of one defined function."""
    a = analyze(fn)
    cfg, dom = a.cfg, a.dom
    opcodes: Counter[str] = Counter()
    phi_incoming = values = uses = max_uses = unused = 0
    for param in fn.params:
        n = param.use_count()
        values, uses, max_uses = values + 1, uses + n, max(max_uses, n)
    for inst in fn.instructions():
        op = inst.opcode
        opcodes[op] += 1
        if op == "phi":
            phi_incoming += len(inst.incoming)
        if not inst.type.is_void:
            n = inst.use_count()
            values, uses, max_uses = values + 1, uses + n, max(max_uses, n)
            unused += n == 0
    name = cfg.names
    return FunctionFacts(
        name=fn.name,
        blocks=len(cfg),
        instructions=sum(opcodes.values()),
        phi_nodes=opcodes["phi"],
        phi_incoming=phi_incoming,
        allocas=opcodes["alloca"],
        loads=opcodes["load"],
        stores=opcodes["store"],
        values=values,
        uses=uses,
        max_uses=max_uses,
        unused_values=unused,
        edges=len(cfg.edges()),
        critical_edges=len(cfg.critical_edges()),
        unreachable_blocks=len(cfg) - len(dom.rpo),
        domtree_depth=dom.max_depth(),
        back_edges=len(back_edges(cfg.succs, dom)),
        max_loop_depth=max((lp.depth for lp in a.loops), default=0),
        opcodes=dict(sorted(opcodes.items())),
        idom={name[b]: (None if d is None else name[d]) for b, d in dom.idom.items()},
        loops=[
            LoopFacts(
                header=name[lp.header],
                latches=[name[x] for x in lp.latches],
                blocks=len(lp.blocks),
                depth=lp.depth,
            )
            for lp in a.loops
        ],
        cfg={name[u]: [name[v] for v in cfg.succs[u]] for u in range(len(cfg))},
    )


def module_facts(module: Module, only: str | None = None) -> list[FunctionFacts]:
    """Facts of every defined function (or just the one named ``only``), in module order."""
    return [function_facts(fn) for fn in functions(module) if only is None or fn.name == only]
