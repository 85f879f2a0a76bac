"""The evaluation harness: run a method or a model over a task's items and score each.

- :mod:`.config`: a run's settings (:class:`~.config.EvalConfig`) and what it produced
  (:class:`~.config.EvalRun`);
- :mod:`.flag_tuning`: every program through the tuner, with and without the -Oz
  fallback;
- :mod:`.text_tasks`: emulation and disassembly, a text model's answers scored by
  :mod:`llmcompiler.tasks`;
- :mod:`.metrics`: the scores and summaries; :mod:`.report`: ``results.json`` and
  ``report.html``.

An item that cannot be evaluated gives a row with ``error`` and the run goes on.
Results are not cached, so evaluations and seconds are what the run cost.
"""
