"""Datasets to audit: plain texts, chat conversations, or preference pairs.

One loader reads JSON lines, CSV and Parquet files, in-memory lists and pandas
DataFrames, and local Hugging Face ``datasets.Dataset`` objects:

>>> import workbench as wb
>>> data = wb.read_dataset(["Chocolate cake.", "A walk in Lisbon."])
>>> data.kind, len(data)
('text', 2)

A malformed row (bad JSON, a missing field, a wrong type) is never dropped
silently: by default loading stops with a :class:`DatasetError` listing every
problem with its line number; with ``errors="report"`` the good rows are kept and
the problems stay on ``dataset.problems``.

Rows are one of three kinds:

``text``
    a string field (``text`` by default, or ``text_field=``).
``chat``
    ``messages``: a list of ``{"role", "content"}`` dicts, rendered through the
    model's chat template when a text is needed.
``preference``
    ``prompt`` / ``chosen`` / ``rejected``: each a string or a conversation.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .session import Session

KINDS = ("text", "chat", "preference")
PREFERENCE_FIELDS = ("prompt", "chosen", "rejected")
_CHAT_FIELDS = ("messages", "conversation", "conversations")
_SUFFIXES = (".jsonl", ".json", ".ndjson", ".jsonl.gz", ".json.gz", ".csv", ".tsv", ".parquet")
_SHOWN = 20  # problems listed in an error message


@dataclass(frozen=True)
class Problem:
    """One malformed row: where it is and what is wrong with it.

    ``line`` is the 1-based line number in a JSON-lines or CSV file (``None`` for
    in-memory data and Parquet); ``index`` is the row's 0-based position in the source.
    """

    index: int
    message: str
    line: int | None = None

    @property
    def where(self) -> str:
        return f"line {self.line}" if self.line is not None else f"row {self.index}"

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class DatasetError(ValueError):
    """A dataset that cannot be read as asked; ``problems`` lists every bad row."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


@dataclass
class Row:
    """One dataset row.

    Attributes
    ----------
    id : str
        The record's ``id`` field when it has one, else its 0-based position in the source.
    text : str or None
        The text of a ``text`` row.
    messages : list of dict or None
        The conversation of a ``chat`` row.
    prompt, chosen, rejected : str or list of dict or None
        The parts of a ``preference`` row.
    record : dict
        The original record, untouched.
    line : int or None
        Its line in the source file (JSON lines, CSV).
    """

    id: str
    text: str | None = None
    messages: list[dict] | None = None
    prompt: Any = None
    chosen: Any = None
    rejected: Any = None
    record: dict = field(default_factory=dict, repr=False)
    line: int | None = None

    def content(self) -> Any:
        """What the row holds, as plain JSON-able data (used for the digest)."""
        if self.text is not None:
            return self.text
        if self.messages is not None:
            return self.messages
        return [self.prompt, self.chosen, self.rejected]


@dataclass
class Dataset:
    """Rows of one kind, where they came from, and the rows that could not be read.

    Examples
    --------
    >>> data = Dataset.load([{"prompt": "Hi", "chosen": "Hello!", "rejected": "Go away."}])
    >>> data.kind, data.rows[0].chosen
    ('preference', 'Hello!')
    """

    rows: list[Row]
    kind: str
    source: str
    problems: list[Problem] = field(default_factory=list)
    text_field: str | None = None

    @classmethod
    def load(cls, source: Any, **kwargs: Any) -> Dataset:
        """The same as :func:`read_dataset`.

        Examples
        --------
        >>> Dataset.load(["a text"]).kind
        'text'
        """
        return read_dataset(source, **kwargs)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def __getitem__(self, index: int) -> Row:
        return self.rows[index]

    @property
    def ids(self) -> list[str]:
        return [row.id for row in self.rows]

    @property
    def digest(self) -> str:
        """A stable digest of the kind and every row's id and content (not of the source path)."""
        cached = getattr(self, "_digest", None)
        if cached is None:
            h = hashlib.sha256(self.kind.encode())
            for row in self.rows:
                h.update(json.dumps([row.id, row.content()], sort_keys=True, ensure_ascii=False).encode())
                h.update(b"\n")
            cached = self._digest = h.hexdigest()[:16]
        return cached

    def texts(self, session: Session | None = None, *, field: str | None = None) -> list[str]:
        """One text per row, as the model reads it.

        Plain texts are returned as they are; conversations are rendered through
        ``bench``'s chat template (as a finished transcript). For preference rows,
        ``field`` picks ``"chosen"`` (default), ``"rejected"`` or ``"prompt"``: the
        prompt followed by that response.

        Examples
        --------
        >>> Dataset.load(["one", "two"]).texts()
        ['one', 'two']
        """
        conversations = self.conversations(field=field)
        if self.kind == "text":
            return list(conversations)
        if session is None:
            raise ValueError(
                f"This {self.kind} dataset holds conversations; rendering them needs the model's chat "
                "template: pass the Workbench, e.g. dataset.texts(bench)."
            )
        from . import chat

        return [session.render(messages, persona=chat.NARRATOR).text for messages in conversations]

    def conversations(self, *, field: str | None = None) -> list:
        """Per row: the text (``text`` rows) or the list of messages (chat and preference rows).

        Examples
        --------
        >>> Dataset.load([{"prompt": "Hi", "chosen": "Hello!", "rejected": "No."}]).conversations(field="rejected")
        [[{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'No.'}]]
        """
        if self.kind == "text":
            if field not in (None, "text"):
                raise ValueError(f"A text dataset has no field {field!r}; leave field unset.")
            return [row.text for row in self.rows]
        if self.kind == "chat":
            if field not in (None, "messages"):
                raise ValueError(f"A chat dataset has no field {field!r}; leave field unset.")
            return [row.messages for row in self.rows]
        field = field or "chosen"
        if field not in PREFERENCE_FIELDS:
            raise ValueError(f"field must be one of {', '.join(PREFERENCE_FIELDS)}, not {field!r}.")
        out = []
        for row in self.rows:
            prompt = _as_messages(row.prompt, "user")
            out.append(prompt if field == "prompt" else prompt + _as_messages(getattr(row, field), "assistant"))
        return out

    def to_pandas(self) -> pd.DataFrame:
        """One row per dataset row: ``id``, ``line`` and the kind's fields.

        Examples
        --------
        >>> list(Dataset.load(["a text"]).to_pandas().columns)
        ['id', 'line', 'text']
        """
        import pandas as pd

        columns = {"text": ["text"], "chat": ["messages"], "preference": list(PREFERENCE_FIELDS)}[self.kind]
        return pd.DataFrame([{"id": r.id, "line": r.line, **{c: getattr(r, c) for c in columns}} for r in self.rows],
                            columns=["id", "line", *columns])

    def __repr__(self) -> str:
        problems = f", {len(self.problems)} problem rows left out" if self.problems else ""
        return f"Dataset({self.kind}, {len(self.rows)} rows from {self.source}{problems})"


# -- reading ---------------------------------------------------------------------


def read_dataset(
    source: Any,
    *,
    text_field: str | None = None,
    kind: str | None = None,
    errors: str = "raise",
) -> Dataset:
    """Load a dataset of texts, conversations or preference pairs.

    Parameters
    ----------
    source : path, list, DataFrame or datasets.Dataset
        A ``.jsonl`` / ``.json`` (JSON lines or one JSON array), ``.jsonl.gz``,
        ``.csv`` / ``.tsv`` or ``.parquet`` file; a list of strings or dicts; a
        pandas DataFrame; or a local Hugging Face ``datasets.Dataset``.
    text_field : str, optional
        The column holding the text of a ``text`` dataset (default ``"text"``, or
        the only column).
    kind : {"text", "chat", "preference"}, optional
        Default: guessed from the first record (``chosen``/``rejected`` make a
        preference dataset, ``messages`` a chat one).
    errors : {"raise", "report"}
        ``"raise"``: any malformed row stops loading with a :class:`DatasetError`
        listing every problem with its line number. ``"report"``: the good rows are
        kept and the problems are on ``dataset.problems``.

    Returns
    -------
    Dataset

    Examples
    --------
    >>> data = read_dataset([{"messages": [{"role": "user", "content": "Hi"}]}])
    >>> data.kind
    'chat'
    >>> _ = (tmp / "corpus.jsonl").write_text('{"text": "Chocolate cake."}\\nnot json\\n{"text": "A walk."}\\n')
    >>> data = read_dataset(tmp / "corpus.jsonl", errors="report")
    >>> len(data), data.problems
    (2, [Problem(index=1, message='not valid JSON (Expecting value: line 1 column 1 (char 0))', line=2)])
    """
    if errors not in ("raise", "report"):
        raise ValueError(f"errors must be 'raise' or 'report', not {errors!r}.")
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}.")
    if text_field is not None and (not isinstance(text_field, str) or not text_field):
        raise ValueError(f"text_field must be a column name, not {text_field!r}.")
    label, records, problems = _records(source)
    records = list(records)
    if not records and not problems:
        raise DatasetError(f"{label} holds no rows.")
    if kind is None:
        kind = _guess_kind(records, text_field, label)
    if kind == "text" and text_field is None:
        first = next((r for _, _, r in records if isinstance(r, Mapping)), None)
        text_field = next(iter(first)) if first is not None and len(first) == 1 else "text"
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for index, line, record in records:
        try:
            row = _parse(record, kind, text_field, index, line)
        except _Bad as bad:
            problems.append(Problem(index, str(bad), line))
            continue
        if row.id in seen:
            problems.append(Problem(index, f"duplicate id {row.id!r} (first at row {seen[row.id]})", line))
            continue
        seen[row.id] = index
        rows.append(row)
    problems.sort(key=lambda p: p.index)
    if problems and errors == "raise":
        shown = "\n  ".join(str(p) for p in problems[:_SHOWN])
        more = f"\n  ... and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
        raise DatasetError(
            f"{label}: {len(problems)} malformed row(s) as a {kind} dataset:\n  {shown}{more}\n"
            "Fix them, or pass errors='report' to keep the good rows (the problems stay on "
            "dataset.problems).", problems)
    if not rows:
        raise DatasetError(f"{label}: no row could be read as a {kind} dataset "
                           f"({len(problems)} problem(s), first: {problems[0]}).", problems)
    return Dataset(rows, kind, label, problems, text_field)


class _Bad(Exception):
    pass


def _records(source: Any) -> tuple[str, Iterable[tuple[int, int | None, Any]], list[Problem]]:
    """``(label, [(index, line, record)], problems)`` for any supported source."""
    if isinstance(source, Dataset):
        raise TypeError("source is already a workbench Dataset; use it directly.")
    if isinstance(source, (str, Path)):
        return _read_file(Path(source).expanduser())
    module = type(source).__module__ or ""
    if module.startswith("datasets"):
        if (hasattr(source, "keys") and not hasattr(source, "column_names")) or type(source).__name__.endswith("Dict"):
            splits = ", ".join(map(str, source.keys()))
            raise TypeError(f"This is a DatasetDict with splits {splits}; pick one, e.g. data['train'].")
        if not hasattr(source, "to_list"):
            raise TypeError(f"A {type(source).__name__} cannot be read; pass a datasets.Dataset.")
        return f"datasets.Dataset ({len(source)} rows)", _indexed(source.to_list()), []
    if module.startswith("pandas") and hasattr(source, "to_dict"):
        records = [{k: _unnan(v) for k, v in r.items()} for r in source.to_dict("records")]
        return f"DataFrame ({len(records)} rows)", _indexed(records), []
    if isinstance(source, (list, tuple)):
        return f"list ({len(source)} rows)", _indexed(source), []
    raise TypeError(
        "source must be a path (.jsonl, .json, .csv, .tsv, .parquet), a list of strings or dicts, "
        f"a pandas DataFrame or a datasets.Dataset, not {type(source).__name__}."
    )


def _indexed(records: Sequence[Any]) -> list[tuple[int, int | None, Any]]:
    return [(i, None, r) for i, r in enumerate(records)]


def _unnan(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def _read_file(path: Path) -> tuple[str, list, list[Problem]]:
    if not path.is_file():
        raise FileNotFoundError(f"No dataset file at {path}.")
    name = path.name.lower()
    label = str(path)
    if name.endswith(".parquet"):
        try:
            import pyarrow.parquet as pq
        except ImportError:  # pragma: no cover
            raise ImportError("Reading Parquet needs pyarrow: pip install pyarrow") from None
        return label, _indexed(pq.read_table(path).to_pylist()), []
    if name.endswith((".csv", ".tsv")):
        return (label, *_read_csv(path, "\t" if name.endswith(".tsv") else ","))
    if name.endswith((".jsonl", ".json", ".ndjson", ".jsonl.gz", ".json.gz")):
        return (label, *_read_json(path))
    raise ValueError(f"{path.name}: unknown dataset format; the workbench reads {', '.join(_SUFFIXES)}.")


def _read_json(path: Path) -> tuple[list, list[Problem]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        text = handle.read()
    if text.lstrip().startswith("["):  # one JSON array
        try:
            return _indexed(json.loads(text)), []
        except ValueError as error:
            raise DatasetError(f"{path}: not a valid JSON array ({error}).") from None
    records, problems = [], []
    index = 0
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            problems.append(Problem(index, "a blank line, not a JSON record", number))
            continue
        try:
            records.append((index, number, json.loads(line)))
        except ValueError as error:
            problems.append(Problem(index, f"not valid JSON ({error})", number))
        index += 1
    return records, problems


def _read_csv(path: Path, delimiter: str) -> tuple[list, list[Problem]]:
    records, problems = [], []
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        if not reader.fieldnames:
            return [], []
        width = len(reader.fieldnames)
        start = reader.line_num + 1
        for index, record in enumerate(reader):
            line, start = start, reader.line_num + 1
            extra = record.pop(None, None)
            if extra:
                problems.append(Problem(index, f"{width + len(extra)} fields, the header has {width}", line))
            elif any(v is None for v in record.values()):
                got = sum(v is not None for v in record.values())
                problems.append(Problem(index, f"{got} fields, the header has {width}", line))
            else:
                records.append((index, line, record))
    return records, problems


# -- interpreting records ----------------------------------------------------------


def _guess_kind(records: list, text_field: str | None, label: str) -> str:
    if text_field is not None:
        return "text"
    for _, _, record in records[:1]:
        if isinstance(record, Mapping):
            if "chosen" in record or "rejected" in record:
                return "preference"
            if any(name in record for name in _CHAT_FIELDS):
                return "chat"
    return "text"


def _parse(record: Any, kind: str, text_field: str | None, index: int, line: int | None) -> Row:
    if kind == "text" and isinstance(record, str):
        if not record.strip():
            raise _Bad("empty text")
        return Row(str(index), text=record, record={"text": record}, line=line)
    if not isinstance(record, Mapping):
        raise _Bad(f"expected an object with fields, got {type(record).__name__}")
    record = dict(record)
    rid = _unnan(record.get("id"))
    rid = str(index) if rid is None or rid == "" else str(rid)
    if kind == "text":
        name = text_field or "text"
        if name not in record:
            raise _Bad(f"no {name!r} field (fields: {', '.join(map(str, record)) or 'none'}); "
                       "pass text_field= to name the text column")
        value = _unnan(record[name])
        if not isinstance(value, str):
            raise _Bad(f"{name!r} must be a string, not {type(value).__name__}")
        if not value.strip():
            raise _Bad(f"{name!r} is empty")
        return Row(rid, text=value, record=record, line=line)
    if kind == "chat":
        name = next((n for n in _CHAT_FIELDS if n in record), None)
        if name is None:
            raise _Bad(f"no 'messages' field (fields: {', '.join(map(str, record)) or 'none'})")
        return Row(rid, messages=_conversation(record[name], name), record=record, line=line)
    missing = [n for n in ("chosen", "rejected") if _unnan(record.get(n)) in (None, "")]
    if missing:
        raise _Bad(f"no {' or '.join(repr(m) for m in missing)} field")
    parts = {}
    for name in PREFERENCE_FIELDS:
        value = _unnan(record.get(name))
        if value is None and name == "prompt":
            value = ""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("[") and text.endswith("]"):  # a conversation kept as JSON in a CSV cell
                value = _conversation(value, name)
        else:
            value = _conversation(value, name)
        parts[name] = value
    if parts["prompt"] == "" and (isinstance(parts["chosen"], str) or isinstance(parts["rejected"], str)):
        raise _Bad("no 'prompt' field (needed when chosen/rejected are plain strings)")
    return Row(rid, record=record, line=line, **parts)


def _conversation(value: Any, name: str) -> list[dict]:
    from . import chat

    if isinstance(value, str):  # e.g. a CSV cell holding JSON
        try:
            value = json.loads(value)
        except ValueError:
            raise _Bad(f"{name!r} must be a list of messages (or its JSON), not a plain string") from None
    if hasattr(value, "tolist") and not isinstance(value, (list, dict)):  # numpy arrays from pandas/parquet
        value = value.tolist()
    if not isinstance(value, (list, tuple)) or not value:
        raise _Bad(f"{name!r} must be a non-empty list of {{'role', 'content'}} messages, "
                   f"not {type(value).__name__}")
    try:
        return chat.normalize(list(value))
    except (TypeError, ValueError) as error:
        raise _Bad(f"{name!r}: {error}") from None


def _as_messages(value: Any, role: str) -> list[dict]:
    if isinstance(value, str):
        return [{"role": role, "content": value}] if value else []
    return [dict(m) for m in value]
