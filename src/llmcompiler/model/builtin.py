"""The model shipped with llmcompiler (``--model builtin``): the flag-tuning ranker.

It does flag tuning only: it proposes pass lists for a program's IR (see
:mod:`llmcompiler.model.ranker` and the model card, ``data/model/MODEL_CARD.md``).
Emulation and disassembly need a text model: ``--model PATH`` to a checkpoint.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from llmcompiler.errors import ModelError
from llmcompiler.model.base import Candidate, candidate_from_pipeline
from llmcompiler.model.ranker import META_FILE, Ranker
from llmcompiler.program import Program

BUILTIN_ONLY_FLAG_TUNING = (
    "the built-in model does flag tuning only; for {task} give --model PATH to a Hugging "
    "Face checkpoint trained for it (e.g. one made by llmc train, or Meta's llm-compiler-7b-ftd)"
)


class RankerModel:
    """A pass-list model backed by a fitted :class:`Ranker`."""

    def __init__(self, ranker: Ranker, name: str) -> None:
        self.ranker = ranker
        self.name = name

    def propose(self, program: Program, k: int) -> list[Candidate]:
        """The k lists the ranker recommends for ``program``, best first, validated: a
        list the vocabulary now rejects (a pass found to miscompile since the model was
        fitted) is passed over for the next one."""
        out = []
        for pipeline, gain in self.ranker.propose(program, len(self.ranker.lists)):
            candidate = candidate_from_pipeline(pipeline, score=gain)
            if candidate.pipeline is not None:
                out.append(candidate)
            if len(out) == k:
                break
        return out

    def close(self) -> None:
        pass


def builtin_path(objective: str = "size") -> Path:
    """The shipped ranker for ``objective``: ``data/model`` (binary size) or
    ``data/model/<objective>`` where one was learned for that objective, else the size one."""
    size = Path(str(resources.files("llmcompiler.data").joinpath("model")))
    own = size / objective
    return own if objective != "size" and (own / META_FILE).is_file() else size


def load_builtin(objective: str = "size") -> RankerModel:
    """The shipped model for ``objective`` (see :func:`builtin_path`).

    Raises:
        ModelError: the package was installed without its model files.
    """
    path = builtin_path(objective)
    if not (path / META_FILE).is_file():
        raise ModelError(f"the built-in model is missing from this installation ({path})")
    learned = objective if path.name == objective else "size"
    return RankerModel(Ranker.load(path), f"builtin (llmcompiler ranker, {learned})")


def load_ranker(path: str | Path) -> RankerModel:
    """A ranker model directory (made by ``llmc ranker fit``).

    Raises:
        ModelError: not a ranker directory, or made for other features.
    """
    return RankerModel(Ranker.load(path), f"ranker {path}")
