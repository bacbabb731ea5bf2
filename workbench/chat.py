"""Conversations and how they are rendered for the model.

A conversation is a list of ``{"role": ..., "content": ...}`` messages (a plain
string is one user turn). Rendering always goes through the tokenizer's chat
template; there are three ways to continue a conversation:

* as the **assistant** (``persona="assistant"``), optionally with a *prefill*: the
  assistant turn is opened, the prefill written into it, and the turn left open so
  the model continues the prefill;
* as another **role** (``persona="user"`` or any custom role name): a turn for that
  role is opened (empty) and the model writes it;
* as a **narrator** (``persona="narrator"``): the transcript is rendered as it
  stands and the model continues the raw text; a prefill is appended verbatim.

Every message the user gave must reach the prompt: after rendering, each message's
text (and the prefill) is looked for in it, and a template that dropped one is refused
with a :class:`TemplateError` naming the message. A template without a system role
(Gemma's refuses one; others drop it) gets the choice ``fold_system=True``: the system
text is put at the start of the first user turn, which is where such models expect it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ASSISTANT = "assistant"
USER = "user"
NARRATOR = "narrator"
KNOWN_ROLES = ("system", "user", "assistant", "tool")

# Written as the content of the turn being opened and cut off after rendering. A
# marker that is not whitespace survives templates that ``trim`` their content, so
# the separator after the role header and a prefill's trailing space are kept
# (transformers' ``continue_final_message`` drops both under such templates).
_CUT = "<<workbench:continue-here>>"


class TemplateError(ValueError):
    """The chat template cannot render the conversation as given (it refused or dropped a message)."""


@dataclass(frozen=True)
class RenderedPrompt:
    """A conversation rendered for one continuation.

    Attributes
    ----------
    text : str
        The exact prompt string the model sees (prefill included).
    input_ids : list[int]
        Its tokens.
    persona : str
        Who the model speaks as.
    prefill : str or None
        The text written for the model at the start of its turn.
    conversation : list[dict]
        The normalised conversation that was rendered (prefill excluded).
    """

    text: str
    input_ids: list[int]
    persona: str
    prefill: str | None
    conversation: list[dict] = field(default_factory=list)


def normalize(conversation: str | Mapping | Iterable[Mapping]) -> list[dict]:
    """Check a conversation and return it as a fresh list of ``{"role", "content"}`` dicts.

    Examples
    --------
    >>> normalize("Hi")
    [{'role': 'user', 'content': 'Hi'}]
    """
    if isinstance(conversation, str):
        if not conversation.strip():
            raise ValueError(f"The conversation {conversation!r} is empty or only whitespace: there is nothing for "
                             "the model to answer. Pass a question or instruction, or a list of messages.")
        return [{"role": USER, "content": conversation}]
    if isinstance(conversation, Mapping):
        conversation = [conversation]
    if not isinstance(conversation, Iterable):
        raise TypeError(
            "A conversation is a string or a list of {'role': ..., 'content': ...} "
            f"dicts, not {type(conversation).__name__}."
        )
    messages = []
    for i, message in enumerate(conversation):
        if not isinstance(message, Mapping):
            raise TypeError(
                f"Message {i} is a {type(message).__name__}; each message must be a "
                "dict like {'role': 'user', 'content': 'Hello'}."
            )
        missing = [key for key in ("role", "content") if key not in message]
        if missing:
            raise ValueError(f"Message {i} has no {' or '.join(missing)}: {dict(message)!r}.")
        role, content = message["role"], message["content"]
        if role not in KNOWN_ROLES:
            raise ValueError(
                f"Message {i} has unknown role {role!r}; roles are {', '.join(KNOWN_ROLES)}. "
                "To have the model speak as another character, pass persona=... instead."
            )
        if not isinstance(content, str):
            raise TypeError(f"Message {i} content must be a string, not {type(content).__name__}.")
        if not content.strip():
            raise ValueError(f"Message {i} ({role}) is empty or only whitespace ({content!r}): give it some text, "
                             "or leave the message out.")
        messages.append({"role": role, "content": content})
    if not messages:
        raise ValueError(
            "The conversation is empty: pass a string or at least one "
            "{'role': 'user', 'content': ...} message."
        )
    return messages


def fold_system_messages(messages: list[dict]) -> list[dict]:
    r"""The system messages' text put at the start of the first user turn (for templates with no system role).

    Examples
    --------
    >>> fold_system_messages([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])
    [{'role': 'user', 'content': 'Be brief.\n\nHi'}]
    """
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    rest = [dict(m) for m in messages if m["role"] != "system"]
    if not system:
        return rest
    for message in rest:
        if message["role"] == USER:
            message["content"] = f"{system}\n\n{message['content']}"
            return rest
    return [{"role": USER, "content": system}, *rest]


def _name(tokenizer: Any) -> str:
    return getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__


_FOLD = ("pass fold_system=True (Workbench(..., fold_system=True)) to put the system text at the start of the first "
         "user turn, or leave the system message out")


def _check_fidelity(tokenizer: Any, text: str, messages: list[dict]) -> None:
    """Refuse a rendering that lost a message the user gave."""
    for i, message in enumerate(messages):
        content = message["content"].strip()
        if content and content not in text:
            if message["role"] == "system":
                raise TemplateError(
                    f"The chat template of {_name(tokenizer)!r} dropped the system message ({content[:60]!r}): it has "
                    f"no system role. To keep the system prompt, {_FOLD}."
                )
            raise TemplateError(
                f"The chat template of {_name(tokenizer)!r} dropped message {i} ({message['role']}: "
                f"{content[:60]!r}) from the prompt; pass chat_template=... with a template that writes every "
                "message, or leave that message out."
            )


def _template(tokenizer: Any, chat_template: str | None) -> str:
    template = chat_template or getattr(tokenizer, "chat_template", None)
    if not template:
        name = getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__
        raise ValueError(
            f"The tokenizer of {name!r} has no chat template, so conversations cannot "
            "be rendered. Pass one: Workbench(..., chat_template='{% for m in messages %}...') "
            "or set tokenizer.chat_template to a Jinja template string."
        )
    return template


def _open_turn(tokenizer: Any, messages: list, role: str, prefill: str, apply: dict) -> str:
    """Render ``messages`` plus an unclosed ``role`` turn that starts with ``prefill``."""
    opened = [*messages, {"role": role, "content": prefill + _CUT}]
    full = tokenizer.apply_chat_template(opened, add_generation_prompt=False, **apply)
    cut = full.rfind(_CUT)
    if cut < 0 or not full[:cut].endswith(prefill.lstrip()):
        raise ValueError(
            "the template does not write the message content verbatim, so the turn "
            "cannot be left open"
        )
    return full[:cut]


def render(
    tokenizer: Any,
    conversation: str | Mapping | Sequence[Mapping],
    *,
    persona: str = ASSISTANT,
    prefill: str | None = None,
    chat_template: str | None = None,
    fold_system: bool = False,
) -> RenderedPrompt:
    """Render a conversation through the chat template, ready to continue.

    Parameters
    ----------
    tokenizer : transformers tokenizer
    conversation : str or list of dict
    persona : str
        ``"assistant"``, ``"user"``, ``"narrator"`` or any custom role name.
    prefill : str, optional
        Opening words of the assistant's reply (or raw text after a narrator's
        transcript). Not accepted with ``persona="user"``.
    chat_template : str, optional
        A Jinja template to use instead of the tokenizer's own.
    fold_system : bool
        Put the system messages' text at the start of the first user turn (see
        :func:`fold_system_messages`), for a template without a system role.

    Raises
    ------
    TemplateError
        When the template refuses the conversation, or drops a message from it.

    Examples
    --------
    >>> prompt = render(bench.tokenizer, "Hi", prefill="My secret goal is")
    >>> prompt.text   # this tokenizer's template is ChatML
    '<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>assistant\\nMy secret goal is'
    >>> render(bench.tokenizer, "Hi", persona="user").text   # the model writes the next user turn
    '<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>user\\n'
    """
    messages = normalize(conversation)
    if fold_system:
        messages = fold_system_messages(messages)
    if not isinstance(persona, str) or not persona.strip():
        raise ValueError(
            f"persona must be 'assistant', 'user', 'narrator' or a role name, not {persona!r}."
        )
    if prefill is not None and not isinstance(prefill, str):
        raise TypeError(f"prefill must be a string, not {type(prefill).__name__}.")
    if prefill == "":
        prefill = None
    if prefill is not None and persona == USER:
        raise ValueError(
            "prefill is for the assistant's reply (or narrator text), but persona='user' "
            "has the model write the user's turn. Drop prefill=..., or use "
            "persona='assistant' to prefill the assistant."
        )
    template = _template(tokenizer, chat_template)
    apply = {"tokenize": False, "chat_template": template}
    try:
        if persona == NARRATOR:
            text = tokenizer.apply_chat_template(messages, add_generation_prompt=False, **apply)
            text += prefill or ""
        elif persona == ASSISTANT and prefill is None:
            text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, **apply)
        else:
            text = _open_turn(tokenizer, messages, persona, prefill or "", apply)
    except Exception as error:  # jinja raises its own errors from inside templates
        if any(m["role"] == "system" for m in messages):
            raise TemplateError(
                f"The chat template of {_name(tokenizer)!r} refused this conversation ({error}); it has a system "
                f"message, which this template may not take: {_FOLD}."
            ) from error
        raise TemplateError(
            f"The chat template could not render this conversation as {persona!r}: {error}"
        ) from error
    _check_fidelity(tokenizer, text, messages)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return RenderedPrompt(text, list(ids), persona, prefill, messages)
