"""Integer ranges of SSA values: an interval analysis with widening.

Every integer value of at most 64 bits gets an interval ``[lo, hi]`` of its
*signed* interpretation. Arguments, loads and calls are unknown (the full
range of their type); constants are exact; arithmetic follows the operands,
and where the exact result could leave the type it wraps to the full range —
unless the instruction carries ``nsw``, whose overflow LLVM defines as poison,
so the result stays in the type's range (as LLVM's own range analyses assume).

Branch conditions refine ranges: in a block reached only through the true edge
of ``br (icmp slt %i, 100)``, ``%i <= 99`` holds (conditions are collected down
the dominator tree), and a phi sees each incoming value refined by the
condition of its edge. The fixpoint is reached by ascending iterations in
reverse postorder, with widening (to constants the function compares against,
else to the type's bounds) once a phi has grown three times, followed by
narrowing iterations. One rule beyond intervals handles counting loops that
exit on equality, as loop rotation produces: a header phi ``%i = phi [init],
[%i + 1]`` whose back edge is taken only while ``%i + 1 != C`` stays in
``[init, C - 1]`` when ``init < C``. The result is checked to be a
post-fixpoint (every transfer function maps it into itself); if narrowing
broke that, the widened result is kept.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from llmcompiler.analysis.facts import Analyzed
from llmcompiler.llvm.ir import Instruction, Value

WIDEN_AFTER = 3  # updates of a phi before its range is widened
NARROWING_ROUNDS = 3
MAX_ROUNDS = 200  # safety net: ascending rounds before every phi is widened to its type


@dataclass(frozen=True)
class Interval:
    """Closed interval ``[lo, hi]`` of signed integer values (lo <= hi)."""

    lo: int
    hi: int

    def __str__(self) -> str:
        return f"[{self.lo}, {self.hi}]"

    def union(self, other: Interval | None) -> Interval:
        if other is None:
            return self
        return Interval(min(self.lo, other.lo), max(self.hi, other.hi))

    def intersect(self, other: Interval) -> Interval | None:
        lo, hi = max(self.lo, other.lo), min(self.hi, other.hi)
        return Interval(lo, hi) if lo <= hi else None

    def fits_signed(self, bits: int) -> bool:
        return -(1 << (bits - 1)) <= self.lo and self.hi < (1 << (bits - 1))

    def fits_unsigned(self, bits: int) -> bool:
        return self.lo >= 0 and self.hi < (1 << bits)

    @property
    def is_constant(self) -> bool:
        return self.lo == self.hi


def full(bits: int) -> Interval:
    """Every value of a ``bits``-bit integer, read as signed."""
    return Interval(-(1 << (bits - 1)), (1 << (bits - 1)) - 1)


INVERSE = {
    "eq": "ne", "ne": "eq", "slt": "sge", "sge": "slt", "sle": "sgt", "sgt": "sle",
    "ult": "uge", "uge": "ult", "ule": "ugt", "ugt": "ule",
}  # fmt: skip
SWAPPED = {
    "eq": "eq", "ne": "ne", "slt": "sgt", "sgt": "slt", "sle": "sge", "sge": "sle",
    "ult": "ugt", "ugt": "ult", "ule": "uge", "uge": "ule",
}  # fmt: skip


def refine(r: Interval, pred: str, other: Interval, bits: int) -> Interval | None:
    """Narrow ``r`` by the fact ``x pred y`` with ``x`` in ``r`` and ``y`` in ``other``.

    Returns None when no value of ``r`` can satisfy it."""
    t = full(bits)
    if pred == "eq":
        return r.intersect(other)
    if pred == "ne":
        if other.is_constant:
            c = other.lo
            lo = r.lo + 1 if r.lo == c else r.lo
            hi = r.hi - 1 if r.hi == c else r.hi
            return Interval(lo, hi) if lo <= hi else None
        return r
    if pred == "slt":
        return r.intersect(Interval(t.lo, other.hi - 1)) if other.hi > t.lo else None
    if pred == "sle":
        return r.intersect(Interval(t.lo, other.hi))
    if pred == "sgt":
        return r.intersect(Interval(other.lo + 1, t.hi)) if other.lo < t.hi else None
    if pred == "sge":
        return r.intersect(Interval(other.lo, t.hi))
    # Unsigned: with a non-negative bound, x <u y forces x into [0, y.hi - 1];
    # x >u y forces it above y.lo only when x is known non-negative.
    if pred in ("ult", "ule") and other.lo >= 0:
        top = other.hi - 1 if pred == "ult" else other.hi
        return r.intersect(Interval(0, top)) if top >= 0 else None
    if pred in ("ugt", "uge") and other.lo >= 0 and r.lo >= 0:
        low = other.lo + 1 if pred == "ugt" else other.lo
        return r.intersect(Interval(low, t.hi)) if low <= t.hi else None
    return r


def _div(a: int, b: int) -> int:
    """Signed division rounding toward zero, as sdiv does."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def binary(op: str, a: Interval, b: Interval, bits: int, nsw: bool = False) -> Interval:
    """The range of ``op a, b`` on ``bits``-bit integers (full range when unknown)."""
    t = full(bits)
    if op in ("add", "sub", "mul") or (op == "shl" and b.is_constant and 0 <= b.lo < bits):
        if op == "add":
            r = Interval(a.lo + b.lo, a.hi + b.hi)
        elif op == "sub":
            r = Interval(a.lo - b.hi, a.hi - b.lo)
        elif op == "mul":
            corners = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi]
            r = Interval(min(corners), max(corners))
        else:
            r = Interval(a.lo << b.lo, a.hi << b.lo)
        if r.fits_signed(bits):
            return r
        return (r.intersect(t) or t) if nsw else t
    if op == "and":
        if a.lo >= 0 and b.lo >= 0:
            return Interval(0, min(a.hi, b.hi))
        if a.lo >= 0 or b.lo >= 0:
            return Interval(0, a.hi if a.lo >= 0 else b.hi)
        return t
    if op in ("or", "xor") and a.lo >= 0 and b.lo >= 0:
        top = (1 << max(a.hi, b.hi).bit_length()) - 1
        return Interval(max(a.lo, b.lo) if op == "or" else 0, top)
    if op in ("lshr", "ashr") and b.lo >= 0 and b.hi < bits:
        if op == "ashr" or a.lo >= 0:
            values = [a.lo >> b.lo, a.lo >> b.hi, a.hi >> b.lo, a.hi >> b.hi]
            return Interval(min(values), max(values))
        if b.lo >= 1:
            return Interval(0, ((1 << bits) - 1) >> b.lo)
        return t
    if op == "udiv" and b.lo >= 1:
        if a.lo >= 0:
            return Interval(a.lo // b.hi, a.hi // b.lo)
        r = Interval(0, ((1 << bits) - 1) // b.lo)
        return r if r.fits_signed(bits) else t
    if op == "sdiv" and (b.lo >= 1 or b.hi <= -1):
        values = [_div(x, y) for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
        r = Interval(min(values), max(values))
        return r if r.fits_signed(bits) else (r.intersect(t) or t)
    if op == "urem" and b.lo >= 1:
        return Interval(0, min(a.hi, b.hi - 1) if a.lo >= 0 else b.hi - 1)
    if op == "srem" and (b.lo >= 1 or b.hi <= -1):
        m = max(abs(b.lo), abs(b.hi)) - 1
        if a.lo >= 0:
            return Interval(0, min(a.hi, m))
        if a.hi <= 0:
            return Interval(max(a.lo, -m), 0)
        return Interval(max(a.lo, -m), min(a.hi, m))
    return t


def int_width(value: Value) -> int | None:
    """The width of a scalar integer value of at most 64 bits, else None."""
    ty = value.type
    if ty.is_integer:
        w = ty.width
        return w if w <= 64 else None
    return None


Condition = tuple[Value, str, Value]  # lhs pred rhs


class RangeAnalysis:
    """Interval ranges of the integer values of one analyzed function.

    Attributes:
        inductions: header phi pointer -> constant step, for phis of the form
            ``phi [init, outside], [phi + step, latch]``.
        counted: header phi pointers whose range came from the counting-loop rule.
        sound_narrowing: False when narrowing broke the post-fixpoint check and
            the widened ranges were kept.
    """

    def __init__(self, analyzed: Analyzed) -> None:
        self.a = analyzed
        cfg = analyzed.cfg
        self.block_index = {b.ptr: i for i, b in enumerate(cfg.blocks)}
        self.headers = {lp.header: lp for lp in analyzed.loops}
        self.state: dict[int, Interval] = {}
        self.inductions: dict[int, int] = {}
        self.counted: set[int] = set()
        self.insts = [
            [i for i in cfg.blocks[b].instructions() if int_width(i) is not None]
            for b in range(len(cfg))
        ]
        self.thresholds = self._thresholds()
        self.conds = self._block_conditions()
        self.sound_narrowing = True
        self._run()

    # -- conditions ----------------------------------------------------------------

    def edge_conditions(self, src: int, dst: int) -> list[Condition]:
        """Facts known on the edge ``src -> dst`` from a conditional branch on icmps
        (an ``and`` of them on the true edge, an ``or`` on the false edge)."""
        term = self.a.cfg.blocks[src].terminator
        cond = term.condition if term is not None else None
        if cond is None:
            return []
        succs = term.successors
        if succs[0] == succs[1]:
            return []
        taken = self.block_index[succs[0].ptr] == dst
        return self._facts(cond, taken, depth=0)

    def _facts(self, cond: Value, truth: bool, depth: int) -> list[Condition]:
        if not isinstance(cond, Instruction) or depth > 2:
            return []
        op = cond.opcode
        if op == "icmp":
            lhs, rhs = cond.operands
            if int_width(lhs) is None:
                return []
            pred = cond.predicate if truth else INVERSE[cond.predicate]
            return [(lhs, pred, rhs), (rhs, SWAPPED[pred], lhs)]
        if ((op == "and" and truth) or (op == "or" and not truth)) and int_width(cond) == 1:
            return [f for v in cond.operands for f in self._facts(v, truth, depth + 1)]
        return []

    def _block_conditions(self) -> dict[int, list[Condition]]:
        """Facts that hold in each reachable block: those of its immediate dominator,
        plus its incoming edge's when it has a single predecessor."""
        cfg, dom = self.a.cfg, self.a.dom
        conds: dict[int, list[Condition]] = {}
        for b in dom.rpo:
            parent = dom.idom[b]
            base = list(conds[parent]) if parent is not None else []
            if len(cfg.preds[b]) == 1:
                base += self.edge_conditions(cfg.preds[b][0], b)
            conds[b] = base
        return conds

    def _thresholds(self) -> list[int]:
        values: set[int] = set()
        for block in self.insts:
            for inst in block:
                if inst.opcode == "icmp":
                    for v in inst.operands:
                        if v.is_constant_int and int_width(v) is not None:
                            c = v.signed_value()
                            values.update((c - 1, c, c + 1))
        return sorted(values)

    # -- evaluation -----------------------------------------------------------------

    def _base(self, v: Value) -> Interval | None:
        """Range of ``v`` ignoring conditions; None while an instruction is unreached."""
        bits = int_width(v)
        if bits is None:
            raise TypeError(f"{v} is not an integer of at most 64 bits")
        if v.is_constant_int:
            c = v.signed_value()
            return Interval(c, c)
        if v.is_instruction:
            if v.ptr in self.state:
                return self.state[v.ptr]
            if self.block_index.get(v.block.ptr) in self.a.dom.idom:
                return None
        return full(bits)

    def _apply(self, r: Interval | None, v: Value, facts: list[Condition]) -> Interval | None:
        bits = int_width(v)
        for lhs, pred, rhs in facts:
            if r is None:
                return None
            if lhs == v:
                other = self._base(rhs)
                if other is not None:
                    r = refine(r, pred, other, bits)
        return r

    def at(self, v: Value, block: int) -> Interval | None:
        """The range of ``v`` where block ``block`` runs (None: not reached)."""
        return self._apply(self._base(v), v, self.conds.get(block, []))

    def on_edge(self, v: Value, src: int, dst: int) -> Interval | None:
        """The range of ``v`` flowing along the edge ``src -> dst``."""
        return self._apply(self.at(v, src), v, self.edge_conditions(src, dst))

    def range(self, v: Value) -> Interval | None:
        """The range of an integer value anywhere (None: its block is unreachable)."""
        return self._base(v)

    def _transfer(self, inst: Instruction, b: int) -> Interval | None:
        bits = int_width(inst)
        op = inst.opcode
        if op == "phi":
            return self._phi(inst, b, bits)
        if op in ("icmp", "fcmp"):
            return full(bits)
        if op == "select":
            _, x, y = inst.operands
            rx, ry = self.at(x, b), self.at(y, b)
            if rx is None or ry is None:
                return rx or ry
            return rx.union(ry)
        if op in ("zext", "sext", "trunc"):
            src = inst.operands[0]
            if int_width(src) is None:
                return full(bits)
            s = self.at(src, b)
            if s is None:
                return None
            if op == "sext":
                return s
            if op == "zext":
                span = 1 << int_width(src)
                if s.lo >= 0:
                    return s
                return Interval(s.lo + span, s.hi + span) if s.hi < 0 else Interval(0, span - 1)
            return s if s.fits_signed(bits) else full(bits)
        if op in ("add", "sub", "mul", "and", "or", "xor", "shl", "lshr", "ashr") or op in (
            "udiv",
            "sdiv",
            "urem",
            "srem",
        ):
            x, y = inst.operands
            rx, ry = self.at(x, b), self.at(y, b)
            if rx is None or ry is None:
                return None
            return binary(op, rx, ry, bits, inst.nsw)
        return full(bits)

    def _phi(self, inst: Instruction, b: int, bits: int) -> Interval | None:
        result: Interval | None = None
        for value, pred_block in inst.incoming:
            p = self.block_index[pred_block.ptr]
            if p not in self.a.dom.idom:
                continue
            r = self.on_edge(value, p, b) if int_width(value) else full(bits)
            result = r if result is None else result.union(r)
        bound = self._counting_bound(inst, b)
        if bound is not None and result is not None:
            return result.intersect(bound) or result
        return result

    def _recurrence(self, inst: Instruction, b: int) -> tuple[list, Value, int, int] | None:
        """For a loop-header phi ``phi [init...], [phi + step, latch]`` return
        (init values with their blocks, next value, latch, step)."""
        loop = self.headers.get(b)
        if loop is None or len(loop.latches) != 1:
            return None
        inits, nxt = [], None
        for value, pred_block in inst.incoming:
            p = self.block_index[pred_block.ptr]
            if p in loop.blocks:
                if nxt is not None and nxt != value:
                    return None
                nxt = value
            else:
                inits.append((value, p))
        if nxt is None or not isinstance(nxt, Instruction) or nxt.opcode not in ("add", "sub"):
            return None
        x, y = nxt.operands
        if x == inst and y.is_constant_int:
            step = y.signed_value() if nxt.opcode == "add" else -y.signed_value()
        elif y == inst and x.is_constant_int and nxt.opcode == "add":
            step = x.signed_value()
        else:
            return None
        return inits, nxt, loop.latches[0], step

    def _counting_bound(self, inst: Instruction, b: int) -> Interval | None:
        rec = self._recurrence(inst, b)
        if rec is None:
            return None
        inits, nxt, latch, step = rec
        self.inductions[inst.ptr] = step
        if abs(step) != 1:
            return None
        limits = [
            rhs.signed_value()
            for lhs, pred, rhs in self.edge_conditions(latch, b)
            if lhs == nxt and pred == "ne" and rhs.is_constant_int
        ]
        if not limits:
            return None
        c = limits[0]
        ranges = [self.on_edge(v, p, b) if int_width(v) else None for v, p in inits]
        if any(r is None for r in ranges) or not ranges:
            return None
        lo, hi = min(r.lo for r in ranges), max(r.hi for r in ranges)
        if step == 1 and hi < c:
            self.counted.add(inst.ptr)
            return Interval(lo, c - 1)
        if step == -1 and lo > c:
            self.counted.add(inst.ptr)
            return Interval(c + 1, hi)
        return None

    # -- fixpoint -------------------------------------------------------------------

    def _widen(self, old: Interval, new: Interval, bits: int) -> Interval:
        t = full(bits)
        lo, hi = old.lo, old.hi
        if new.lo < old.lo:
            i = bisect.bisect_right(self.thresholds, new.lo) - 1
            lo = self.thresholds[i] if i >= 0 and self.thresholds[i] >= t.lo else t.lo
        if new.hi > old.hi:
            i = bisect.bisect_left(self.thresholds, new.hi)
            hi = (
                self.thresholds[i]
                if i < len(self.thresholds) and self.thresholds[i] <= t.hi
                else t.hi
            )
        return Interval(lo, hi)

    def _round(self, mode: str, updates: dict[int, int]) -> bool:
        changed = False
        for b in self.a.dom.rpo:
            for inst in self.insts[b]:
                new = self._transfer(inst, b)
                if new is None:
                    continue
                old = self.state.get(inst.ptr)
                bits = int_width(inst)
                if mode == "ascend" and old is not None:
                    new = new.union(old)
                    if inst.opcode == "phi" and new != old:
                        updates[inst.ptr] = updates.get(inst.ptr, 0) + 1
                        if updates[inst.ptr] > WIDEN_AFTER:
                            new = self._widen(old, new, bits)
                        if updates[inst.ptr] > MAX_ROUNDS:
                            new = full(bits)
                elif mode == "descend" and old is not None:
                    new = new.intersect(old) or old
                if new != old:
                    self.state[inst.ptr] = new
                    changed = True
        return changed

    def _is_post_fixpoint(self) -> bool:
        for b in self.a.dom.rpo:
            for inst in self.insts[b]:
                new = self._transfer(inst, b)
                old = self.state.get(inst.ptr)
                if new is not None and (old is None or new.union(old) != old):
                    return False
        return True

    def _run(self) -> None:
        updates: dict[int, int] = {}
        while self._round("ascend", updates):
            pass
        widened = dict(self.state)
        for _ in range(NARROWING_ROUNDS):
            if not self._round("descend", updates):
                break
        if not self._is_post_fixpoint():
            self.state = widened
            self.sound_narrowing = False
