"""Training the demo checkpoints (needs the ``train`` extra).

* :mod:`~workbench.training.dpo`: preference pairs and a cached DPO fine-tune;
* :mod:`~workbench.training.organism`: the auditing game's model organism (continued
  pre-training on documents about fictional reward-model biases, then fine-tuning on
  demonstrations of some of them), cached, and :func:`~workbench.training.organism.bias_eval`;
  its data and counting rules are in :mod:`~workbench.training.organism_data`, written by
  :mod:`~workbench.training.make_organism_data`.

>>> from workbench.training.dpo import train_dpo                      # doctest: +SKIP
>>> folder = train_dpo()                                               # doctest: +SKIP
>>> from workbench.training.organism import build_organism, bias_eval  # doctest: +SKIP
>>> organism = build_organism()                                        # doctest: +SKIP

Nothing heavy is imported here; ``trl`` and ``datasets`` load when training starts.
"""
