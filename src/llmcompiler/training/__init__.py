"""Fine-tuning a causal language model on a task dataset: the config (:mod:`.config`),
the examples (:mod:`.data`) and the loop (:mod:`.train`)."""
