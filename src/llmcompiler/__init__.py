"""llmcompiler: language models and the real LLVM compiler, together, to optimize code."""

__version__ = "0.1.0"
