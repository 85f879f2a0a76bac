"""Imported by the fork server so every worker starts with libLLVM loaded and initialized."""

from llmcompiler.llvm._ffi import lib

# LLVM's crash handler prints the pass that crashed to the worker's stderr log.
lib().LLVMEnablePrettyStackTrace()
