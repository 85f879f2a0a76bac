"""Natural loops: a back edge ``latch -> header`` is an edge whose target
dominates its source; the loop is the header plus every node that reaches the
latch without passing through the header. Back edges to one header form one
loop, as in LLVM's LoopInfo.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llmcompiler.analysis.dominators import DominatorTree


@dataclass(frozen=True)
class Loop:
    """One natural loop.

    Attributes:
        header: the node every iteration enters through.
        latches: sources of the back edges, sorted.
        blocks: all nodes of the loop (header included), sorted.
        depth: nesting depth, 1 for an outermost loop.
        parent: header of the innermost enclosing loop, or None.
    """

    header: int
    latches: tuple[int, ...]
    blocks: frozenset[int]
    depth: int
    parent: int | None

    def exits(self, succs: Sequence[Sequence[int]]) -> list[tuple[int, int]]:
        """Edges (inside, outside) that leave the loop."""
        return [(u, v) for u in sorted(self.blocks) for v in succs[u] if v not in self.blocks]


def back_edges(succs: Sequence[Sequence[int]], dom: DominatorTree) -> list[tuple[int, int]]:
    """Edges ``(u, h)`` between reachable nodes where ``h`` dominates ``u``."""
    return [(u, h) for u in dom.rpo for h in succs[u] if dom.dominates(h, u)]


def natural_loops(
    succs: Sequence[Sequence[int]], preds: Sequence[Sequence[int]], dom: DominatorTree
) -> list[Loop]:
    """All natural loops, outermost first (by header in reverse postorder)."""
    latches: dict[int, list[int]] = {}
    for u, h in back_edges(succs, dom):
        latches.setdefault(h, []).append(u)
    bodies: dict[int, set[int]] = {}
    for header, sources in latches.items():
        body = {header}
        work = [u for u in sources if u != header]
        body.update(work)
        while work:
            node = work.pop()
            for p in preds[node]:
                if p not in body and p in dom.idom:
                    body.add(p)
                    work.append(p)
        bodies[header] = body
    order = {n: i for i, n in enumerate(dom.rpo)}
    headers = sorted(bodies, key=order.__getitem__)
    loops: list[Loop] = []
    for h in headers:
        enclosing = [g for g in headers if g != h and h in bodies[g]]
        # the innermost enclosing loop is the smallest one
        parent = min(enclosing, key=lambda g: len(bodies[g])) if enclosing else None
        loops.append(
            Loop(
                header=h,
                latches=tuple(sorted(latches[h])),
                blocks=frozenset(bodies[h]),
                depth=len(enclosing) + 1,
                parent=parent,
            )
        )
    return loops


def loop_depths(loops: Sequence[Loop], n: int) -> list[int]:
    """Loop nesting depth of each of ``n`` nodes (0 outside every loop)."""
    depth = [0] * n
    for loop in loops:
        for b in loop.blocks:
            depth[b] = max(depth[b], loop.depth)
    return depth
