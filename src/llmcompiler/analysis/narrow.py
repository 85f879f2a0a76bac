"""Integer narrowing: find operations whose values provably fit a narrower type,
and rewrite them to compute in it.

An opportunity is an integer instruction of 16, 32 or 64 bits whose range
(:mod:`llmcompiler.analysis.intervals`) shows it can run in 8, 16 or 32 bits
with the same result:

- ``add sub mul and or xor`` and ``shl`` by a constant: truncation to n bits
  commutes with them (arithmetic modulo 2**n), so when the *result* fits n bits
  the narrow operation, extended back, gives the wide value — whatever the
  operands are.
- ``lshr udiv urem`` need both operands to fit n bits unsigned; ``ashr sdiv
  srem`` need them to fit signed (and ``srem`` must not see INT_MIN % -1).
- a ``phi`` or ``select`` whose result fits: its inputs are truncated.
- an ``icmp`` whose operands both fit n bits in the predicate's signedness.

Results that are a single constant are left to constant folding. Each
opportunity carries its proof (the ranges and the rule). :func:`apply_narrowing`
rewrites a module: the narrow instruction, truncations of its inputs (or the
narrow value itself when an input was narrowed too, or the source of an
extension from that width), and a ``sext``/``zext`` back for the remaining wide
users; then it erases the wide instruction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from llmcompiler.analysis.facts import analyze
from llmcompiler.analysis.intervals import Interval, RangeAnalysis, int_width
from llmcompiler.llvm import Module
from llmcompiler.llvm.builder import Builder, const_int, int_type
from llmcompiler.llvm.ir import Function, Instruction, Value, functions

WIDTHS = (8, 16, 32)
COMMUTING = ("add", "sub", "mul", "and", "or", "xor", "shl")
UNSIGNED_OPS = ("lshr", "udiv", "urem")
SIGNED_OPS = ("ashr", "sdiv", "srem")
SIGNED_PREDICATES = ("slt", "sle", "sgt", "sge")
UNSIGNED_PREDICATES = ("ult", "ule", "ugt", "uge")
_EH_PADS = ("landingpad", "catchpad", "cleanuppad", "catchswitch")


@dataclass(frozen=True)
class Opportunity:
    """One instruction that can compute in a narrower type, with its proof.

    Attributes:
        function: the enclosing function's name.
        value: the instruction's printed name, e.g. '%i.next' or '%12'.
        instruction: the instruction's IR text.
        kind: 'operation', 'phi', 'induction variable', 'select' or 'comparison'.
        opcode: the IR opcode.
        width, narrow_width: the bit widths before and after.
        extend: 'sext' or 'zext' back to the wide type ('' for comparisons).
        result: the result's range (None for comparisons).
        operands: ranges of the integer operands where the instruction runs.
        proof: why the narrow instruction gives the same values, in words.
    """

    function: str
    value: str
    instruction: str
    kind: str
    opcode: str
    width: int
    narrow_width: int
    extend: str
    result: Interval | None
    operands: list[Interval | None] = field(default_factory=list)
    proof: str = ""

    def to_json(self) -> dict:
        out = asdict(self)
        out["result"] = None if self.result is None else [self.result.lo, self.result.hi]
        out["operands"] = [None if r is None else [r.lo, r.hi] for r in self.operands]
        return out


@dataclass(frozen=True)
class Refusal:
    """A candidate instruction that stays wide, and why."""

    function: str
    value: str
    opcode: str
    width: int
    reason: str


@dataclass
class NarrowReport:
    """Opportunities and refusals over a module.

    Attributes:
        examined: integer instructions of 16-64 bits with a narrowable opcode.
        opportunities: those that can be narrowed.
        refused: the others, each with its reason.
    """

    examined: int = 0
    opportunities: list[Opportunity] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "examined": self.examined,
            "opportunities": [o.to_json() for o in self.opportunities],
            "refused": [asdict(r) for r in self.refused],
        }


@dataclass(frozen=True)
class _Plan:
    inst: Instruction
    narrow: int
    extend: str
    nsw: bool
    nuw: bool
    opportunity: Opportunity


def _fits(r: Interval | None, bits: int, signed: bool) -> bool:
    return r is not None and (r.fits_signed(bits) if signed else r.fits_unsigned(bits))


def _describe(r: Interval, bits: int) -> str:
    if r.fits_signed(bits):
        return f"fits i{bits} signed"
    return f"fits i{bits} unsigned"


def _plan_instruction(
    inst: Instruction, b: int, ra: RangeAnalysis, fname: str, vname: str
) -> _Plan | str:
    """Decide one instruction: a plan, or the reason it stays wide."""
    op, width = inst.opcode, int_width(inst)
    if op == "icmp":
        x, y = inst.operands
        width = int_width(x)
        rx, ry = ra.at(x, b), ra.at(y, b)
        if rx is None or ry is None:
            return "unreachable"
        pred = inst.predicate
        for n in (w for w in WIDTHS if w < width):
            signed_ok = (
                pred not in UNSIGNED_PREDICATES and _fits(rx, n, True) and _fits(ry, n, True)
            )
            unsigned_ok = (
                pred not in SIGNED_PREDICATES and _fits(rx, n, False) and _fits(ry, n, False)
            )
            if signed_ok or unsigned_ok:
                how = "signed" if signed_ok else "unsigned"
                proof = (
                    f"operands {rx} and {ry} both fit i{n} {how}, so icmp {pred} "
                    f"compares the same values in i{n}"
                )
                opp = Opportunity(
                    fname, vname, str(inst), "comparison", op, width, n, "", None, [rx, ry], proof
                )
                return _Plan(inst, n, "", False, False, opp)
        return f"operands {rx} and {ry} do not both fit a narrower type"

    r = ra.range(inst)
    if r is None:
        return "unreachable"
    if r.is_constant:
        return f"constant result {r.lo} (left to constant folding)"
    operands = inst.operands
    if op == "phi" and inst.block.first_non_phi().opcode in _EH_PADS:
        return "its block starts with an exception-handling pad: no room for the extension"
    if op == "phi":
        ints = [ra.at(v, ra.block_index[blk.ptr]) for v, blk in inst.incoming]
    elif op == "select":
        ints = [ra.at(v, b) for v in operands[1:]]
    else:
        ints = [ra.at(v, b) for v in operands]
    for n in (w for w in WIDTHS if w < width):
        signed = r.fits_signed(n)
        if not (signed or r.fits_unsigned(n)):
            continue
        extend = "sext" if r.lo < 0 else "zext"
        if op in COMMUTING:
            if op == "shl" and not (operands[1].is_constant_int and operands[1].signed_value() < n):
                return "shift amount is not a constant below the narrow width"
            proof = (
                f"result {r} {_describe(r, n)}; {op} commutes with truncation to i{n} "
                f"(arithmetic modulo 2^{n}), so {extend}({op} i{n}) equals the i{width} result"
            )
            both = [x for x in ints if x is not None]
            nsw = op in ("add", "sub", "mul") and all(x.fits_signed(n) for x in both + [r])
            nuw = op in ("add", "sub", "mul") and all(x.fits_unsigned(n) for x in both + [r])
            if nsw or nuw:
                proof += (
                    f"; operands {', '.join(map(str, both))} and result fit i{n}, so the narrow "
                    f"{op} cannot overflow ({'nsw' if nsw else ''}{' ' if nsw and nuw else ''}"
                    f"{'nuw' if nuw else ''})"
                )
            kind = "operation"
        elif op in UNSIGNED_OPS or op in SIGNED_OPS:
            want_signed = op in SIGNED_OPS
            if not all(_fits(x, n, want_signed) for x in ints):
                continue
            a, d = ints
            if op == "srem" and a.lo == -(1 << (n - 1)) and d.lo <= -1 <= d.hi:
                return f"srem could see INT_MIN % -1 in i{n}"
            how = "signed" if want_signed else "unsigned"
            proof = (
                f"operands {a} and {d} fit i{n} {how}, so {op} sees the same values in i{n}; "
                f"result {r} {_describe(r, n)}"
            )
            nsw = nuw = False
            kind = "operation"
        elif op in ("phi", "select"):
            what = "incoming values" if op == "phi" else "both arms"
            proof = f"result {r} {_describe(r, n)}, so its {what} can be truncated to i{n}"
            nsw = nuw = False
            kind = op
            if op == "phi" and inst.ptr in ra.inductions:
                kind = "induction variable"
                step = ra.inductions[inst.ptr]
                how = "counting-loop rule" if inst.ptr in ra.counted else "loop exit condition"
                proof = f"induction variable with step {step}, range {r} from the {how}; " + proof
        else:
            return f"{op} is not narrowed"
        opp = Opportunity(fname, vname, str(inst), kind, op, width, n, extend, r, ints, proof)
        return _Plan(inst, n, extend, nsw, nuw, opp)
    return f"result {r} does not fit a narrower type" + (
        "" if op in COMMUTING + ("phi", "select") else " with its operands"
    )


NARROWABLE = COMMUTING + UNSIGNED_OPS + SIGNED_OPS + ("phi", "select", "icmp")


def _plans(fn: Function, report: NarrowReport) -> list[_Plan]:
    a = analyze(fn)
    ra = RangeAnalysis(a)
    plans = []
    for b in a.dom.rpo:
        for inst in a.cfg.blocks[b].instructions():
            if inst.opcode not in NARROWABLE:
                continue
            width = int_width(inst.operands[0] if inst.opcode == "icmp" else inst)
            if width is None or width < 16:
                continue
            report.examined += 1
            vname = a.names.get(inst.ptr, "")
            decision = _plan_instruction(inst, b, ra, fn.name, vname)
            if isinstance(decision, str):
                report.refused.append(Refusal(fn.name, vname, inst.opcode, width, decision))
            else:
                plans.append(decision)
                report.opportunities.append(decision.opportunity)
    return plans


def find_narrowing(module: Module, only: str | None = None) -> NarrowReport:
    """Analyze every defined function (or only ``only``); return the report."""
    report = NarrowReport()
    for fn in functions(module):
        if only is None or fn.name == only:
            _plans(fn, report)
    return report


def apply_narrowing(module: Module, only: str | None = None) -> NarrowReport:
    """Narrow every opportunity in ``module``, in place; return what was found.

    Raises:
        InvalidIRError: the rewritten module fails the verifier (a bug: report it).
    """
    report = NarrowReport()
    for fn in functions(module):
        if only is None or fn.name == only:
            plans = _plans(fn, report)
            if plans:
                _rewrite(module, plans)
    module.verify()
    return report


def _rewrite(module: Module, plans: list[_Plan]) -> None:
    narrow: dict[int, tuple[int, Value]] = {}  # wide ptr -> (width, narrow value)
    extensions: list[Value] = []
    with Builder(module) as builder:

        def operand(v: Value, n: int, before: Instruction) -> Value:
            """``v`` as an n-bit value, built before ``before``."""
            if v.ptr in narrow and narrow[v.ptr][0] == n:
                return narrow[v.ptr][1]
            if v.is_constant_int:
                return const_int(int_type(module, n), v.signed_value())
            if isinstance(v, Instruction) and v.opcode in ("sext", "zext"):
                src = v.operands[0]
                if int_width(src) == n:
                    return src
            builder.position_before(before)
            return builder.trunc(v, int_type(module, n))

        # Phis first (empty), so that loop-carried uses can refer to them.
        for p in plans:
            if p.inst.opcode == "phi":
                builder.position_before(next(p.inst.block.instructions()))
                narrow[p.inst.ptr] = (p.narrow, builder.phi(int_type(module, p.narrow), []))
        for p in plans:
            inst, n = p.inst, p.narrow
            op = inst.opcode
            if op == "phi":
                continue
            if op == "icmp":
                x, y = inst.operands
                nx, ny = operand(x, n, inst), operand(y, n, inst)
                builder.position_before(inst)
                narrow[inst.ptr] = (n, builder.icmp(inst.predicate, nx, ny))
            elif op == "select":
                c, x, y = inst.operands
                nx, ny = operand(x, n, inst), operand(y, n, inst)
                builder.position_before(inst)
                narrow[inst.ptr] = (n, builder.select(c, nx, ny))
            else:
                x, y = inst.operands
                nx, ny = operand(x, n, inst), operand(y, n, inst)
                builder.position_before(inst)
                value = builder.binop(op, nx, ny)
                if isinstance(value, Instruction) and value.opcode == op:
                    if p.nsw:
                        value.set_nsw()
                    if p.nuw:
                        value.set_nuw()
                narrow[inst.ptr] = (n, value)
        for p in plans:
            if p.inst.opcode == "phi":
                node = narrow[p.inst.ptr][1]
                incoming = [
                    (operand(v, p.narrow, blk.terminator), blk) for v, blk in p.inst.incoming
                ]
                node.add_incoming(incoming)
        # Wide users get the narrow value extended back; then the wide one goes.
        for p in plans:
            inst = p.inst
            value = narrow[inst.ptr][1]
            if inst.opcode == "icmp":
                inst.replace_all_uses_with(value)
                continue
            if inst.opcode == "phi":
                builder.position_before(inst.block.first_non_phi())
            else:
                builder.position_before(inst)
            wide = inst.type
            back = builder.sext(value, wide) if p.extend == "sext" else builder.zext(value, wide)
            inst.replace_all_uses_with(back)
            extensions.append(back)
        for p in plans:
            p.inst.erase()
    for back in extensions:  # those only the erased wide instructions used
        if isinstance(back, Instruction) and back.use_count() == 0:
            back.erase()
