"""Task datasets in the LLM Compiler prompt formats: emulation, flag tuning, disassembly.

``llmc dataset build`` turns a corpus directory (:mod:`llmcompiler.corpus.store`) into
JSONL (and optionally Parquet) records with exact prompt and completion strings and the
structured fields they were made from (the directory's files: :mod:`.store`);
``llmc dataset info`` prints a dataset card.
"""

from llmcompiler.datasets.build import DatasetBuild
from llmcompiler.datasets.config import DatasetConfig, assign_split, parse_splits
from llmcompiler.datasets.emulation import EmulationConfig
from llmcompiler.datasets.flag_tuning import FlagTuningConfig
from llmcompiler.datasets.tokens import EstimateTokenizer, HFTokenizer, make_tokenizer

__all__ = [
    "DatasetBuild",
    "DatasetConfig",
    "EmulationConfig",
    "EstimateTokenizer",
    "FlagTuningConfig",
    "HFTokenizer",
    "assign_split",
    "make_tokenizer",
    "parse_splits",
]
