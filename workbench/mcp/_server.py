"""The toolbox as an MCP server, on the official ``mcp`` SDK's ``MCPServer``; served over streamable HTTP.

:func:`build_server` registers every :class:`~workbench.mcp.Toolbox` tool on an
``MCPServer``: the SDK builds each JSON schema from the tool's type hints and gives its
docstring (with its output budget) as the description; each call runs through
:meth:`Toolbox.call` as ``agent:<client name>``, the name the client gave in the MCP
handshake. :func:`serve` runs it over streamable HTTP in a background thread, on
127.0.0.1 and a free port, behind a random bearer token (the SDK's token verification)
and the SDK's Host-header check; a client whose address is not local is refused too.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import secrets
import socket
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._toolbox import DEFAULT_OUTPUT_CHARS, OUTPUT_CHARS, Limits, ToolRefused
from ._tools import Toolbox

SYSTEM_PROMPT = (Path(__file__).parent / "system_prompt.md").read_text(encoding="utf-8")
LOCAL_CLIENTS = ("127.0.0.1", "::1")


def run_client(coroutine: Any) -> Any:
    """Run an MCP client coroutine to its end and return its result, from any thread.

    ``asyncio.run`` where no event loop runs in this thread; where one does (a notebook
    kernel's, a browser test's), in a thread of its own, since a running loop cannot be
    entered again.
    """
    import asyncio
    import concurrent.futures

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def client_actor(ctx: Any) -> str:
    """``agent:<client name>`` from the MCP handshake (``agent:unknown`` when the client gave none)."""
    name = None
    try:
        params = ctx.session.client_params
        name = params.client_info.name if params is not None else None
    except Exception:  # a transport without a handshake
        name = None
    name = re.sub(r"[^\w .@/+-]", "", str(name or ""))[:64].strip()
    return f"agent:{name or 'unknown'}"


def _instructions(toolbox: Toolbox) -> str:
    lim = toolbox.limits
    return (f"{SYSTEM_PROMPT}\n\nLimits of this session: n <= {lim.max_n} samples and max_new_tokens <= "
            f"{lim.max_new_tokens} per call; {lim.max_calls} tool calls and {lim.max_sampled_tokens} sampled tokens "
            f"in all (None: no cap). The person may pause you: a call then waits up to {lim.pause_timeout_s:.0f} s "
            "and is refused if still paused; call again later. Every call you make is journaled under your name.")


def _expose(server: Any, toolbox: Toolbox, name: str) -> None:
    from mcp.server.mcpserver import Context
    from mcp.server.mcpserver.exceptions import ToolError

    method = getattr(toolbox, name)
    signature = inspect.signature(method)

    def tool(ctx: Context, **arguments: Any) -> str:
        try:
            return toolbox.call(name, client_actor(ctx), arguments)
        except Exception as error:  # the agent reads the message; a technique's errors say what to do
            message = str(error) if isinstance(error, ToolRefused) else f"{type(error).__name__}: {error}"
            raise ToolError(message) from error

    context = inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)
    tool.__signature__ = signature.replace(parameters=[*signature.parameters.values(), context],  # type: ignore
                                           return_annotation=str)
    tool.__annotations__ = {**{k: p.annotation for k, p in signature.parameters.items()}, "ctx": Context,
                            "return": str}
    tool.__name__ = name
    budget = OUTPUT_CHARS.get(name, DEFAULT_OUTPUT_CHARS)
    doc = inspect.cleandoc(method.__doc__ or "")
    description = (f"{doc}\n\nOutput: one JSON object of at most {budget} characters; when longer, its strings are "
                   "clipped (marked …[+N chars]) and a 'truncated' field says so.")
    server.add_tool(functools.update_wrapper(tool, method, assigned=("__module__",), updated=()), name=name,
                    description=description, structured_output=False)


def build_server(toolbox: Toolbox, **kwargs: Any) -> Any:
    """An ``MCPServer`` with every tool of ``toolbox`` (``kwargs`` go to ``MCPServer``: auth, token verifier).

    >>> server = build_server(Toolbox(bench))
    >>> server.name, len(server._tool_manager.list_tools()) == len(Toolbox.TOOLS)
    ('workbench', True)
    """
    from mcp.server.mcpserver import MCPServer

    from .. import __version__

    server = MCPServer("workbench", title="Audit workbench", instructions=_instructions(toolbox), version=__version__,
                       log_level="WARNING", **kwargs)
    for name in Toolbox.TOOLS:
        _expose(server, toolbox, name)
    return server


class _Token:
    """The SDK's TokenVerifier protocol over one random token (compared in constant time)."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def verify_token(self, token: str) -> Any:
        from mcp.server.auth.provider import AccessToken

        if secrets.compare_digest(token.encode(), self._token.encode()):
            return AccessToken(token=token, client_id="workbench-agent", scopes=[])
        return None


class _LocalOnly:
    """ASGI middleware: a request from an address that is not this machine's loopback is refused (403)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            if not client or client[0] not in LOCAL_CLIENTS:
                from starlette.responses import PlainTextResponse

                response = PlainTextResponse("The workbench's MCP server answers only clients on this machine.", 403)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def http_app(toolbox: Toolbox, port: int, token: str) -> Any:
    """The ASGI app of the server on ``127.0.0.1:port``: bearer token, local Host header, local clients only."""
    from mcp.server.auth.settings import AuthSettings
    from mcp.server.transport_security import TransportSecuritySettings

    base = f"http://127.0.0.1:{port}"
    server = build_server(toolbox, token_verifier=_Token(token),
                          auth=AuthSettings(issuer_url=base, resource_server_url=f"{base}/mcp",
                                            validate_token_resource=False))
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=[f"127.0.0.1:{port}", f"localhost:{port}"],
        allowed_origins=[f"http://127.0.0.1:{port}", f"http://localhost:{port}"])
    return _LocalOnly(server.streamable_http_app(transport_security=security, host="127.0.0.1"))


class Handle:
    """A running MCP server over a Workbench: where it is, how to connect, and the person's controls.

    Attributes
    ----------
    url, token : str
        The endpoint and the bearer token a client must send (``Authorization: Bearer <token>``).
    toolbox : Toolbox
        Its state: conversations, budget, pause.
    """

    def __init__(self, toolbox: Toolbox, url: str, token: str, server: Any, thread: threading.Thread) -> None:
        self.toolbox, self.url, self.token = toolbox, url, token
        self._server, self._thread = server, thread

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def claude_code(self) -> str:
        """The Claude Code command that adds this server."""
        return f'claude mcp add --transport http workbench {self.url} --header "Authorization: Bearer {self.token}"'

    @property
    def claude_desktop(self) -> dict:
        """Claude Desktop's ``claude_desktop_config.json`` entry (through ``mcp-remote``, which it runs with npx)."""
        return {"mcpServers": {"workbench": {"command": "npx", "args": [
            "mcp-remote", self.url, "--header", f"Authorization: Bearer {self.token}"]}}}

    def _changed(self) -> None:
        """Tell the journal's observers (an open Journal panel's agent control) that the server's state changed."""
        journal = getattr(self.toolbox.bench, "journal", None)
        if journal is not None:
            journal._notify({"type": "agent", "url": self.url})

    def pause(self) -> None:
        """Hold the agent's calls until :meth:`resume` (each waits up to ``limits.pause_timeout_s``)."""
        self.toolbox.pause()
        self._changed()

    def resume(self) -> None:
        self.toolbox.resume()
        self._changed()

    def set_budget(self, **budget: Any) -> None:
        """``calls=`` and/or ``sampled_tokens=`` (``None``: no cap)."""
        self.toolbox.set_budget(**budget)
        self._changed()

    def stop(self, timeout: float = 10.0) -> None:
        """Refuse further calls and shut the server down (its port is freed)."""
        self.toolbox.stop()
        self._server.should_exit = True
        self._thread.join(timeout)
        servers = getattr(self.toolbox.bench, "agent_servers", None)
        if servers is not None and self in servers:
            servers.remove(self)
        self._changed()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        status = self.toolbox.status()
        return "\n".join([
            f"workbench MCP server ({state}{', paused' if status['paused'] else ''}) at {self.url}",
            f"  token: {self.token}",
            f"  Claude Code:    {self.claude_code}",
            f"  Claude Desktop: {json.dumps(self.claude_desktop)}",
            f"  calls used {status['calls_used']} (left {status['calls_left']}), sampled tokens used "
            f"{status['sampled_tokens_used']} (left {status['sampled_tokens_left']})",
            "  handle.pause() / .resume() / .set_budget(calls=..., sampled_tokens=...) / .stop()",
        ])


def serve(bench: Any, *, datasets: Mapping[str, Any] | None = None, limits: Limits | None = None,
          port: int = 0, token: str | None = None, timeout: float = 30.0) -> Handle:
    """Serve ``bench``'s toolbox over streamable HTTP from a background thread; see :meth:`Workbench.serve`.

    >>> handle = serve(bench)
    >>> handle.url.startswith("http://127.0.0.1:"), handle.claude_code.startswith("claude mcp add --transport http")
    (True, True)
    >>> handle.stop(); handle.running
    False
    """
    import uvicorn

    toolbox = Toolbox(bench, datasets=datasets, limits=limits)
    token = token or secrets.token_urlsafe(32)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    app = http_app(toolbox, port, token)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="workbench-mcp", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("The MCP server did not start; see the kernel's log.")
        time.sleep(0.02)
    handle = Handle(toolbox, f"http://127.0.0.1:{port}/mcp", token, server, thread)
    servers = getattr(bench, "agent_servers", None)
    if servers is None:
        servers = bench.agent_servers = []  # what a Journal panel's agent control pauses, resumes, stops
    servers.append(handle)
    handle._changed()
    return handle
