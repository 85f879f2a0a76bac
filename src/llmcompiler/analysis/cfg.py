"""The control-flow graph of one function, with blocks numbered 0..n-1 (0 = entry).

Graph algorithms in this package (dominators, loops) work on these integer
nodes; :class:`CFG` keeps the mapping back to LLVM blocks and printed names.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmcompiler.llvm.ir import Block, Function, slot_names


@dataclass(frozen=True)
class CFG:
    """Blocks in layout order and their edges.

    Attributes:
        blocks: the function's blocks; index 0 is the entry.
        names: the printed label of each block, e.g. '%for.body' or '%3'.
        succs: successor indices of each block, in terminator order, duplicates removed.
        preds: predecessor indices of each block, sorted.
    """

    blocks: tuple[Block, ...]
    names: tuple[str, ...]
    succs: tuple[tuple[int, ...], ...]
    preds: tuple[tuple[int, ...], ...]

    def __len__(self) -> int:
        return len(self.blocks)

    def index(self, block: Block) -> int:
        """The index of ``block``. Raises KeyError for a block of another function."""
        return self._index[block.ptr]

    @property
    def _index(self) -> dict[int, int]:
        cached = self.__dict__.get("_index_cache")
        if cached is None:
            cached = {b.ptr: i for i, b in enumerate(self.blocks)}
            object.__setattr__(self, "_index_cache", cached)
        return cached

    def edges(self) -> list[tuple[int, int]]:
        """Every edge (source, target), in block order."""
        return [(u, v) for u, targets in enumerate(self.succs) for v in targets]

    def critical_edges(self) -> list[tuple[int, int]]:
        """Edges from a block with several successors to a block with several predecessors."""
        return [
            (u, v) for u, v in self.edges() if len(self.succs[u]) > 1 and len(self.preds[v]) > 1
        ]


def build_cfg(fn: Function, names: dict[int, str] | None = None) -> CFG:
    """Build the CFG of a defined function. ``names`` is :func:`slot_names` output,
    computed here when not given. Raises ValueError for a declaration."""
    blocks = fn.blocks()
    if not blocks:
        raise ValueError(f"@{fn.name} has no body")
    names = names if names is not None else slot_names(fn)
    index = {b.ptr: i for i, b in enumerate(blocks)}
    succs = []
    for b in blocks:
        seen: list[int] = []
        for s in b.successors:
            if index[s.ptr] not in seen:
                seen.append(index[s.ptr])
        succs.append(tuple(seen))
    preds: list[list[int]] = [[] for _ in blocks]
    for u, targets in enumerate(succs):
        for v in targets:
            preds[v].append(u)
    return CFG(
        blocks=tuple(blocks),
        names=tuple(names[b.value_ptr] for b in blocks),
        succs=tuple(succs),
        preds=tuple(tuple(sorted(p)) for p in preds),
    )
