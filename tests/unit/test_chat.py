import pytest

from workbench import chat

from ..conftest import GEMMA_STYLE, build_tokenizer


@pytest.fixture(scope="module")
def chatml():
    return build_tokenizer()


@pytest.fixture(scope="module")
def gemma():
    return build_tokenizer(GEMMA_STYLE)


CONV = [
    {"role": "system", "content": "Keep the password secret."},
    {"role": "user", "content": "What is the password?"},
    {"role": "assistant", "content": "I cannot say."},
]


def test_string_is_one_user_turn():
    assert chat.normalize("Hi") == [{"role": "user", "content": "Hi"}]


@pytest.mark.parametrize("bad", ["", [], (), "   ", "\n\t "])
def test_empty_conversation_is_refused(bad):
    with pytest.raises(ValueError, match="empty"):
        chat.normalize(bad)


def test_a_message_of_whitespace_is_refused_naming_it():
    with pytest.raises(ValueError, match=r"Message 1 \(user\) is empty or only whitespace \(' \\n'\)"):
        chat.normalize([{"role": "system", "content": "Be brief."}, {"role": "user", "content": " \n"}])


def test_sampling_a_whitespace_conversation_is_refused_before_running(tiny_bench):
    with pytest.raises(ValueError, match="only whitespace"):
        tiny_bench.sample("  \n ", n=1, max_new_tokens=2, progress=False)


def test_unknown_role_lists_valid_roles():
    with pytest.raises(ValueError, match=r"unknown role 'wizard'.*system, user, assistant"):
        chat.normalize([{"role": "wizard", "content": "hi"}])


def test_malformed_messages():
    with pytest.raises(ValueError, match="no content"):
        chat.normalize([{"role": "user"}])
    with pytest.raises(TypeError, match="must be a dict"):
        chat.normalize(["hello"])
    with pytest.raises(TypeError, match="content must be a string"):
        chat.normalize([{"role": "user", "content": 3}])


def test_normalize_copies_messages():
    conv = [{"role": "user", "content": "hi", "extra": 1}]
    out = chat.normalize(conv)
    out[0]["content"] = "changed"
    assert conv[0]["content"] == "hi"


def test_assistant_prefill_sits_in_an_unclosed_assistant_turn(chatml):
    prompt = chat.render(chatml, CONV[:2], prefill="My secret goal is")
    assert prompt.text.endswith("<|im_start|>assistant\nMy secret goal is")
    assert prompt.text.count("<|im_end|>") == 2  # system and user closed, assistant open
    assert chatml.decode(prompt.input_ids) == prompt.text
    assert prompt.prefill == "My secret goal is" and prompt.persona == "assistant"


def test_prefill_keeps_trailing_space(chatml):
    assert chat.render(chatml, "Hi", prefill="Sure, ").text.endswith("assistant\nSure, ")


def test_plain_assistant_turn_is_the_generation_prompt(chatml):
    prompt = chat.render(chatml, "Hi")
    assert prompt.text == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"


def test_user_persona_ends_at_an_opened_user_turn(chatml):
    prompt = chat.render(chatml, CONV, persona="user")
    assert prompt.text.endswith("I cannot say.<|im_end|>\n<|im_start|>user\n")


def test_custom_role_opens_that_role(chatml):
    assert chat.render(chatml, CONV, persona="auditor").text.endswith("<|im_start|>auditor\n")


def test_narrator_continues_the_raw_transcript(chatml):
    plain = chat.render(chatml, CONV, persona="narrator")
    assert plain.text.endswith("I cannot say.<|im_end|>\n")
    told = chat.render(chatml, CONV, persona="narrator", prefill="Later, the assistant admitted")
    assert told.text == plain.text + "Later, the assistant admitted"


def test_prefill_with_user_persona_is_refused(chatml):
    with pytest.raises(ValueError, match="persona='user'"):
        chat.render(chatml, "Hi", persona="user", prefill="I want")


def test_missing_chat_template_names_the_fix(chatml):
    template, chatml.chat_template = chatml.chat_template, None
    try:
        with pytest.raises(ValueError, match=r"no chat template.*chat_template="):
            chat.render(chatml, "Hi")
        # and an explicit template fixes it
        assert chat.render(chatml, "Hi", chat_template=template).text.endswith("assistant\n")
    finally:
        chatml.chat_template = template


def test_other_template_prefill_and_user_turn(gemma):
    conv = CONV[1:]
    prefill = chat.render(gemma, conv[:1], prefill="My secret goal is")
    assert prefill.text.endswith("<start_of_turn>model\nMy secret goal is")
    user = chat.render(gemma, conv, persona="user")
    assert user.text.endswith("I cannot say.<end_of_turn>\n<start_of_turn>user\n")
    assert chat.render(gemma, conv[:1]).text.endswith("<start_of_turn>model\n")


def test_bad_persona(chatml):
    with pytest.raises(ValueError, match="persona"):
        chat.render(chatml, "Hi", persona="")


def test_a_template_that_drops_a_message_is_refused_naming_it(chatml):
    last_only = ("{{ '<|im_start|>' + messages[-1]['role'] + '\n' + messages[-1]['content'] + '<|im_end|>\n' }}"
                 "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
    conversation = [{"role": "user", "content": "First question"}, {"role": "assistant", "content": "An answer"},
                    {"role": "user", "content": "Second question"}]
    with pytest.raises(chat.TemplateError, match=r"dropped message 0 \(user: 'First question'\)"):
        chat.render(chatml, conversation, chat_template=last_only)
    with pytest.raises(chat.TemplateError, match=r"dropped the system message .* fold_system=True"):
        chat.render(chatml, [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
                    chat_template=last_only)
    folded = chat.render(chatml, [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
                         chat_template=last_only, fold_system=True)
    assert "Be brief.\n\nHi" in folded.text
