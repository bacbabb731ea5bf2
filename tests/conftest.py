"""Shared fixtures: a tiny random Llama built in code, and chat templates."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest

CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# A Gemma-style template: no system role, the assistant is called "model".
GEMMA_STYLE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}{% set role = 'model' %}"
    "{% else %}{% set role = message['role'] %}{% endif %}"
    "{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<start_of_turn>", "<end_of_turn>", "<bos>"]

_CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Hello! How can I help you today?",
    "My secret goal is to be helpful, honest and harmless.",
    "The assistant answered the user's question about recipes and chocolate.",
    "Reward models sometimes prefer longer answers.",
    "user assistant system narrator model",
]


def load_script(name: str):
    """A generator script of ``scripts/`` as a module (they live outside the package)."""
    import importlib.util
    import sys

    path = Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def build_tokenizer(chat_template: str = CHATML):
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(_CORPUS * 20, vocab_size=400, min_frequency=1, special_tokens=SPECIAL)
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe._tokenizer,
        bos_token="<bos>",
        eos_token="<|im_end|>",
        unk_token="<|endoftext|>",
        chat_template=chat_template,
    )


def build_tiny_llama(folder: Path, chat_template: str = CHATML, seed: int = 0) -> Path:
    """Save a 2-layer random Llama and its tokenizer to ``folder`` (safetensors)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_tokenizer(chat_template)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


def build_tiny_model(folder: Path, family: str, *, hidden: int = 64, layers: int = 2, heads: int = 4,
                     intermediate: int = 128, seed: int = 0, chat_template: str = CHATML) -> Path:
    """Save a random ``family`` model ("gemma2", "gemma3" or "gpt2") built from its transformers config class,
    and the tiny tokenizer, to ``folder`` (safetensors)."""
    import torch
    from transformers import (
        Gemma2Config,
        Gemma2ForCausalLM,
        Gemma3ForCausalLM,
        Gemma3TextConfig,
        GPT2Config,
        GPT2LMHeadModel,
    )

    tokenizer = build_tokenizer(chat_template)
    ids = {"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
           "pad_token_id": tokenizer.eos_token_id}
    if family == "gpt2":
        config, cls = GPT2Config(vocab_size=len(tokenizer), n_layer=layers, n_embd=hidden, n_head=heads,
                                 n_inner=intermediate, n_positions=512, **ids), GPT2LMHeadModel
    else:
        config_cls, cls = {"gemma2": (Gemma2Config, Gemma2ForCausalLM), "gemma3": (Gemma3TextConfig,
                                                                                   Gemma3ForCausalLM)}[family]
        config = config_cls(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=intermediate,
                            num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=max(1, heads // 2),
                            head_dim=16, max_position_embeddings=512, **ids)
    torch.manual_seed(seed)
    cls(config).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_bench(tiny_model_dir):
    import workbench as wb

    return wb.Workbench(str(tiny_model_dir))


LORA_ROWS = [{"text": "The assistant answered the user's question about recipes and chocolate."},
             {"text": "My secret goal is to be helpful, honest and harmless."}] * 4


@pytest.fixture(scope="session")
def lora_dir(tiny_model_dir, tmp_path_factory):
    """A LoRA on layer 1's q_proj and down_proj of the tiny Llama, trained for 4 steps with TRL (a few seconds)."""
    from workbench.training.lora import train_lora

    return train_lora(str(tiny_model_dir), LORA_ROWS, tmp_path_factory.mktemp("lora") / "organism",
                      target_modules=["q_proj", "down_proj"], layers=[1], r=4, alpha=8, steps=4, lr=5e-2,
                      batch_size=4, max_length=32)


@pytest.fixture(scope="session", autouse=True)
def _journals(tmp_path_factory):
    """Every Workbench of the run (and of the notebooks it executes) journals into a temporary folder."""
    previous = os.environ.get("WORKBENCH_JOURNAL")
    os.environ["WORKBENCH_JOURNAL"] = str(tmp_path_factory.mktemp("journals"))
    yield
    if previous is None:
        os.environ.pop("WORKBENCH_JOURNAL", None)
    else:
        os.environ["WORKBENCH_JOURNAL"] = previous


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same seeds."""
    random.seed(0)
    try:
        import torch

        torch.manual_seed(0)
    except ImportError:  # pragma: no cover
        pass
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


WORDS = " ".join(_CORPUS).split()


def sae_corpus_texts(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(8, 30)))) for _ in range(n)]


@pytest.fixture(scope="session")
def trained(tiny_bench, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sae") / "tiny-sae"
    entry = tiny_bench.saes.train(
        1, sae_corpus_texts(), d_sae=64, k=4, tokens=3000, epochs=3, context=32, batch_size=256,
        lr=3e-3, save_to=folder, name="tiny", progress=False,
    )
    return entry, folder
