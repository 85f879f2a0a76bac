"""Dominator trees by the Cooper–Harvey–Kennedy iterative algorithm.

K. D. Cooper, T. J. Harvey, K. Kennedy, "A Simple, Fast Dominance Algorithm"
(2001): number the reachable nodes in reverse postorder, then repeat
``idom(b) = intersect over processed predecessors p of b`` until nothing
changes, where ``intersect`` walks two fingers up the current tree by
postorder number. Unreachable nodes have no dominator and are left out, as
LLVM leaves them out of its tree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def reverse_postorder(succs: Sequence[Sequence[int]], entry: int = 0) -> list[int]:
    """Nodes reachable from ``entry`` in reverse postorder of a depth-first search
    that visits successors in the given order."""
    seen = {entry}
    order: list[int] = []
    stack = [(entry, iter(succs[entry]))]
    while stack:
        node, children = stack[-1]
        for child in children:
            if child not in seen:
                seen.add(child)
                stack.append((child, iter(succs[child])))
                break
        else:
            stack.pop()
            order.append(node)
    order.reverse()
    return order


@dataclass(frozen=True)
class DominatorTree:
    """Immediate dominators of the nodes reachable from ``entry``.

    Attributes:
        entry: the root.
        idom: node -> its immediate dominator; the entry maps to None. Unreachable
            nodes are absent.
        rpo: reachable nodes in reverse postorder.
    """

    entry: int
    idom: dict[int, int | None]
    rpo: tuple[int, ...]

    def children(self) -> dict[int, list[int]]:
        """node -> the nodes it immediately dominates, in reverse postorder."""
        out: dict[int, list[int]] = {n: [] for n in self.rpo}
        for n in self.rpo:
            parent = self.idom[n]
            if parent is not None:
                out[parent].append(n)
        return out

    def depth(self, node: int) -> int:
        """Depth of ``node`` in the tree; the entry has depth 1 (as LLVM prints it)."""
        d = 1
        while self.idom[node] is not None:
            node = self.idom[node]
            d += 1
        return d

    def max_depth(self) -> int:
        """The depth of the deepest node (1 for a single block)."""
        depths: dict[int, int] = {}
        for n in self.rpo:  # a dominator comes before the nodes it dominates
            parent = self.idom[n]
            depths[n] = 1 if parent is None else depths[parent] + 1
        return max(depths.values())

    def dominates(self, a: int, b: int) -> bool:
        """Whether ``a`` dominates ``b`` (every node dominates itself)."""
        if b not in self.idom or a not in self.idom:
            return False
        node: int | None = b
        while node is not None:
            if node == a:
                return True
            node = self.idom[node]
        return False


def dominator_tree(
    succs: Sequence[Sequence[int]], preds: Sequence[Sequence[int]], entry: int = 0
) -> DominatorTree:
    """Compute the dominator tree of a graph given as successor and predecessor lists."""
    rpo = reverse_postorder(succs, entry)
    number = {node: i for i, node in enumerate(rpo)}  # smaller = earlier in RPO
    idom: dict[int, int] = {entry: entry}

    def intersect(a: int, b: int) -> int:
        while a != b:
            while number[a] > number[b]:
                a = idom[a]
            while number[b] > number[a]:
                b = idom[b]
        return a

    changed = True
    while changed:
        changed = False
        for node in rpo[1:]:
            new = None
            for p in preds[node]:
                if p in idom:  # processed and reachable
                    new = p if new is None else intersect(p, new)
            if new is not None and idom.get(node) != new:
                idom[node] = new
                changed = True
    tree: dict[int, int | None] = {n: idom[n] for n in rpo}
    tree[entry] = None
    return DominatorTree(entry=entry, idom=tree, rpo=tuple(rpo))
