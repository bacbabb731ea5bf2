"""Reading a journal file that may come from anyone: bounded, checked line by line, never executed.

A journal is a file colleagues send each other, so :func:`read_records` treats it as
hostile input. Each line is read with a length limit (a longer line is skipped without
being held in memory), parsed as JSON with a nesting limit, and checked against the
schema of its record type (an entry, a note or finding, a tag): a field of the wrong
type makes the line a :class:`Problem`, a field the workbench does not know is left
out and named. Nothing in a record is ever imported or called; replay dispatches only
through the registry of techniques (:mod:`workbench.recording`).

>>> problems = []
>>> list(read_lines([b'{"type": "tag", "entry": "a1", "tags": ["x"], "time": "t"}\\n', b'{"type": 3}\\n'], problems))
[{'type': 'tag', 'entry': 'a1', 'tags': ['x'], 'time': 't'}]
>>> problems[0].line, problems[0].reason
(2, "unknown record type 3 (known: 'entry', 'note', 'finding', 'tag')")
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

#: Longest line read, in bytes; a longer one is skipped in chunks, never held whole.
MAX_LINE_BYTES = 16 * 2**20
#: Deepest nesting of lists and objects accepted in a line.
MAX_DEPTH = 64
_CHUNK = 2**20

_STR, _OPT_STR, _DICT, _OPT_DICT, _LIST, _ANY, _OPT_INT, _NUMBER = (
    "a string", "a string or null", "an object", "an object or null", "a list", "anything", "an integer or null",
    "a number")

#: Record type -> {field: what it must be}; fields marked required must be present.
SCHEMA: dict[str, dict[str, str]] = {
    "entry": {"id": _STR, "time": _STR, "technique": _STR, "function": _STR, "inputs": _DICT, "missing": _LIST,
              "seed": _OPT_INT, "model": _OPT_DICT, "sae": _OPT_DICT, "duration_s": _NUMBER, "summary": _DICT,
              "result": _ANY, "result_omitted": _OPT_DICT, "error": _OPT_DICT, "replay_of": _OPT_STR,
              "actor": _OPT_STR, "remote": _OPT_DICT},
    "note": {"id": _STR, "time": _STR, "text": _STR, "entry": _OPT_STR, "tags": _LIST, "kind": _STR,
             "actor": _OPT_STR},
    "tag": {"entry": _STR, "tags": _LIST, "time": _STR},
}
SCHEMA["finding"] = SCHEMA["note"]
REQUIRED: dict[str, tuple[str, ...]] = {
    "entry": ("id", "time", "technique", "function", "inputs"),
    "note": ("id", "time", "text"),
    "finding": ("id", "time", "text"),
    "tag": ("entry", "tags"),
}


@dataclass(frozen=True)
class Problem:
    """A line of a journal file that was skipped (or read in part), and why."""

    line: int
    reason: str
    skipped: bool = True

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}{'; skipped it' if self.skipped else ''}"


def _fits(value: Any, kind: str) -> bool:
    if kind == _ANY:
        return True
    if value is None:
        return kind in (_OPT_STR, _OPT_DICT, _OPT_INT)
    if kind in (_STR, _OPT_STR):
        return isinstance(value, str)
    if kind in (_DICT, _OPT_DICT):
        return isinstance(value, dict)
    if kind == _LIST:
        return isinstance(value, list)
    if kind == _OPT_INT:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _depth(value: Any) -> int:
    """The nesting depth of parsed JSON, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def check_record(record: Any) -> tuple[dict | None, str | None, list[str]]:
    """``(record, None, unknown fields)`` when ``record`` fits its type's schema, else ``(None, reason, [])``."""
    if not isinstance(record, dict):
        return None, f"a journal line is a JSON object, not {type(record).__name__}", []
    kind = record.get("type")
    if kind not in SCHEMA:
        known = ", ".join(repr(k) for k in ("entry", "note", "finding", "tag"))
        return None, f"unknown record type {str(kind)[:40] if isinstance(kind, str) else kind!r} (known: {known})", []
    schema = SCHEMA[kind]
    absent = [name for name in REQUIRED[kind] if name not in record]
    if absent:
        return None, f"a {kind} line needs the field(s) {', '.join(absent)}", []
    for name, want in schema.items():
        if name in record and not _fits(record[name], want):
            return None, f"field {name!r} of a {kind} must be {want}, not {type(record[name]).__name__}", []
    for name in ("missing", "tags"):
        if name in record and not all(isinstance(item, str) for item in record[name]):
            return None, f"field {name!r} of a {kind} must be a list of strings", []
    unknown = sorted(str(name)[:40] for name in record if name not in schema and name != "type")
    return {name: record[name] for name in ("type", *schema) if name in record}, None, unknown


def _lines(handle: IO[bytes], problems: list[Problem]) -> Iterator[tuple[int, bytes]]:
    """``(number, line)`` of a binary file; a line over :data:`MAX_LINE_BYTES` is skipped, read in chunks."""
    number = 0
    while True:
        line = handle.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            size = len(line)
            while True:  # drop the rest of the line without keeping it
                chunk = handle.readline(_CHUNK)
                size += len(chunk)
                if not chunk or chunk.endswith(b"\n"):
                    break
            problems.append(Problem(number, f"the line is {size / 2**20:.1f} MiB, over the "
                                            f"{MAX_LINE_BYTES // 2**20} MiB a journal line may hold"))
            continue
        yield number, line


def read_lines(lines: Iterable[bytes], problems: list[Problem], *, first: int = 1) -> Iterator[dict]:
    """The checked records of ``lines`` (bytes, one JSON object each); what is wrong goes to ``problems``."""
    for number, line in enumerate(lines, first):
        yield from _record(number, line, problems)


def _record(number: int, line: bytes, problems: list[Problem]) -> Iterator[dict]:
    if not line.strip():
        return
    try:
        record = json.loads(line.decode("utf-8", errors="replace"))
    except RecursionError:
        problems.append(Problem(number, f"nested deeper than the {MAX_DEPTH} levels a journal line may have"))
        return
    except ValueError as error:
        problems.append(Problem(number, f"not whole JSON ({str(error)[:120]}); a session killed while writing "
                                        "leaves such a line last"))
        return
    if _depth(record) > MAX_DEPTH:
        problems.append(Problem(number, f"nested deeper than the {MAX_DEPTH} levels a journal line may have"))
        return
    checked, reason, unknown = check_record(record)
    if checked is None:
        problems.append(Problem(number, str(reason)))
        return
    if unknown:
        problems.append(Problem(number, f"unknown field(s) {', '.join(unknown[:10])} left out", skipped=False))
    yield checked


def read_records(handle: IO[bytes], problems: list[Problem]) -> Iterator[dict]:
    """The checked records of an open binary journal file, in order."""
    for number, line in _lines(handle, problems):
        yield from _record(number, line, problems)
