"""``python -m workbench.mcp [MODEL]``: the toolbox as a stdio MCP server, for a local client that starts it.

The model (default: the embedded one), an adapter and SAE folders load first; what they
print goes to stderr, since stdout carries the protocol. With ``--remote`` the model runs on
NDIF (or ``--remote HOST``, a server there; ``--remote local``, the simulation) and only
its config and tokenizer are read here. Datasets the agent may search
are named with ``--dataset NAME=PATH`` (read as data: ``wb.read_dataset``).
"""

from __future__ import annotations

import argparse
import contextlib
import sys


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line.

    >>> parse(["model-dir", "--sae", "sae-dir", "--dataset", "docs=docs.jsonl", "--max-calls", "9"]).max_calls
    9
    >>> parse(["org/model", "--remote"]).remote, parse(["org/model", "--remote", "http://127.0.0.1:8001"]).remote
    (True, 'http://127.0.0.1:8001')
    """
    parser = argparse.ArgumentParser(prog="python -m workbench.mcp", description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=None, help="Hub id, folder or .gguf (default: the embedded model)")
    parser.add_argument("--adapter", default=None, help="a PEFT adapter folder or Hub id")
    parser.add_argument("--remote", nargs="?", const=True, default=False, metavar="HOST",
                        help="run the model on NDIF (nnsight's CONFIG.API.HOST), on the NDIF server at HOST, or "
                             "'local' (the simulation: weights here, every request serialized as for NDIF)")
    parser.add_argument("--sae", action="append", default=[], help="an SAE folder (sae-lens format); repeatable")
    parser.add_argument("--dataset", action="append", default=[], metavar="NAME=PATH",
                        help="a dataset the agent may search; repeatable")
    parser.add_argument("--journal", default=None, help="the journal file (default: $WORKBENCH_JOURNAL or the cwd)")
    parser.add_argument("--max-n", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--max-calls", type=int, default=500)
    parser.add_argument("--max-sampled-tokens", type=int, default=100_000)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    datasets = {}
    for spec in args.dataset:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise SystemExit(f"--dataset takes NAME=PATH, not {spec!r}.")
        datasets[name] = path
    with contextlib.redirect_stdout(sys.stderr):  # stdout is the protocol's
        import workbench as wb

        from . import Limits, Toolbox, build_server

        bench = wb.Workbench(args.model, adapter=args.adapter, journal=args.journal, remote=args.remote)
        for folder in args.sae:
            bench.saes.load_path(folder)
        limits = Limits(max_n=args.max_n, max_new_tokens=args.max_new_tokens, max_calls=args.max_calls,
                        max_sampled_tokens=args.max_sampled_tokens)
        server = build_server(Toolbox(bench, datasets=datasets, limits=limits))
    server.run("stdio")


if __name__ == "__main__":
    main()
