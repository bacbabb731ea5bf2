"""Training the demo checkpoints: preference pairs and a cached DPO fine-tune (needs the ``train`` extra).

>>> from workbench.training.dpo import train_dpo        # doctest: +SKIP
>>> folder = train_dpo()                                 # doctest: +SKIP

Nothing heavy is imported here; ``trl`` and ``datasets`` load when training starts.
"""
