"""CPU-only model actor for a local NDIF bring-up on a machine with no GPU.

ndif 0.1.2's stock ModelActor (ndif.services.ray.deployments.modeling.base) is
GPU-only: load_from_disk passes device=<gpu index>, then calls
torch.cuda.synchronize() and verify_device_placement() (which raises unless every
tensor is on an assigned cuda device); cleanup() after every request calls
torch.cuda.synchronize()/empty_cache().  This subclass loads on CPU and turns the
unconditional CUDA calls into no-ops.  Select it per model with
`actor_class: ndif_cpu.cpu_actor.CPUModelActor` in the `ndif deploy -f` YAML.
"""
import ray
import torch


# Called unconditionally by BaseModelDeployment (load/cleanup); they raise on a
# box without an NVIDIA driver.  One distinct function per name: torch._dynamo's
# rule map asserts if the same object stands in for two torch functions.
def _cuda_synchronize(*args, **kwargs):
    return None


def _cuda_empty_cache(*args, **kwargs):
    return None


def _cuda_set_device(*args, **kwargs):
    return None


torch.cuda.synchronize = _cuda_synchronize
torch.cuda.empty_cache = _cuda_empty_cache
torch.cuda.set_device = _cuda_set_device

from ndif.services.ray.deployments.modeling import base as _base  # noqa: E402


class CPUModelDeployment(_base.BaseModelDeployment):
    def load_from_disk(self):
        model = _base.HuggingFaceModel.from_model_key(
            self.model_key, dispatch=True, dtype=self.dtype_name, **self.kwargs
        )
        model._module.requires_grad_(False)
        _base.logger.info(f"Loaded {self.model_key} on CPU")
        return model


# max_restarts=0: a failing load must not respawn forever on a 2-core box.
@ray.remote(num_cpus=1, max_restarts=0)
class CPUModelActor(CPUModelDeployment):
    pass
