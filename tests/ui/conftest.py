"""Browser harness: Debian's Chromium driven by Playwright, against a real JupyterLab.

Fixtures for widget tests (see tests/ui/test_harness.py for examples):

``lab``          a :class:`LabSession` for one test: ``lab.run_cells(cells, wait_for=...)``
                 writes a notebook, opens it in JupyterLab, runs every cell and waits for
                 a selector in the output area; returns the Playwright page.
                 ``lab.execute(code)`` then runs code in that kernel and returns its stdout.
``bare_widget``  ``bare_widget(bundle, widget=... | state=...)`` renders a built bundle
                 in a bare page with a fake anywidget model (no Jupyter); returns a
                 :class:`BareWidget`.
``screenshot``   ``screenshot(page, suffix="")`` saves tests/ui/screenshots/<test>.png
                 and prints the path.
``browser``, ``jupyter_server``, ``chromium_executable``: the session-wide pieces.

Everything runs offline: Chromium comes from Debian (installed with apt-get when
missing and running as root), never from ``playwright install``; the bare page
blocks every request outside its own files.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from workbench.widgets._buffers import pack

UI_DIR = Path(__file__).resolve().parent
REPO = UI_DIR.parent.parent
STATIC = REPO / "workbench" / "static"
TEST_STATIC = UI_DIR / "static"
SCREENSHOTS = UI_DIR / "screenshots"
CHROMIUM = Path(os.environ.get("WORKBENCH_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
#: Generous default timeout (ms) for waits on this 2-core machine.
TIMEOUT_MS = int(os.environ.get("WORKBENCH_UI_TIMEOUT_MS", "90000"))
BARE_ORIGIN = "http://workbench.bare"


# --------------------------------------------------------------------------- markers


def pytest_collection_modifyitems(items):
    browser_fixtures = {"browser", "lab", "bare_widget", "jupyter_server"}
    for item in items:
        if browser_fixtures & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.ui)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _failed(request) -> bool:
    rep = getattr(request.node, "rep_call", None)
    return rep is not None and rep.failed


def _shot_path(request, suffix: str = "") -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name).strip("_")
    return SCREENSHOTS / f"{name}{suffix}.png"


# --------------------------------------------------------------------------- Chromium


def _install_chromium() -> None:
    if CHROMIUM.exists():
        return
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip(
            f"{CHROMIUM} is missing and this is not root, so it cannot be installed here: "
            "run `sudo apt-get install -y chromium` (or set WORKBENCH_CHROMIUM to a Chromium "
            "binary) to run the UI tests"
        )
    if shutil.which("apt-get") is None:
        pytest.skip(f"{CHROMIUM} is missing and there is no apt-get to install Debian's chromium")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]):
        print(f"[ui] {' '.join(cmd)}", file=sys.stderr)
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            pytest.fail(
                f"`{' '.join(cmd)}` failed (exit {done.returncode}); Chromium is needed for the UI "
                f"tests:\n{(done.stdout + done.stderr)[-3000:]}"
            )
    if not CHROMIUM.exists():
        pytest.fail(f"apt-get installed chromium but {CHROMIUM} is still missing")


@pytest.fixture(scope="session")
def chromium_executable() -> Path:
    """Debian's Chromium, installed with apt-get when missing (as root)."""
    _install_chromium()
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_executable, tmp_path_factory):
    """A headless Chromium (Playwright) for the whole session.

    Playwright's ``launch`` gives it a fresh, temporary user-data dir; every test
    gets its own context (cookies, storage) on top.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - it is in the [dev] extra
        pytest.fail("the playwright package is missing: pip install -e '.[dev]'")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(chromium_executable),
            args=CHROMIUM_ARGS,
            headless=True,
            timeout=TIMEOUT_MS,
        )
        try:
            yield browser
        finally:
            browser.close()


# --------------------------------------------------------------------------- JupyterLab


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class JupyterServer:
    """A headless JupyterLab on 127.0.0.1 with no token (see the ``jupyter_server`` fixture)."""

    url: str
    root_dir: Path
    log_path: Path
    process: subprocess.Popen

    def api(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def log_tail(self, n: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def shutdown_kernels(self, notebook_path: str | None = None) -> None:
        """Delete the sessions (and their kernels) of one notebook, or all of them."""
        try:
            sessions = self.api("GET", "/api/sessions")
        except (urllib.error.URLError, OSError):
            return
        for session in sessions:
            if notebook_path is None or session.get("path") == notebook_path:
                with contextlib.suppress(urllib.error.URLError, OSError):
                    self.api("DELETE", f"/api/sessions/{session['id']}")


def _lab_settings(settings_dir: Path) -> None:
    """User settings that keep JupyterLab offline and quiet."""
    files = {
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
    }
    for rel, value in files.items():
        path = settings_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


@pytest.fixture(scope="session")
def jupyter_server(tmp_path_factory) -> Iterator[JupyterServer]:
    """JupyterLab (this interpreter's ``jupyter lab``) on a free port, for the session.

    Its root dir is a fresh temporary folder; kernels see the repository on
    ``PYTHONPATH`` (so ``import tests.ui.probe_widget`` works in a notebook).
    """
    base = tmp_path_factory.mktemp("jupyter")
    root = base / "root"
    root.mkdir()
    settings = base / "settings"
    _lab_settings(settings)
    port = _free_port()
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
        "IPYTHONDIR": str(base / "ipython"),
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
        "PYTHONUNBUFFERED": "1",
    }
    cmd = [
        sys.executable, "-m", "jupyter", "lab",
        "--no-browser",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        "--ServerApp.disable_check_xsrf=True",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log_path = base / "jupyter.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    server = JupyterServer(f"http://127.0.0.1:{port}", root, log_path, process)
    deadline = time.monotonic() + 120
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"jupyter lab exited with {process.returncode}:\n{server.log_tail()}")
            try:
                server.api("GET", "/api/status")
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not answer within 120 s:\n{server.log_tail()}")
                time.sleep(0.25)
        print(f"[ui] JupyterLab at {server.url} (root {root}, log {log_path})", file=sys.stderr)
        yield server
    finally:
        server.shutdown_kernels()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()


def write_notebook(path: Path, cells: Sequence[str]) -> Path:
    """Write code ``cells`` as a notebook with the ``python3`` kernel."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


_KERNEL_READY_OR_DIALOG = """() => {
  if (document.querySelector('.jp-Dialog')) return 'dialog';
  const app = window.jupyterapp;
  const w = app && app.shell && app.shell.currentWidget;
  const kernel = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return kernel && kernel.status === 'idle' && kernel.connectionStatus === 'connected' ? 'idle' : false;
}"""


_EXECUTE = """async ([code, timeoutMs]) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({ code, store_history: false });
  let stdout = '', error = null;
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === 'stream') stdout += msg.content.text;
    if (msg.header.msg_type === 'error') error = msg.content.ename + ': ' + msg.content.evalue;
  };
  const timeout = new Promise((_, reject) =>
    setTimeout(() => reject(new Error('no reply within ' + timeoutMs + ' ms')), timeoutMs));
  await Promise.race([future.done, timeout]);
  return { stdout, error };
}"""


@dataclass
class LabSession:
    """One test's JupyterLab tab. Made by the ``lab`` fixture."""

    server: JupyterServer
    context: Any
    page: Any
    name: str
    dialogs: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    notebooks: list[str] = field(default_factory=list)
    _count: int = 0

    def open_notebook(self, cells: Sequence[str], name: str | None = None) -> Any:
        """Write ``cells`` into ``<root>/<name>.ipynb``, open it, and wait for an idle kernel.

        A kernel-selection dialog, if one appears, is accepted.
        """
        self._count += 1
        stem = name or f"{self.name}-{self._count}"
        rel = f"{stem}.ipynb"
        write_notebook(self.server.root_dir / rel, cells)
        return self.open_file(rel)

    def open_file(self, rel: str) -> Any:
        """Open the notebook at ``<root>/<rel>`` as it is on disk (nothing runs); wait for an idle kernel."""
        stem = Path(rel).stem
        self.notebooks.append(rel)
        # A workspace of its own, so nothing from an earlier test is restored.
        self.page.goto(f"{self.server.url}/lab/workspaces/{stem}/tree/{rel}", timeout=TIMEOUT_MS)
        self.page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=TIMEOUT_MS)
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while True:
            state = self.page.wait_for_function(
                _KERNEL_READY_OR_DIALOG, timeout=max(1000, (deadline - time.monotonic()) * 1000)
            ).json_value()
            if state == "idle":
                return self.page
            # "Select Kernel" (or any other dialog): accept its default
            self.page.locator(".jp-Dialog .jp-mod-accept").first.click(timeout=TIMEOUT_MS)
            self.page.wait_for_selector(".jp-Dialog", state="detached", timeout=TIMEOUT_MS)

    def run_all(self) -> None:
        """Run every cell of the current notebook (JupyterLab's 'Run All Cells')."""
        self.page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")

    def wait_for_output(self, selector: str, timeout_ms: int = TIMEOUT_MS) -> Any:
        """Wait for ``selector`` inside a cell's output area; a failure shows the outputs."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        full = f".jp-OutputArea-output {selector}"
        try:
            return self.page.wait_for_selector(full, timeout=timeout_ms)
        except PlaywrightTimeout:
            outputs = self.page.locator(".jp-OutputArea-output").all_inner_texts()
            raise AssertionError(
                f"{selector!r} did not appear in an output area within {timeout_ms} ms.\n"
                f"Outputs:\n" + "\n---\n".join(outputs)[-4000:]
                + (f"\nPage errors: {self.page_errors}" if self.page_errors else "")
            ) from None

    def execute(self, code: str, timeout_ms: int = TIMEOUT_MS) -> str:
        """Run ``code`` in the open notebook's kernel (not in a cell); return its stdout.

        An error in the code raises ``AssertionError`` with the traceback's last line.
        """
        reply = self.page.evaluate(_EXECUTE, [code, timeout_ms])
        if reply["error"]:
            raise AssertionError(f"kernel error running {code!r}: {reply['error']}")
        return reply["stdout"]

    def run_cells(self, cells: Sequence[str], wait_for: str, name: str | None = None) -> Any:
        """Open a notebook of ``cells``, run them all, wait for ``wait_for`` in an output.

        Returns the Playwright page.
        """
        self.open_notebook(cells, name=name)
        self.run_all()
        self.wait_for_output(wait_for)
        return self.page


@pytest.fixture
def lab(browser, jupyter_server, request) -> Iterator[LabSession]:
    """A fresh browser context on the session's JupyterLab; kernels stopped afterwards."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", request.node.name).strip("_")
    session = LabSession(jupyter_server, context, page, name)

    def on_dialog(dialog):
        session.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda err: session.page_errors.append(str(err)))
    page.on("console", lambda msg: msg.type == "error" and session.console_errors.append(msg.text))
    try:
        yield session
    finally:
        if _failed(request):
            _save(page, _shot_path(request, "-failure"))
        context.close()
        for rel in session.notebooks:
            jupyter_server.shutdown_kernels(rel)


# --------------------------------------------------------------------------- bare page


_BARE_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>workbench bare widget</title>
<style>body { font-family: sans-serif; margin: 16px; }</style>
<script type="module" src="/harness.js"></script></head>
<body><div id="root"></div></body></html>
"""


def _resolve_bundle(bundle: str | Path) -> Path:
    path = Path(bundle)
    if path.suffix != ".js":
        for folder in (STATIC, TEST_STATIC):
            if (folder / f"{bundle}.js").exists():
                return folder / f"{bundle}.js"
        raise FileNotFoundError(
            f"no bundle named {bundle!r} in {STATIC} or {TEST_STATIC}; "
            f"build it with `cd widgets_js && npm run build`"
        )
    if not path.is_absolute():
        path = REPO / path
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; build it with `cd widgets_js && npm run build`")
    return path


def _wire(data: Any, buffers: Sequence[Any]) -> dict:
    return {
        "data": data,
        "buffers": [base64.b64encode(memoryview(b).cast("B")).decode() for b in buffers],
    }


def _capturing_comm(comm_id: str) -> Any:
    """A comm that queues the kernel side's messages for the bare page."""
    from comm import DummyComm

    class CapturingComm(DummyComm):
        outbox: list[dict]

        def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
            if msg_type == "comm_msg":
                self.outbox.append(_wire(data, buffers or []))

    comm = CapturingComm(comm_id=comm_id, target_name="jupyter.widget", primary=False)
    comm.outbox = []
    return comm


class BareWidget:
    """A bundle rendered in a bare page with a fake model (see the ``bare_widget`` fixture).

    Attributes
    ----------
    page
        The Playwright page; the widget renders into ``#root``.
    widget
        The Python widget behind the fake model, or None in state-only mode.
    sent
        Every message the front-end sent, as ``(data, buffers)``: ``data`` is
        ``{"method": "update", "state", "buffer_paths"}`` (``save_changes``) or
        ``{"method": "custom", "content"}`` (``model.send``).
    blocked
        URLs the page tried to load from outside its own files (blocked; should stay empty).
    """

    def __init__(self, page: Any, widget: Any = None):
        self.page = page
        self.widget = widget
        self.sent: list[tuple[dict, list[bytes]]] = []
        self.blocked: list[str] = []
        self.page_errors: list[str] = []
        self.dialogs: list[str] = []
        self.root = page.locator("#root")
        self._comm = None
        if widget is not None:
            self._comm = _capturing_comm(widget.model_id)
            widget.comm = self._comm

    def _from_page(self, data_json: str, buffers_b64: list[str]) -> list[dict]:
        data = json.loads(data_json)
        buffers = [base64.b64decode(b) for b in buffers_b64]
        self.sent.append((data, buffers))
        if self._comm is None:
            return []
        self._comm.handle_msg(
            {"content": {"data": data, "comm_id": self._comm.comm_id}, "buffers": [memoryview(b) for b in buffers]}
        )
        return self._drain()

    def _drain(self) -> list[dict]:
        if self._comm is None:
            return []
        out, self._comm.outbox[:] = list(self._comm.outbox), []
        return out

    def flush(self) -> None:
        """Deliver to the page what the Python widget sent since (trait changes, messages)."""
        messages = self._drain()
        if messages:
            self.page.evaluate("(m) => window.wbDeliver(m)", messages)

    def send_to_view(self, content: Any, buffers: Sequence[Any] = ()) -> None:
        """Deliver a custom message (``msg:custom``) to the front-end, as the kernel would."""
        self.page.evaluate("(m) => window.wbDeliver(m)", [_wire({"method": "custom", "content": content}, buffers)])

    def set_state(self, **state: Any) -> None:
        """Update the fake model's state (binary payloads allowed) and fire ``change:`` events."""
        content, paths, buffers = pack(state)
        self.page.evaluate(
            "(m) => window.wbDeliver(m)",
            [_wire({"method": "update", "state": content, "buffer_paths": paths}, buffers)],
        )

    def state(self) -> dict:
        """The front-end model's current state; binary parts come back as ``bytes``."""
        from workbench.widgets._buffers import unpack

        raw = self.page.evaluate("() => window.wbState()")
        return unpack(raw["state"], raw["buffer_paths"], [base64.b64decode(b) for b in raw["buffers"]], decode=False)

    def saves(self) -> int:
        """How many times the front-end called ``model.save_changes()``."""
        return self.page.evaluate("() => window.wbModel.saves")

    def js_errors(self) -> list[str]:
        """Errors thrown in the page (uncaught, or in model event handlers)."""
        return self.page.evaluate("() => window.wbErrors") + self.page_errors


@pytest.fixture
def bare_widget(browser, request) -> Iterator[Callable[..., BareWidget]]:
    """Render a built bundle in a bare page, without Jupyter: ``bare_widget(bundle, ...)``.

    ``bundle`` is a name (``"probe"``: looked up in workbench/static, then
    tests/ui/static) or a path to a ``.js`` file. Give either ``widget=`` (a Python
    anywidget: its state is the model's, and messages and ``save_changes`` go to it and
    its replies come back, as with a kernel) or ``state=`` (a dict, payloads from
    ``to_buffer`` allowed; what the front-end sends is only recorded in ``.sent``).
    The page can load nothing but its own files: anything else is blocked and listed
    in ``.blocked``.
    """
    contexts = []

    def mount(bundle: str | Path, *, widget: Any = None, state: dict | None = None) -> BareWidget:
        if (widget is None) == (state is None):
            raise TypeError("bare_widget needs exactly one of widget= or state=")
        path = _resolve_bundle(bundle)
        context = browser.new_context(viewport={"width": 1000, "height": 700})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        bare = BareWidget(page, widget)
        files = {
            "/index.html": (_BARE_HTML.encode(), "text/html"),
            "/harness.js": ((UI_DIR / "bare_harness.js").read_bytes(), "text/javascript"),
            "/bundle.js": (path.read_bytes(), "text/javascript"),
        }

        def route(r):
            url = r.request.url
            if url.startswith(BARE_ORIGIN + "/"):
                key = "/" + url[len(BARE_ORIGIN) + 1 :].split("?", 1)[0]
                if key in files:
                    body, ctype = files[key]
                    return r.fulfill(status=200, body=body, content_type=ctype)
                if key == "/favicon.ico":
                    return r.fulfill(status=204, body=b"")
            bare.blocked.append(url)
            return r.abort()

        context.route("**/*", route)

        def on_dialog(dialog):
            bare.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda err: bare.page_errors.append(str(err)))
        page.expose_function("wbKernel", bare._from_page)
        page.goto(f"{BARE_ORIGIN}/index.html")
        page.wait_for_function("() => typeof window.wbMount === 'function'")
        initial = widget.get_state() if widget is not None else state
        content, paths, buffers = pack(initial)
        wire = _wire(content, buffers)
        css = getattr(widget, "_css", None)
        if widget is None and path.parent == STATIC:  # state alone: the stylesheet the panel's class would send
            css = (STATIC / "workbench.css").read_text()
        if css:
            page.add_style_tag(content=str(css))
        page.evaluate(
            "(init) => window.wbMount('/bundle.js', init)",
            {"state": wire["data"], "buffer_paths": paths, "buffers": wire["buffers"]},
        )
        return bare

    try:
        yield mount
    finally:
        if _failed(request) and contexts and contexts[-1].pages:
            _save(contexts[-1].pages[0], _shot_path(request, "-failure"))
        for context in contexts:
            context.close()


# --------------------------------------------------------------------------- screenshots


def _save(page: Any, path: Path) -> Path | None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=str(path), full_page=True)
    except Exception as exc:  # a failure screenshot must not hide the real failure
        print(f"[ui] could not save a screenshot to {path}: {exc}", file=sys.stderr)
        return None
    print(f"[ui] screenshot: {path}")
    return path


@pytest.fixture
def screenshot(request) -> Callable[..., Path]:
    """``screenshot(page, suffix="")``: save tests/ui/screenshots/<test name><suffix>.png."""

    def take(page: Any, suffix: str = "") -> Path:
        path = _shot_path(request, suffix)
        saved = _save(page, path)
        assert saved is not None, f"could not save {path}"
        return saved

    return take


@pytest.fixture(scope="session", autouse=True)
def _screenshot_dir() -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

