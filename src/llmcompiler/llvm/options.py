"""The process-wide LLVM options llmcompiler's pipelines run with.

A pass of the search vocabulary may have a choice that LLVM makes with a command-line
option (``opt -X``, ``clang -mllvm -X``) rather than a pipeline parameter. One is set:
``iroutliner`` leaves ``linkonce_odr`` functions alone unless
``-enable-linkonceodr-ir-outlining`` is given, and in template C++ most code is there,
so the outliner finds almost nothing (on 84 C++ tuning modules ``default<Oz>,iroutliner``
is 0.11 % smaller than -Oz without the option, 1.21 % with it, up to 19.7 % on one).
The outlined functions are internal and outside every COMDAT group, so the linker
never meets a reference into a discarded group. But a program that links many objects
holding the same template keeps the outlined parts of every object (the linker keeps
one copy of the function; ``--gc-sections`` drops the rest).

Not set: ``-mergefunc-use-aliases`` (``mergefunc`` makes an alias instead of a thunk;
1.99 against 1.71 % on the same modules): the alias of a template's function is
defined in the COMDAT group of the function it merged into, and a link that keeps
that group from an object built without the merge loses the symbol.

The pass is not in ``default<Oz>``, so -Oz is the same with or without the option: the
gain is compared with -Oz under the same choice. The options are set in every process
that runs pipelines in-process (when libLLVM is loaded) and given to ``opt-19``, and a
result names the ones its list needs, so that ``opt-19`` reproduces it.
``LLMC_LLVM_OPTIONS`` chooses them: unset for all, ``none`` for none, or a
comma-separated list of the option names.
"""

from __future__ import annotations

import os
import re

from llmcompiler.errors import UsageError

#: each pass of the vocabulary that a process-wide option changes, and that option
OPTIONS = {
    "iroutliner": "-enable-linkonceodr-ir-outlining",
}

#: the environment variable that chooses them (see the module's docstring)
ENV = "LLMC_LLVM_OPTIONS"


def active() -> tuple[str, ...]:
    """Return the options this process runs pipelines with, in :data:`OPTIONS` order.

    Raises:
        UsageError: ``LLMC_LLVM_OPTIONS`` names an option that is not one of them.
    """
    value = os.environ.get(ENV)
    if value is None:
        return tuple(OPTIONS.values())
    names = {v.strip() for v in value.split(",") if v.strip()} - {"none"}
    unknown = sorted(names - set(OPTIONS.values()))
    if unknown:
        raise UsageError(
            f"{ENV}: unknown option {unknown[0]!r}; use 'none' or a comma-separated list "
            f"of {', '.join(OPTIONS.values())}"
        )
    return tuple(o for o in OPTIONS.values() if o in names)


def needed_by(passes: str | tuple[str, ...]) -> tuple[str, ...]:
    """Return the active options that change a pass of ``passes``: the ``opt-19``
    arguments that reproduce a pipeline (``passes`` is its text or its pass names).

    Raises:
        UsageError: as :func:`active`.
    """
    on = active()
    if isinstance(passes, str):
        passes = tuple(re.findall(r"[\w-]+", passes))
    names = set(passes)
    return tuple(opt for name, opt in OPTIONS.items() if name in names and opt in on)


def tag() -> str:
    """Return a short text naming the active options ('' for none), for keys of stored
    results measured under them."""
    return " ".join(o.lstrip("-") for o in active())
