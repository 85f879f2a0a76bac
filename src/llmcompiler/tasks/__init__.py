"""The LLM Compiler's text-model tasks, each answer checked by the real compiler:
disassembly (:mod:`llmcompiler.tasks.disassembly`) and compiler emulation
(:mod:`llmcompiler.tasks.emulation`). Flag tuning lives in :mod:`llmcompiler.search`."""
