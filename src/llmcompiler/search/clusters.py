"""Lists tried first for programs of a kind that a feature of the module recognizes:
a coreset per program cluster, where the cluster is plain to see.

**Template C++.** When nearly all of a module's code is in ``linkonce_odr`` and
``weak_odr`` functions (:attr:`Program.odr_share`: templates and inline functions), the
IR outliner after -Oz is worth its one evaluation: with
``-enable-linkonceodr-ir-outlining`` (:mod:`llmcompiler.llvm.options`) it shares the
code that every instantiation repeats. Learned on the tuning side only: of its 84 C++
modules, the 12 with a share of 0.9 or more gained from ``default<Oz>,iroutliner``
alone up to 19.7 % (8 of 12 by 3 % or more), those below 0.9 rarely and little
(at most 3.7 %). Search found those lists late or never, since the coresets' IR outliner
lists sit behind others and large modules leave time for few. Tried right after the
first two seeds (the first round, which runs to its end on two workers) and not
screened on a sample (:mod:`.screen`), on those 12 modules binary size at 1 / 5 s went
from 8.39 / 9.54 % to 12.32 / 12.35 % below -Oz, instruction count from 10.27 / 15.76 %
to 11.42 / 15.89 %. Inside the first round, or screened with the model's lists, it
gained more there at 1 s (instruction count 14.45 and 13.76 %), but on a test module
it then took the place of the model's list that wins within 1 s (19.56 → 13.23 %): on
a sample of the module the outliner looks better than on the whole.
"""

from __future__ import annotations

from llmcompiler.llvm import options
from llmcompiler.program import Program

#: the share of a module's IR instructions in ODR functions from which it is template C++
TEMPLATE_SHARE = 0.9
#: the list template C++ tries early
TEMPLATE_LIST = "default<Oz>,iroutliner"


def cluster_lists(program: Program) -> tuple[str, ...]:
    """Return the lists search tries right after the model's first two for
    ``program`` (none for most programs). The template list needs the option that lets
    the IR outliner into ODR functions; without it (``LLMC_LLVM_OPTIONS=none``) there is
    none.

    Raises:
        UsageError: ``LLMC_LLVM_OPTIONS`` is invalid.
    """
    if program.odr_share >= TEMPLATE_SHARE and options.needed_by(TEMPLATE_LIST):
        return (TEMPLATE_LIST,)
    return ()
