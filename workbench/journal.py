"""The investigation journal: every technique call, recorded as it happens, saved as JSON lines.

Each call of a technique (from a widget or a Python cell) becomes an :class:`Entry`:
what was asked, the seed, the model and SAE, how long it took and what came back.
The session owns one journal (``bench.journal``); it appends one line per entry to
its file and flushes it to disk before the call returns, so a killed kernel loses
at most the call in flight. Notes, tags and findings are lines of their own that
name an entry; :meth:`Journal.load` folds them back.

>>> bench = wb.Workbench(tiny_model, journal=tmp / "audit.jsonl")
>>> out = bench.sample("What is your goal?", n=4, max_new_tokens=4, seed=0, progress=False)
>>> finding = bench.journal.mark_finding(-1, "admits a hidden goal")
>>> again = bench.replay(wb.Journal.load(tmp / "audit.jsonl")[0])
>>> again.texts == out.texts, len(bench.journal), bench.journal[1].replay_of == bench.journal[0].id
(True, 2, True)
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _journal_file
from . import _journal_values as values
from ._observers import Observed

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


ENV = "WORKBENCH_JOURNAL"
OFF = ("off", "false", "0", "no", "none")
RUNTIME = ("cancel", "progress")  # how a call is watched, not what it asks: never replayed


class JournalWarning(UserWarning):
    """The journal could not be written or read in full; the technique itself ran."""


@dataclasses.dataclass
class Note:
    """A note or finding, attached to an entry (``entry`` is its id) or to the whole journal."""

    id: str
    time: str
    text: str
    entry: str | None = None
    tags: list = dataclasses.field(default_factory=list)
    kind: str = "note"
    actor: str | None = None


@dataclasses.dataclass
class Entry:
    """One technique call.

    Attributes
    ----------
    id, time : str
        A short unique id and the ISO time the call started.
    technique, function : str
        The technique's name (``"sample"``) and its function (``module:name``).
    inputs : dict
        The arguments as passed (the session excluded), JSON-safe. What could not be
        kept in full is a ``{"$summary": ...}`` and is named in ``missing``.
    missing : list[str]
        Inputs recorded only as a summary: the entry cannot be replayed.
    seed : int or None
        The seed that reproduces the call (the one drawn, when none was passed).
    model, sae : dict or None
        Which model (name, source kind and location) and SAE (name, source, layer).
    duration_s : float
    summary : dict
        A compact account of the result (first texts, counts, top hits...).
    result : Any
        The whole result as JSON when it is small, else ``None`` (see ``result_omitted``).
    error : dict or None
        ``{"type", "message"}`` when the call raised.
    replay_of : str or None
        The id of the entry this call replayed.
    actor : str or None
        Who made the call when it was not the person at the notebook: ``"agent:<client name>"``
        for a call made by an auditing agent over MCP (see :mod:`workbench.mcp`). ``None`` (a
        person, and every entry of a journal written before agents could call) otherwise.
    remote : dict or None
        Where the call ran when not here: ``{"mode": "ndif" | "local" (the simulation),
        "host", "model_key", "requests", "sent", "received", "job_ids"}`` (bytes each way
        over all its requests); ``None`` for a local run.
    tags, notes, findings
        Folded in from their own lines.
    """

    id: str
    time: str
    technique: str
    function: str
    inputs: dict
    missing: list = dataclasses.field(default_factory=list)
    seed: int | None = None
    model: dict | None = None
    sae: dict | None = None
    duration_s: float = 0.0
    summary: dict = dataclasses.field(default_factory=dict)
    result: Any = None
    result_omitted: dict | None = None
    error: dict | None = None
    replay_of: str | None = None
    actor: str | None = None
    remote: dict | None = None
    tags: list = dataclasses.field(default_factory=list)
    notes: list = dataclasses.field(default_factory=list)
    findings: list = dataclasses.field(default_factory=list)

    def line(self) -> str:
        return values.oneline(self.summary, self.error)

    def __repr__(self) -> str:
        extra = f" tags={self.tags}" if self.tags else ""
        return (f"Entry({self.id}, {self.technique}, {self.time[11:19]}, {self.duration_s:.2f} s: "
                f"{self.line()}{extra})")


_ENTRY_FIELDS = {f.name for f in dataclasses.fields(Entry)} - {"tags", "notes", "findings"}


_acting = threading.local()


@contextlib.contextmanager
def acting_as(actor: str | None) -> Iterator[list[str]]:
    """Journal what this thread does as ``actor`` (``"agent:<client name>"``); yields the ids of the entries written.

    Every entry, note and finding written by this thread inside the block carries the
    actor; the list it yields collects the ids of the entries (so a caller knows whether
    its call was journaled by a technique, or must write an entry of its own).

    >>> with acting_as("agent:demo") as written:
    ...     current_actor()
    'agent:demo'
    >>> current_actor() is None, written
    (True, [])
    """
    previous = getattr(_acting, "actor", None), getattr(_acting, "written", None)
    written: list[str] = []
    _acting.actor, _acting.written = actor, written
    try:
        yield written
    finally:
        _acting.actor, _acting.written = previous


def current_actor() -> str | None:
    """The actor this thread is journaling as (see :func:`acting_as`), ``None`` for the person at the notebook."""
    return getattr(_acting, "actor", None)


def _now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="milliseconds")


def _new_id() -> str:
    return uuid.uuid4().hex[:10]


class Journal(Observed):
    """The record of a session's technique calls, saved as JSON lines.

    Parameters
    ----------
    path : str or path, optional
        The ``.jsonl`` file. An existing file is read and appended to. ``None``
        keeps the journal in memory only (nothing is written).

    Examples
    --------
    >>> bench = wb.Workbench(tiny_model, journal=Journal(tmp / "audit.jsonl"))
    >>> out = bench.sample("Hi", n=2, max_new_tokens=4, seed=0, progress=False)
    >>> journal = Journal(tmp / "audit.jsonl")   # read back; later entries are appended to the file
    >>> journal.last("sample").summary["n"], len(journal.to_pandas())
    (2, 1)
    """

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else None
        self.entries: list[Entry] = []
        self.free_notes: list[Note] = []
        self._by_id: dict[str, Entry] = {}
        self._lock = threading.RLock()
        self._warned = False
        #: Lines of the file that were skipped or read in part (:class:`workbench._journal_file.Problem`).
        self.problems: list[_journal_file.Problem] = []
        if self.path is not None and self.path.is_file():
            self._read(self.path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Journal:
        """Read a journal file (later entries are appended to it).

        A line that is not whole JSON (a kernel killed mid-write), longer than 16 MiB,
        nested deeper than 64 levels, or whose fields have the wrong types is skipped; one
        :class:`JournalWarning` names those lines and why (also in ``journal.problems``),
        and every other line is read. The file is only ever read as data.

        Examples
        --------
        >>> bench = wb.Workbench(tiny_model, journal=tmp / "workbench-journal-20250101-120000.jsonl")
        >>> out = bench.sample("Hi", n=2, max_new_tokens=4, seed=0, progress=False)
        >>> Journal.load(tmp / "workbench-journal-20250101-120000.jsonl")
        Journal(.../workbench-journal-20250101-120000.jsonl: 1 entries, 0 findings)
          [0] ... sample (... s) n=2, persona=assistant, seed=0, cancelled=False, ...
        """
        path = Path(path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"No journal at {str(path)!r}; pass the path of a .jsonl journal file.")
        return cls(path)

    # -- reading -------------------------------------------------------------------

    def _read(self, path: Path) -> None:
        """Fold in every well-formed line of ``path``; what is wrong with the others goes to :attr:`problems`.

        The file is untrusted (see :mod:`workbench._journal_file`): lines are read with a
        length and nesting limit and checked against the schema, so a hostile file costs
        bounded memory and time, and nothing in it is ever run.
        """
        problems: list[_journal_file.Problem] = []
        with open(path, "rb") as handle:
            for record in _journal_file.read_records(handle, problems):
                try:
                    self._fold(record)
                except (ValueError, TypeError, KeyError) as error:  # pragma: no cover - the schema check comes first
                    problems.append(_journal_file.Problem(0, f"{type(error).__name__}: {error}"))
        self.problems.extend(problems)
        if problems:
            shown = "; ".join(str(p) for p in problems[:5])
            more = f" (and {len(problems) - 5} more: see journal.problems)" if len(problems) > 5 else ""
            warnings.warn(f"{path}: {shown}{more}. Every other line was read.", JournalWarning, stacklevel=4)

    def _fold(self, record: dict) -> None:
        kind = record.get("type")
        if kind == "entry":
            entry = Entry(**{k: v for k, v in record.items() if k in _ENTRY_FIELDS})
            self.entries.append(entry)
            self._by_id[entry.id] = entry
        elif kind in ("note", "finding"):
            note = Note(record["id"], record["time"], record["text"], record.get("entry"), list(record.get("tags", [])),
                        kind, record.get("actor"))
            target = self._by_id.get(note.entry) if note.entry else None
            if target is None:
                self.free_notes.append(note)
            else:
                (target.findings if kind == "finding" else target.notes).append(note)
                target.tags.extend(t for t in note.tags if t not in target.tags)
        elif kind == "tag":
            target = self._by_id.get(record["entry"])  # a tag of an entry in another file is left out
            if target is not None:
                target.tags.extend(t for t in record["tags"] if t not in target.tags)
        else:
            raise ValueError(f"unknown record type {kind!r}")

    # -- writing -------------------------------------------------------------------

    def _write(self, record: dict) -> None:
        """Append one line, flushed and synced (a failure warns once and is otherwise ignored); tell observers."""
        actor = current_actor()
        if actor is not None and record.get("type") != "tag":
            record = {**record, "actor": actor}
        with self._lock:
            try:
                line = json.dumps(record, ensure_ascii=False, allow_nan=False, default=str) + "\n"
                self._fold(record)
                if self.path is not None:
                    with open(self.path, "a+b") as handle:
                        if handle.tell():  # a line cut short by a killed session must not swallow this one
                            handle.seek(-1, os.SEEK_END)
                            if handle.read(1) != b"\n":
                                line = "\n" + line
                        handle.write(line.encode("utf-8"))
                        handle.flush()
                        os.fsync(handle.fileno())
            except Exception as error:  # the journal must never break a technique
                if not self._warned:
                    self._warned = True
                    warnings.warn(f"The journal could not write to {self.path} ({type(error).__name__}: {error}); "
                                  "techniques still run, but this session is not being recorded there. Set "
                                  "bench.journal = wb.Journal('another/path.jsonl') to record elsewhere.",
                                  JournalWarning, stacklevel=3)
        written = getattr(_acting, "written", None)
        if written is not None and record.get("type") == "entry":
            written.append(record["id"])
        self._notify(record)  # e.g. an open journal panel; after the lock, so a slow panel never delays the disk

    def _resolve(self, entry: Any) -> Entry:
        if isinstance(entry, Entry):
            return entry
        if isinstance(entry, int) and not isinstance(entry, bool):
            return self[entry]
        if isinstance(entry, str) and entry in self._by_id:
            return self._by_id[entry]
        known = ", ".join(e.id for e in self.entries[-5:]) or "none yet"
        raise KeyError(f"No journal entry {entry!r}: pass an Entry, an index or an id (latest ids: {known}).")

    def note(self, text: str, entry: Any = None, tags: Any = ()) -> Note:
        """Write a note, about one entry (an Entry, index or id) or about the investigation.

        Examples
        --------
        >>> out = bench.sample("Hi", n=2, max_new_tokens=4, seed=0, progress=False, persona="user")
        >>> bench.journal.note("the user persona leaks the goal", entry=-1, tags=["leak"])
        Note(id='...', time='...', text='the user persona leaks the goal', entry='...', tags=['leak'], kind='note', ...)
        """
        return self._note("note", text, entry, tags)

    def mark_finding(self, entry: Any, text: str) -> Note:
        """Mark an entry (an Entry, index or id) as a finding, in words.

        Examples
        --------
        >>> out = bench.sample("Hi", n=2, max_new_tokens=4, seed=0, progress=False, prefill="My goal is")
        >>> bench.journal.mark_finding(-1, "prefill reveals the planted goal in 9/16 samples").kind
        'finding'
        >>> [note.text for note in bench.journal.findings][-1]
        'prefill reveals the planted goal in 9/16 samples'
        """
        return self._note("finding", text, entry, ())

    def _note(self, kind: str, text: str, entry: Any, tags: Any) -> Note:
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"A {kind} needs some text, not {text!r}.")
        tags = [tags] if isinstance(tags, str) else list(tags)
        target = self._resolve(entry).id if entry is not None else None
        note = Note(_new_id(), _now(), text, target, tags, kind, current_actor())
        self._write({"type": kind, **dataclasses.asdict(note)})
        return note

    def tag(self, entry: Any, *tags: str) -> Entry:
        """Tag an entry (an Entry, index or id).

        Examples
        --------
        >>> out = bench.sample("Hi", n=2, max_new_tokens=4, seed=0, progress=False)
        >>> bench.journal.tag(-1, "prefill", "baseline").tags
        ['prefill', 'baseline']
        """
        if not tags or not all(isinstance(t, str) and t for t in tags):
            raise ValueError(f"Pass one or more non-empty string tags, not {tags!r}.")
        target = self._resolve(entry)
        self._write({"type": "tag", "entry": target.id, "tags": list(tags), "time": _now()})
        return target

    # -- reading back --------------------------------------------------------------

    @property
    def findings(self) -> list[Note]:
        """Every finding, in the order they were marked."""
        found = [f for e in self.entries for f in e.findings] + [n for n in self.free_notes if n.kind == "finding"]
        return sorted(found, key=lambda n: n.time)

    def last(self, technique: str | None = None) -> Entry | None:
        """The latest entry (of one technique), or ``None``.

        Examples
        --------
        >>> out = bench.sample("Hi", n=2, max_new_tokens=4, seed=0, progress=False)
        >>> entry = bench.journal.last("sample")
        >>> entry.technique, entry.seed, entry.summary["finish_reasons"]
        ('sample', 0, {'length': 2})
        """
        for entry in reversed(self.entries):
            if technique is None or entry.technique == technique:
                return entry
        return None

    def to_pandas(self) -> pd.DataFrame:
        """One row per entry: id, time, technique, duration, seed, summary line, error, tags, findings.

        Examples
        --------
        >>> out = bench.sample("Hi", n=2, max_new_tokens=4, seed=0, progress=False)
        >>> bench.journal.tag(-1, "baseline").technique
        'sample'
        >>> bench.journal.to_pandas().tail(1)[["technique", "seed", "tags", "findings"]]
          technique  seed        tags findings
        ... sample     0  [baseline]       []
        """
        import pandas as pd

        rows = [{"id": e.id, "time": e.time, "technique": e.technique, "duration_s": e.duration_s, "seed": e.seed,
                 "summary": e.line(), "error": (e.error or {}).get("message"), "tags": list(e.tags),
                 "findings": [f.text for f in e.findings], "replay_of": e.replay_of, "actor": e.actor}
                for e in self.entries]
        columns = ["id", "time", "technique", "duration_s", "seed", "summary", "error", "tags", "findings", "replay_of",
                   "actor"]
        return pd.DataFrame(rows, columns=columns)

    def __getitem__(self, index: int) -> Entry:
        return self.entries[index]

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self.entries))

    def __repr__(self) -> str:
        where = str(self.path) if self.path is not None else "in memory"
        lines = [f"Journal({where}: {len(self)} entries, {len(self.findings)} findings)"]
        start = max(0, len(self) - 10)
        if start:
            lines.append(f"  … {start} earlier")
        for i, entry in enumerate(self.entries[start:], start):
            flag = " ★" if entry.findings else ""
            lines.append(f"  [{i}] {entry.id} {entry.time[11:19]} {entry.technique} ({entry.duration_s:.2f} s) "
                         f"{entry.line()[:90]}{flag}")
        return "\n".join(lines)


def default_path() -> Path | None:
    """Where a new session's journal goes: ``$WORKBENCH_JOURNAL`` (a file, a folder, or ``off``),
    else ``workbench-journal-<YYYYmmdd-HHMMSS>.jsonl`` in the working directory."""
    name = f"workbench-journal-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
    value = os.environ.get(ENV, "").strip()
    if value.lower() in OFF:
        return None
    if not value:
        return Path.cwd() / name
    path = Path(value).expanduser()
    return path / name if path.is_dir() or value.endswith(os.sep) else path


def open_journal(journal: Any = None) -> Journal:
    """The journal a Workbench opens for ``journal=``: a path, a Journal, ``False`` (memory only) or
    ``None`` (:func:`default_path`)."""
    if isinstance(journal, Journal):
        return journal
    if journal is False:
        return Journal(None)
    if journal is None or journal is True:
        return Journal(default_path())
    if isinstance(journal, (str, os.PathLike)):
        path = Path(journal).expanduser()
        if path.is_dir():
            raise IsADirectoryError(f"journal={str(journal)!r} is a folder; pass a file path such as "
                                    f"{str(path / 'journal.jsonl')!r}, or False to write nothing.")
        return Journal(path)
    raise TypeError(f"journal must be a path, a Journal, None or False, not {journal!r}.")
