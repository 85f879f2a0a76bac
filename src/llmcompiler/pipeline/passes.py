"""One pass at one level, and the one name of the -Oz pipeline."""

from __future__ import annotations

from dataclasses import dataclass

#: The -Oz pipeline, as opt -passes= and every llmcompiler table write it.
OZ = "default<Oz>"

LEVELS = ("module", "cgscc", "function", "loop", "loop-mssa")
DEPTH = {"module": 0, "cgscc": 1, "function": 2, "loop": 3, "loop-mssa": 3}


@dataclass(frozen=True)
class Pass:
    """One pass: its full text (parameters included) and the level it runs at.

    Raises ValueError for a level not in :data:`LEVELS`.
    """

    name: str
    level: str

    def __post_init__(self) -> None:
        if self.level not in DEPTH:
            raise ValueError(
                f"pass {self.name!r}: level must be one of {LEVELS}, not {self.level!r}"
            )

    @property
    def base(self) -> str:
        """The name without ``<parameters>``: ``sroa<modify-cfg>`` -> ``sroa``."""
        return self.name.split("<", 1)[0]
