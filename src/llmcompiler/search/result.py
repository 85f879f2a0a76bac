"""What ``optimize`` returns: the -Oz and best measures, the pass list, how it was
checked, and the model's proposals."""

from __future__ import annotations

from dataclasses import dataclass

from llmcompiler.llvm import options
from llmcompiler.pipeline import steps_in
from llmcompiler.pipeline.diff import describe
from llmcompiler.search.space import Genome


@dataclass(frozen=True)
class Measure:
    """Binary size (llc-19; None when code generation failed, which only the
    instruction-count objective tolerates) and instruction count."""

    size: int | None
    instcount: int


@dataclass(frozen=True)
class Proposal:
    """One pass list a model proposed, as the compiler measured it (llc-19).

    ``size``/``instcount`` are None when the list was invalid or failed (``error`` says
    why); ``error`` is also set for a list that ran but was rejected by a check.
    """

    pipeline: str | None
    error: str | None
    size: int | None
    instcount: int | None


@dataclass(frozen=True)
class TuneResult:
    """The outcome for one program. ``validated`` is True/False, or None when not checked."""

    file: str
    objective: str
    oz: Measure
    pipeline: str
    best: Measure
    improvement_pct: float
    evaluations: int
    seconds: float
    validated: bool | None
    validation: str
    method: str
    discarded: tuple[tuple[str, str], ...] = ()  # (pipeline, why) of rejected winners
    output: bytes | None = None
    #: other lists that beat -Oz in search: (pipeline, size, instcount, improvement %),
    #: measured with the fast emitter and not minimized; autotuning stores them.
    runners_up: tuple[tuple[str, int, int, float], ...] = ()
    #: the returned list as search's genes (an edited -Oz is one gene)
    genome: Genome = ()
    #: the model's candidates, in the model's order (empty without a model)
    proposals: tuple[Proposal, ...] = ()
    #: seconds one -Oz measurement takes (the reference tools; as first measured when
    #: it came from the cache): about the floor of any evaluation
    oz_seconds: float = 0.0

    def summary(self) -> str:
        """The pass list in one readable line: what it adds, removes or changes against
        ``default<Oz>`` (:func:`llmcompiler.pipeline.diff.describe`)."""
        return describe(self.pipeline)

    @property
    def needs_llmc(self) -> bool:
        """True when the list holds llmcompiler's own steps: only ``llmc opt`` can
        reproduce it, not opt-19."""
        return bool(steps_in(self.pipeline))

    @property
    def llvm_options(self) -> tuple[str, ...]:
        """The process-wide LLVM options the list was measured with that change one of
        its passes (:mod:`llmcompiler.llvm.options`): opt-19 reproduces it only with
        them."""
        return options.needed_by(self.pipeline)

    @property
    def passes(self) -> int:
        """Length of the returned list in genes (-Oz, edited or not, counts as one)."""
        return len(self.genome)

    def to_json(self) -> dict:
        return {
            "file": self.file,
            "objective": self.objective,
            "oz": {"size": self.oz.size, "instcount": self.oz.instcount},
            "best": {
                "pipeline": self.pipeline,
                "summary": self.summary(),
                "size": self.best.size,
                "instcount": self.best.instcount,
            },
            "needs_llmc": self.needs_llmc,
            "llvm_options": list(self.llvm_options),
            "improvement_pct": round(self.improvement_pct, 3),
            "evaluations": self.evaluations,
            "seconds": round(self.seconds, 3),
            "oz_seconds": round(self.oz_seconds, 3),
            "validated": self.validated,
            "validation": self.validation,
            "method": self.method,
            "discarded": [{"pipeline": p, "reason": r} for p, r in self.discarded],
            **(
                {
                    "proposals": [
                        {"pipeline": p.pipeline, "error": p.error, "size": p.size}
                        for p in self.proposals
                    ]
                }
                if self.proposals
                else {}
            ),
        }
