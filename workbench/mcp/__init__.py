"""The workbench as an MCP server: an auditing agent's toolbox over the loaded model, journaled as the agent.

Two ways to start it, sharing one set of tools (:class:`Toolbox`):

* ``bench.serve()`` in a notebook: streamable HTTP from a background thread of the
  kernel, on 127.0.0.1 and a free port, behind a random bearer token; the handle shows
  the URL, the token and ready-to-paste client configuration, and has ``.pause()``,
  ``.resume()``, ``.set_budget()`` and ``.stop()``;
* ``python -m workbench.mcp [MODEL] [--adapter ...] [--sae ...] [--dataset NAME=PATH]``:
  a stdio server for a local client, loading the model itself.

Every call is journaled with the actor ``agent:<client name>`` (the name from the MCP
handshake), runs under the same model lock as the widgets, and is refused over the
per-call limits or the session's budget (:class:`Limits`). No tool runs code, reads a
path or reaches the network; the datasets are the ones the person registered.

>>> handle = bench.serve(datasets={"demo": wb.corpora.demo_training_corpus()})
>>> handle.toolbox.status()["calls_used"], sorted(handle.toolbox.datasets)
(0, ['demo'])
>>> handle.stop()
"""

from ._server import SYSTEM_PROMPT, Handle, build_server, client_actor, run_client, serve
from ._toolbox import Limits, ToolRefused, fit
from ._tools import Toolbox

__all__ = ["SYSTEM_PROMPT", "Handle", "Limits", "ToolRefused", "Toolbox", "build_server", "client_actor", "fit",
           "run_client", "serve"]
