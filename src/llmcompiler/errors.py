"""Exceptions a user can cause. The CLI turns each into one line and exit code.

Every error the library raises on purpose derives from :class:`LLMCError`; its
``str()`` is the complete message shown to the user.
"""

from __future__ import annotations


class LLMCError(Exception):
    """Base class: a problem the user can fix (bad input, missing tool)."""

    exit_code = 1


class UsageError(LLMCError):
    """A command line that cannot work, e.g. -o with two inputs or an -o suffix that names no
    output kind."""

    exit_code = 2


class LLVMNotFoundError(LLMCError):
    """libLLVM 19 or one of the LLVM 19 tools is not installed."""

    exit_code = 3


class InputError(LLMCError):
    """A program file is missing, unreadable or of an unknown kind."""


class CompileError(InputError):
    """The C/C++ front end rejected a source file; the message holds its diagnostics."""


class InvalidIRError(InputError):
    """IR or bitcode failed to parse or to verify."""


class PipelineError(LLMCError):
    """A pass pipeline is malformed, names an unknown pass, or is not allowed."""


class EvaluationError(LLMCError):
    """Running a pipeline failed (crash, timeout, verifier rejected its output)."""


class ModelError(LLMCError):
    """A model cannot be loaded or cannot do the task asked of it."""
