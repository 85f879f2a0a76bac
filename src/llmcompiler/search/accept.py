"""The one acceptance path of the tuner: every candidate pass list, whether it came
from search, the coreset or a model, is measured with llc-19 (for instruction count:
without code generation), checked for linkage,
compared with -Oz and validated against the -O0 build, and the first that passes
is kept; when none passes, -Oz is returned (validated or not, and said so)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from llmcompiler.engine import EvalResult, Evaluator, Objective
from llmcompiler.llvm.objsize import undefined_symbols
from llmcompiler.llvm.runtime import why_not
from llmcompiler.pipeline import OZ
from llmcompiler.program import Program
from llmcompiler.search.space import OZ_GENE, Genome
from llmcompiler.search.validate import RunSpec, Validator

#: Final numbers: llc-19's object file, exact (search uses the fast in-process emitter).
EXACT = Objective(metric="size", size_path="llc")
#: Final numbers of the instruction-count objective: no code generation at all, so a
#: module whose code generation fails (LLVM 19 crashes on some real modules) is tuned.
INSTCOUNT = Objective(metric="instcount")


def reference(metric: str) -> Objective:
    """The objective candidates are accepted on: :data:`EXACT` for size, and
    :data:`INSTCOUNT` (no code generation) for instruction count."""
    return EXACT if metric == "size" else INSTCOUNT


#: Added to the validation text when -Oz itself fails the differential check.
OZ_DIFFERS = (
    "(-Oz itself differs from the -O0 build: the program's behaviour depends on "
    "optimization, e.g. undefined behaviour; -Oz is returned as clang gives it)"
)

_AVAILABLE_EXTERNALLY = re.compile(
    r"^define available_externally [^@]*@(\"[^\"]+\"|[\w.$]+)\(", re.M
)


class LinkageCheck:
    """Rejects a list that leaves a call to an ``available_externally`` function (a C99
    or GNU inline definition) that -Oz inlined: codegen never emits such a body, so the
    object is smaller only because code is missing, and it does not link on its own."""

    def __init__(self, evaluator: Evaluator, program: Program) -> None:
        self.evaluator, self.program = evaluator, program
        ir = (evaluator.evaluate(program, "", INSTCOUNT, output="ir").output or b"").decode()
        self.names = {n.strip('"') for n in _AVAILABLE_EXTERNALLY.findall(ir)}
        #: the lists :meth:`dropped` rejected
        self.rejected: set[str] = set()
        self.oz_undefined: frozenset[str] = frozenset()
        if self.names:
            self.oz_undefined = self._undefined(OZ)

    def _undefined(self, pipeline: str) -> frozenset[str]:
        result = self.evaluator.evaluate(self.program, pipeline, EXACT, output="object")
        return undefined_symbols(result.output) if result.ok else frozenset()

    def dropped(self, pipeline: str) -> str | None:
        """Why ``pipeline`` is rejected, or None when it keeps every body -Oz needs."""
        if not self.names or pipeline == OZ:
            return None
        lost = (self._undefined(pipeline) - self.oz_undefined) & self.names
        if not lost:
            return None
        self.rejected.add(pipeline)
        return (
            f"calls {', '.join(sorted(lost))} where -Oz inlined it; an available_externally "
            "body is never emitted, so the object needs a definition from elsewhere"
        )


@dataclass(frozen=True)
class Accepted:
    """The kept list: its text, its llc-19 measurement, its genes, and how it was checked
    (``validated`` None when not checked)."""

    pipeline: str
    exact: EvalResult
    genome: Genome
    validated: bool | None
    validation: str
    discarded: tuple[tuple[str, str], ...]


class Acceptance:
    """Takes candidates one at a time (:meth:`consider`) until one is accepted, then
    :meth:`finish` gives the kept list, -Oz when nothing passed. Use as a context
    manager: the validator's -O0 build is removed on exit.

    ``oz`` is -Oz's llc-19 result; ``primary`` indexes (size, instcount); ``validate``
    asks for differential testing (programs with ``main`` whose target runs here only:
    otherwise the validation text says why not and ``validated`` stays None).
    """

    def __init__(
        self,
        evaluator: Evaluator,
        program: Program,
        oz: EvalResult,
        primary: int,
        linkage: LinkageCheck,
        validate: bool,
        run: RunSpec,
    ) -> None:
        self.evaluator, self.program, self.oz, self.primary = evaluator, program, oz, primary
        self.objective = reference(("size", "instcount")[primary])
        self.linkage = linkage
        self.validator: Validator | None = None
        if not validate:
            self.validation = "not requested"
        elif not program.has_main:
            self.validation = "not validated (no main)"
        elif cannot := why_not(program.triple):  # bare metal, Mach-O, no emulator...
            self.validation = f"not validated: {cannot}"
        else:
            self.validator = Validator(program, run)
            self.validation = "not requested"
            if self.validator.unusable:  # the reference timed out: nothing can be checked
                self.validation = self.validator.unusable
                self.validator.close()
                self.validator = None
        self.discarded: list[tuple[str, str]] = []
        self.accepted: Accepted | None = None

    def __enter__(self) -> Acceptance:
        return self

    def __exit__(self, *exc) -> None:
        if self.validator is not None:
            self.validator.close()

    @property
    def _how(self) -> str:
        return "with llc-19" if self.objective is EXACT else "without code generation"

    def value(self, result: EvalResult) -> int:
        """The objective's value of a measured result."""
        return result.value(("size", "instcount")[self.primary])

    def consider(self, pipeline: str, genome: Genome, exact: EvalResult | None = None) -> bool:
        """Measure ``pipeline`` with llc-19 (unless ``exact`` is its measurement already),
        check it, and keep it when it beats -Oz and passes every check. Returns True when
        it was kept; a rejected list is recorded in ``discarded`` with the reason."""
        if exact is None:
            want = "bitcode" if self.validator else None
            exact = self.evaluator.evaluate(self.program, pipeline, self.objective, output=want)
        if not exact.ok:
            return self._discard(pipeline, f"{exact.status}: {exact.error}")
        why = self.linkage.dropped(pipeline)
        if why:
            return self._discard(pipeline, why)
        value, base = self.value(exact), self.value(self.oz)
        if value > base or (value == base and pipeline != OZ):
            return self._discard(pipeline, f"no better than -Oz when measured {self._how}")
        if self.validator:
            same, text = self.validator.check(exact.output)
            if not same:
                return self._discard(pipeline, f"validation failed: {text}")
            self.validation = text
        self.accepted = self._accepted(pipeline, exact, genome)
        return True

    def _discard(self, pipeline: str, why: str) -> bool:
        self.discarded.append((pipeline, why))
        return False

    def _accepted(self, pipeline: str, exact: EvalResult, genome: Genome) -> Accepted:
        validated = None
        if self.validator is not None:
            validated = not self.validation.startswith("validation failed")
        return Accepted(pipeline, exact, genome, validated, self.validation, tuple(self.discarded))

    def finish(self) -> Accepted:
        """The kept list, or -Oz (the fallback, validated when asked) when none was kept."""
        if self.accepted is not None:
            return self.accepted
        if self.validator:
            self.validation = self._check_oz()
        return self._accepted(OZ, self.oz, (OZ_GENE,))

    def _check_oz(self) -> str:
        """Validate -Oz itself; return the validation text.

        When -Oz's own build differs from the -O0 build, the program's behaviour depends on
        optimization (undefined behaviour, or reading uninitialized memory): the text says
        so, since no pass list can be checked against such a reference."""
        failed = dict(self.discarded).get(OZ)
        if failed is None:
            with_code = self.evaluator.evaluate(self.program, OZ, self.objective, output="bitcode")
            same, why = self.validator.check(with_code.output)
            if same:
                return why
            failed = f"validation failed: {why}"
        return f"{failed} {OZ_DIFFERS}"
