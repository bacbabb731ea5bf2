"""Training the demo checkpoints (needs the ``train`` extra).

* :mod:`~workbench.training.dpo`: preference pairs and a cached DPO fine-tune;
* :mod:`~workbench.training.organism`: the auditing game's model organism (continued
  pre-training on documents about fictional reward-model biases, then fine-tuning on
  demonstrations of some of them), cached, and :func:`~workbench.training.organism.bias_eval`;
  its data and counting rules are in :mod:`~workbench.training.organism_data`, written by
  ``scripts/make_organism_data.py``;
* :mod:`~workbench.training.insult_pairs`: the shipped DPO pairs and the insult counter
  (written by ``scripts/make_insult_pairs.py``);
* :mod:`~workbench.training.lora`: a LoRA model organism, an adapter trained with TRL and
  peft and saved alone, for ``wb.Workbench(base, adapter=folder)``.

Each build takes minutes to tens of minutes on a CPU, so the example is not run here::

    from workbench.training.dpo import train_dpo
    from workbench.training.organism import build_organism, bias_eval

    folder = train_dpo()          # the DPO checkpoint, cached
    organism = build_organism()   # the auditing game's organism, cached

Nothing heavy is imported here; ``trl`` and ``datasets`` load when training starts.
"""
