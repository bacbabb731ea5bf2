"""Lists of examples in a text box, one example per line (the probe and diff panels).

A line that is a JSON list of ``{"role", "content"}`` messages is a conversation; any
other non-blank line is a text. Lists passed from Python go into the box the same
way, so what the box shows is exactly what runs.

>>> to_lines(["You fool.", [{"role": "user", "content": "Hi"}]], "positive")
'You fool.\\n[{"role": "user", "content": "Hi"}]'
>>> from_lines('You fool.\\n\\n[{"role": "user", "content": "Hi"}]')
['You fool.', [{'role': 'user', 'content': 'Hi'}]]
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["from_lines", "to_lines"]


def _conversation(value: Any) -> bool:
    return (isinstance(value, list) and bool(value)
            and all(isinstance(m, Mapping) and {"role", "content"} <= set(m) for m in value))


def to_lines(items: Any, what: str) -> str:
    """``items`` (texts and conversations) as box text; a text spanning several lines is refused."""
    if items is None:
        return ""
    if isinstance(items, (str, Mapping)) or not isinstance(items, Sequence):
        raise TypeError(f"{what} must be a list of texts or conversations, not {type(items).__name__}.")
    lines = []
    for index, item in enumerate(items):
        if isinstance(item, str):
            if "\n" in item or "\r" in item:
                raise ValueError(
                    f"{what} example {index} spans several lines; the box holds one example per line: "
                    "join its lines, or pass it as a conversation (a list of role/content messages)."
                )
            if _conversation(_json(item)):
                raise ValueError(f"{what} example {index} reads as a conversation in JSON; pass the list itself.")
            lines.append(item)
        elif _conversation(list(item) if isinstance(item, tuple) else item):
            lines.append(json.dumps([{"role": m["role"], "content": m["content"]} for m in item], ensure_ascii=False))
        else:
            raise ValueError(f"{what} example {index} is a {type(item).__name__}: give a text or a conversation "
                             "(a list of role/content messages).")
    return "\n".join(lines)


def _json(line: str) -> Any:
    if not line.lstrip().startswith("[{"):
        return None
    try:
        return json.loads(line)
    except ValueError:
        return None


def from_lines(text: str) -> list:
    """The examples in box text: blank lines skipped, JSON conversations parsed, other lines kept as they are."""
    out: list = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parsed = _json(line)
        out.append(parsed if _conversation(parsed) else line)
    return out
