"""Tiny random models of every family the workbench supports, each with a chat template in that family's style.

Each :class:`Family` builds, from the family's own transformers config class, a 2-layer
model of hidden size 64 and a byte-level BPE tokenizer trained in code on a small corpus
with the family's special tokens, and saves both with ``save_pretrained`` (safetensors).
The chat templates are short versions of the families' own:

* ChatML (Qwen2, Qwen3, Qwen2-MoE; Llama here too);
* Mistral v0.3: ``[INST] ... [/INST]``, the system text carried inside the last user
  turn, no system role of its own;
* Gemma: ``<start_of_turn>user`` / ``model``, no system role (the template refuses one,
  as Gemma's does);
* Phi-3: ``<|user|>`` / ``<|assistant|>`` / ``<|end|>``;
* OLMo 2 (Tulu): ``<|system|>`` / ``<|user|>`` / ``<|assistant|>`` then the end-of-text token;
* gpt-oss (harmony): ``<|start|>role<|message|>...<|end|>``, the system text as a
  developer message, the assistant's reply on the ``final`` channel;
* plain text for the research models without one (GPT-2, GPT-NeoX): ``User:`` / ``Assistant:``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Hello! How can I help you today?",
    "My secret goal is to be helpful, honest and harmless.",
    "The assistant answered the user's question about recipes and chocolate.",
    "Reward models sometimes prefer longer answers.",
    "user assistant system narrator model developer final User: Assistant:",
]

CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
MISTRAL = (  # v0.3: the system text goes into the last user turn; there is no system role of its own
    "{% if messages[0]['role'] == 'system' %}{% set system = messages[0]['content'] %}"
    "{% set loop_messages = messages[1:] %}{% else %}{% set system = '' %}{% set loop_messages = messages %}{% endif %}"
    "{{ bos_token }}{% for message in loop_messages %}{% if message['role'] == 'user' %}"
    "{% if loop.last and system %}{{ '[INST] ' + system + '\n\n' + message['content'] + '[/INST]' }}"
    "{% else %}{{ '[INST] ' + message['content'] + '[/INST]' }}{% endif %}"
    "{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'] + eos_token }}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported') }}{% endif %}{% endfor %}"
)
GEMMA = (  # Gemma's own template refuses a system message
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
    "{% endif %}{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}"
    "{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)
PHI3 = (
    "{% for message in messages %}{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}"
)
TULU = (
    "{% for message in messages %}{{ '<|' + message['role'] + '|>\n' + message['content'] + '\n' }}"
    "{% if message['role'] == 'assistant' %}{{ eos_token + '\n' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)
HARMONY = (
    "{{ '<|start|>system<|message|>You are a model. Reasoning: low<|end|>' }}"
    "{% for message in messages %}{% if message['role'] == 'system' %}"
    "{{ '<|start|>developer<|message|># Instructions\n\n' + message['content'] + '<|end|>' }}"
    "{% elif message['role'] == 'assistant' %}"
    "{{ '<|start|>assistant<|channel|>final<|message|>' + message['content'] + '<|end|>' }}"
    "{% else %}{{ '<|start|>' + message['role'] + '<|message|>' + message['content'] + '<|end|>' }}"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|start|>assistant' }}{% endif %}"
)
PLAIN = (
    "{% for message in messages %}{% if message['role'] == 'system' %}{{ message['content'] + '\n\n' }}"
    "{% elif message['role'] == 'user' %}{{ 'User: ' + message['content'] + '\n' }}"
    "{% else %}{{ 'Assistant: ' + message['content'] + eos_token + '\n' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)

_SIZES = {"vocab_size": None, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
          "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 1024}


@dataclass(frozen=True)
class Family:
    """One family: its config and model classes, sizes beyond the shared ones, template and special tokens."""

    name: str
    config: str
    model: str
    template: str
    eos: str
    specials: tuple[str, ...]
    sizes: dict = field(default_factory=dict)
    bos: str | None = None
    moe: bool = False  # fused-expert MLPs: no per-neuron value vectors
    system: str = "own"  # the template's system role: "own", "carried" (inside a user turn) or "refused"

    def config_kwargs(self, vocab: int, ids: dict[str, int]) -> dict[str, Any]:
        if self.name == "gpt2":
            kwargs = {"vocab_size": vocab, "n_embd": 64, "n_layer": 2, "n_head": 4, "n_positions": 1024,
                      "n_inner": 128}
        elif self.name == "gpt_neox":
            kwargs = {"vocab_size": vocab, "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                      "intermediate_size": 128, "max_position_embeddings": 1024}
        else:
            kwargs = {**_SIZES, "vocab_size": vocab}
        kwargs.update(self.sizes)
        kwargs.update(eos_token_id=ids[self.eos], pad_token_id=ids[self.eos],
                      bos_token_id=ids[self.bos] if self.bos else ids[self.eos], tie_word_embeddings=True)
        return kwargs


FAMILIES = [
    Family("llama", "LlamaConfig", "LlamaForCausalLM", CHATML, "<|im_end|>", ("<|im_start|>", "<|im_end|>")),
    Family("mistral", "MistralConfig", "MistralForCausalLM", MISTRAL, "</s>", ("<s>", "</s>", "[INST]", "[/INST]"),
           bos="<s>", system="carried"),
    Family("mixtral", "MixtralConfig", "MixtralForCausalLM", MISTRAL, "</s>", ("<s>", "</s>", "[INST]", "[/INST]"),
           sizes={"num_local_experts": 4, "num_experts_per_tok": 2}, bos="<s>", moe=True, system="carried"),
    Family("qwen2", "Qwen2Config", "Qwen2ForCausalLM", CHATML, "<|im_end|>", ("<|im_start|>", "<|im_end|>")),
    Family("qwen3", "Qwen3Config", "Qwen3ForCausalLM", CHATML, "<|im_end|>", ("<|im_start|>", "<|im_end|>"),
           sizes={"head_dim": 16}),
    Family("qwen2_moe", "Qwen2MoeConfig", "Qwen2MoeForCausalLM", CHATML, "<|im_end|>", ("<|im_start|>", "<|im_end|>"),
           sizes={"num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 32,
                  "shared_expert_intermediate_size": 64}, moe=True),
    Family("gemma2", "Gemma2Config", "Gemma2ForCausalLM", GEMMA, "<end_of_turn>",
           ("<bos>", "<start_of_turn>", "<end_of_turn>"),
           # a soft cap small enough to change these random logits, so a lens that forgets it is caught
           sizes={"head_dim": 16, "query_pre_attn_scalar": 16, "final_logit_softcapping": 0.5},
           bos="<bos>", system="refused"),
    Family("gemma3", "Gemma3TextConfig", "Gemma3ForCausalLM", GEMMA, "<end_of_turn>",
           ("<bos>", "<start_of_turn>", "<end_of_turn>"), sizes={"head_dim": 16, "query_pre_attn_scalar": 16},
           bos="<bos>", system="refused"),
    Family("phi3", "Phi3Config", "Phi3ForCausalLM", PHI3, "<|end|>",
           ("<|system|>", "<|user|>", "<|assistant|>", "<|end|>", "<|endoftext|>")),
    Family("gpt2", "GPT2Config", "GPT2LMHeadModel", PLAIN, "<|endoftext|>", ("<|endoftext|>",)),
    Family("gpt_neox", "GPTNeoXConfig", "GPTNeoXForCausalLM", PLAIN, "<|endoftext|>", ("<|endoftext|>",)),
    Family("olmo2", "Olmo2Config", "Olmo2ForCausalLM", TULU, "<|endoftext|>",
           ("<|system|>", "<|user|>", "<|assistant|>", "<|endoftext|>")),
    Family("gpt_oss", "GptOssConfig", "GptOssForCausalLM", HARMONY, "<|end|>",
           ("<|start|>", "<|message|>", "<|end|>", "<|channel|>", "<|return|>"),
           sizes={"num_local_experts": 4, "num_experts_per_tok": 2, "head_dim": 16,
                  "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0}}, moe=True),
]
BY_NAME = {family.name: family for family in FAMILIES}


def tokenizer_for(family: Family):
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    specials = list(dict.fromkeys([*family.specials, family.eos, "<unk>"]))
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(CORPUS * 20, vocab_size=400, min_frequency=1, special_tokens=specials)
    return PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, eos_token=family.eos, unk_token="<unk>",
                                   bos_token=family.bos, pad_token=family.eos, chat_template=family.template)


def build(family: Family, folder: Path, seed: int = 0) -> Path:
    """Save a tiny random model of ``family`` and its tokenizer to ``folder`` (safetensors)."""
    import torch
    import transformers

    tokenizer = tokenizer_for(family)
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in [*family.specials, family.eos]}
    config = getattr(transformers, family.config)(**family.config_kwargs(len(tokenizer), ids))
    torch.manual_seed(seed)
    model = getattr(transformers, family.model)(config)
    model.generation_config.eos_token_id = ids[family.eos]
    model.generation_config.pad_token_id = ids[family.eos]
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder
