"""The journal panel: the session's technique calls, live, with notes, tags and findings.

>>> view = wb.JournalPanel(bench)   # shown by ending a notebook cell with it
>>> out = bench.sample("Hi", n=2, max_new_tokens=4, seed=0, progress=False)
>>> [(row["technique"], row["seed"]) for row in view.rows]   # it follows the journal
[('sample', 0)]

Every entry of ``bench.journal`` (what ran, when, how long, a one-line summary of the
result) is listed newest first and the list follows the journal as calls are recorded,
from a cell or from any panel. The auditor filters by technique or tag, selects an
entry, and adds a note or tags to it or marks it as a finding; a note with no entry
selected is about the whole investigation. Each action is a line of the journal file,
as if it were written with :meth:`~workbench.journal.Journal.note`,
:meth:`~workbench.journal.Journal.tag` or :meth:`~workbench.journal.Journal.mark_finding`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import traitlets

from ..journal import Entry, Journal, Note
from ._base import STATIC, Panel, request

if TYPE_CHECKING:  # pragma: no cover
    from ..workbench import Workbench

#: Characters of an entry's summary line sent to the page.
_SUMMARY_CHARS = 240
PERSON = "person"  # the actor filter's name for calls made at the notebook (an entry's actor None)


def _note(note: Note) -> dict:
    return {"id": note.id, "time": note.time[11:19], "text": note.text, "tags": list(note.tags), "kind": note.kind,
            "actor": note.actor or ""}


def _tags(text: Any) -> list[str]:
    """Tags from a list, or from a comma- or space-separated string."""
    items = text.replace(",", " ").split() if isinstance(text, str) else list(text or ())
    out: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"A tag must be a non-empty string, not {item!r}.")
        if item.strip() not in out:
            out.append(item.strip())
    return out


class JournalPanel(Panel):
    """The session's journal as a live list: filter it, note, tag and mark findings.

    Parameters
    ----------
    bench : Workbench or Journal
        The session whose ``bench.journal`` is shown (or a journal itself). A journal
        assigned to ``bench.journal`` later is not followed: open a new panel.
    technique, tag : str
        Start filtered to one technique and/or one tag (``""``: all).
    actor : str
        Start filtered to one actor: ``"agent:<client name>"`` for an agent's calls over MCP
        (see ``bench.serve()``), ``"person"`` for the calls made at the notebook.
    max_rows : int
        The newest entries listed (the count of all of them is shown beside).

    Examples
    --------
    >>> view = wb.JournalPanel(bench)
    >>> out = bench.sample("Hi", n=2, max_new_tokens=4, seed=0, progress=False, persona="user")
    >>> view.note("the user persona leaks the goal", entry=-1, tags="leak").tags
    ['leak']
    >>> view.technique = "sample"; [row["id"] for row in view.rows] == [bench.journal[-1].id]
    True
    >>> view.rows[0]["tags"], [note["text"] for note in view.rows[0]["notes"]]
    (['leak'], ['the user persona leaks the goal'])
    >>> view.actors, view.rows[0]["actor"]   # every call so far was the person's
    (['person'], '')
    """

    _esm = STATIC / "journal.js"

    path = traitlets.Unicode("").tag(sync=True)
    rows = traitlets.List(traitlets.Dict()).tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    matching = traitlets.Int(0).tag(sync=True)
    techniques = traitlets.List(traitlets.Unicode()).tag(sync=True)
    tags = traitlets.List(traitlets.Unicode()).tag(sync=True)
    technique = traitlets.Unicode("").tag(sync=True)
    tag = traitlets.Unicode("").tag(sync=True)
    actors = traitlets.List(traitlets.Unicode()).tag(sync=True)
    actor = traitlets.Unicode("").tag(sync=True)
    agent = traitlets.Dict().tag(sync=True)
    notes = traitlets.List(traitlets.Dict()).tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)
    max_rows = traitlets.Int(200).tag(sync=True)

    def __init__(self, bench: Workbench | Journal, *, technique: str = "", tag: str = "", actor: str = "",
                 max_rows: int = 200, **kwargs: Any) -> None:
        journal = bench if isinstance(bench, Journal) else getattr(bench, "journal", None)
        if not isinstance(journal, Journal):
            raise TypeError(f"JournalPanel needs a Workbench (its bench.journal) or a Journal, "
                            f"not {type(bench).__name__}.")
        if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
            raise ValueError(f"max_rows must be a whole number >= 1, not {max_rows!r}.")
        super().__init__(None if isinstance(bench, Journal) else bench, technique=technique, tag=tag, actor=actor,
                         max_rows=max_rows, **kwargs)
        self.journal = journal
        self.path = str(journal.path) if journal.path is not None else "in memory (journal=False)"
        self._lock = threading.RLock()
        self.observe(self._on_filter, ["technique", "tag", "actor", "max_rows"])
        journal.observe(self._on_record)
        self.refresh()

    # -- what is listed --------------------------------------------------------------

    def _on_record(self, _record: dict) -> None:
        self.refresh()

    def _on_filter(self, _change: Any) -> None:
        self.refresh()

    def _matches(self, entry: Entry) -> bool:
        return ((not self.technique or entry.technique == self.technique) and (not self.tag or self.tag in entry.tags)
                and (not self.actor or (entry.actor or PERSON) == self.actor))

    def entries(self) -> list[Entry]:
        """The journal's entries that pass the filters, oldest first."""
        return [entry for entry in self.journal if self._matches(entry)]

    def refresh(self) -> None:
        """Read the journal again (the panel does this itself after every new line)."""
        with self._lock:
            entries = list(self.journal)
            index = {entry.id: i for i, entry in enumerate(entries)}
            shown = [entry for entry in entries if self._matches(entry)]
            techniques = sorted({entry.technique for entry in entries})
            actors = sorted({entry.actor or PERSON for entry in entries})
            tags = sorted({t for entry in entries for t in entry.tags}
                          | {t for note in self.journal.free_notes for t in note.tags})
            notes = [_note(n) for n in self.journal.free_notes if not self.tag or self.tag in n.tags]
            agent = self._agent_state()
            with self.hold_sync():
                self.agent = agent
                self.total = len(entries)
                self.matching = len(shown)
                self.techniques = techniques
                self.actors = actors
                self.tags = tags
                self.rows = [self._row(entry, index[entry.id]) for entry in reversed(shown[-self.max_rows:])]
                self.notes = list(reversed(notes))
                if self.selected and self.selected not in index:
                    self.selected = ""

    @staticmethod
    def _row(entry: Entry, index: int) -> dict:
        line = entry.line()
        return {
            "id": entry.id, "index": index, "time": entry.time[11:19], "date": entry.time[:10],
            "technique": entry.technique, "duration_s": round(float(entry.duration_s or 0.0), 3),
            "summary": line if len(line) <= _SUMMARY_CHARS else line[:_SUMMARY_CHARS - 1] + "…",
            "error": bool(entry.error), "seed": entry.seed if isinstance(entry.seed, int) else None,
            "tags": list(entry.tags), "notes": [_note(n) for n in entry.notes],
            "findings": [_note(n) for n in entry.findings], "replay_of": entry.replay_of or "",
            "actor": entry.actor or "", **_remote(entry.remote),
        }

    # -- notes, tags, findings (the same as the journal's own calls) -------------------

    def note(self, text: str, entry: Any = None, tags: Any = ()) -> Note:
        """Write a note about an entry (an Entry, index or id) or, with ``entry=None``, the investigation."""
        return self.journal.note(text, entry=entry, tags=_tags(tags))

    def tag_entry(self, entry: Any, *tags: str) -> Entry:
        """Tag an entry (an Entry, index or id)."""
        return self.journal.tag(entry, *_tags(list(tags)))

    def mark_finding(self, entry: Any, text: str) -> Note:
        """Mark an entry (an Entry, index or id) as a finding, in words."""
        return self.journal.mark_finding(entry, text)

    # -- the agent's servers (bench.serve()) -------------------------------------------

    def _servers(self) -> list:
        return [h for h in (getattr(self.bench, "agent_servers", None) or []) if h.running]

    def _agent_state(self) -> dict:
        """What the agent control shows: the running servers of ``bench.serve()``, paused or not, budget used."""
        servers = self._servers()
        if not servers:
            return {}
        statuses = [h.toolbox.status() for h in servers]
        return {"servers": len(servers), "urls": [h.url for h in servers],
                "paused": all(s["paused"] for s in statuses),
                "calls_used": sum(s["calls_used"] for s in statuses),
                "calls_left": [s["calls_left"] for s in statuses],
                "sampled_tokens_used": sum(s["sampled_tokens_used"] for s in statuses),
                "max_calls": [h.toolbox.limits.max_calls for h in servers],
                "max_sampled_tokens": [h.toolbox.limits.max_sampled_tokens for h in servers]}

    def _each_server(self, action: str) -> dict:
        servers = self._servers()
        if not servers:
            raise ValueError("No agent server is running: start one with bench.serve().")
        for handle in servers:
            getattr(handle, action)()
        self.refresh()
        return {"servers": len(servers)}

    @request
    def agent_pause(self) -> dict:
        """The agent control's Pause: hold the agent's calls (each waits, then is refused) until Resume."""
        return self._each_server("pause")

    @request
    def agent_resume(self) -> dict:
        """The agent control's Resume."""
        return self._each_server("resume")

    @request
    def agent_budget(self, calls: Any = None, sampled_tokens: Any = None) -> dict:
        """The agent control's Set budget: the session's caps on tool calls and sampled tokens, raised or
        lowered (``None`` or an empty box: no cap). A cap below what is already spent refuses the next call."""
        budget = {"calls": _cap("calls", calls), "sampled_tokens": _cap("sampled tokens", sampled_tokens)}
        servers = self._servers()
        if not servers:
            raise ValueError("No agent server is running: start one with bench.serve().")
        for handle in servers:
            handle.set_budget(**budget)
        self.refresh()
        return {"servers": len(servers), **budget}

    @request
    def agent_stop(self) -> dict:
        """The agent control's Stop: refuse every further call and shut the server down."""
        return self._each_server("stop")

    # -- requests from the front-end -------------------------------------------------

    def _entry(self, entry: str) -> str | None:
        if not entry:
            return None
        if not isinstance(entry, str):
            raise TypeError(f"entry must be an entry id (a string), not {entry!r}.")
        self.journal._resolve(entry)  # names the latest ids when it is unknown
        return entry

    @request
    def add_note(self, text: str, entry: str = "", tags: Any = "") -> dict:
        """The "Add note" button: a note about the selected entry, or the investigation."""
        note = self.note(text, entry=self._entry(entry), tags=tags)
        return {"id": note.id, "entry": note.entry or ""}

    @request
    def add_tags(self, entry: str, tags: Any) -> dict:
        """The "Tag" button: tags for the selected entry."""
        target = self._entry(entry)
        if target is None:
            raise ValueError("Select an entry first: click it in the list, then Tag.")
        names = _tags(tags)
        if not names:
            raise ValueError("Type one or more tags (separated by commas or spaces) in the tags box.")
        self.tag_entry(target, *names)
        return {"entry": target, "tags": names}

    @request
    def add_finding(self, entry: str, text: str) -> dict:
        """The "Mark finding" button: the note box's text as a finding on the selected entry."""
        target = self._entry(entry)
        if target is None:
            raise ValueError("Select an entry first: click the call that shows the finding, then Mark finding.")
        note = self.mark_finding(target, text)
        return {"id": note.id, "entry": target}


__all__ = ["JournalPanel"]


def _cap(name: str, value: Any) -> int | None:
    """A budget box's value: a whole number >= 0, or no cap (``None`` or blank)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = int(value.strip()) if isinstance(value, str) else value
    except ValueError:
        number = None
    if isinstance(number, bool) or not isinstance(number, int) or number < 0:
        raise ValueError(f"The {name} budget must be a whole number of 0 or more, or blank for no cap, "
                         f"not {value!r}.")
    return number


def _size(n: Any) -> str:
    n = float(n or 0)
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB" if n >= 1e3 else f"{n:.0f} B"


def _remote(where: Any) -> dict:
    """An entry's remote run as its row shows it: a short chip text and a tooltip (host, model, job ids)."""
    if not isinstance(where, dict):
        return {"remote": "", "remote_detail": ""}
    mode = "NDIF (simulated)" if where.get("mode") == "local" else "NDIF"
    count = where.get("requests") or 0
    chip = f"{mode} · {count} request{'' if count == 1 else 's'} · {_size(where.get('sent'))} sent, " \
           f"{_size(where.get('received'))} back"
    jobs = [str(j) for j in (where.get("job_ids") or []) if j]
    detail = f"host {where.get('host') or 'nnsight default'} · model {where.get('model_key') or '?'}" + (
        f" · jobs {', '.join(jobs)}" if jobs else "")
    return {"remote": chip, "remote_detail": detail}
