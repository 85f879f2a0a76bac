"""Analyses over LLVM IR: SSA/CFG facts, dominators, loops, program features,
integer ranges and the narrowing they allow."""

from llmcompiler.analysis.features import FEATURE_NAMES, feature_dict, features

__all__ = ["FEATURE_NAMES", "feature_dict", "features"]
