"""The pipeline model: one reader and printer of ``opt -passes=`` text (:mod:`.tree`),
the flat pass lists search works on (:mod:`.flat`), the LLVM 19 vocabulary, legacy
flags, and -Oz as an editable tree (:mod:`.oz`). ``OZ`` is the one spelling of -Oz."""

from llmcompiler.pipeline.flat import Pipeline, parse_pipeline, random_pipeline, steps_in, validate
from llmcompiler.pipeline.legacy import LegacyConversion, from_legacy, legacy_table
from llmcompiler.pipeline.passes import LEVELS, OZ, Pass
from llmcompiler.pipeline.tree import Node, Tree, leaves, parse_tree, render
from llmcompiler.pipeline.vocabulary import Vocabulary, load_vocabulary

__all__ = [
    "LEVELS",
    "OZ",
    "LegacyConversion",
    "Node",
    "Pass",
    "Pipeline",
    "Tree",
    "Vocabulary",
    "from_legacy",
    "leaves",
    "legacy_table",
    "load_vocabulary",
    "parse_pipeline",
    "parse_tree",
    "random_pipeline",
    "render",
    "steps_in",
    "validate",
]
