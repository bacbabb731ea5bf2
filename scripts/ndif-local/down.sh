#!/bin/bash
# Stop what up.sh started, by PID only (no `ray stop`, which is machine-wide).
SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HERE="${NDIF_LOCAL_DIR:-$HOME/.cache/workbench/ndif-local}"   # the venv, logs, deploy file
mkdir -p "$HERE"
export PATH="$HERE/venv/bin:$PATH" NDIF_HOME="$HERE/home"
ndif stop api 2>/dev/null
ndif stop redis 2>/dev/null
pkill -f "moto_server -H 127.0.0.1 -p 9000" 2>/dev/null
# Ray: every daemon of this cluster names /tmp/ndif-ray or its GCS port 6385;
# workers/agents are their descendants. Kill the trees, children first.
"$HERE/venv/bin/python" - <<'PY'
import psutil
def ours(cmd):
    # daemons: --temp-dir / session paths under /tmp/ndif-ray; the Ray client
    # proxy (ray.util.client.server) only names the GCS port 6385 of this head.
    return "/tmp/ndif-ray" in cmd or ("ray.util.client.server" in cmd and ":6385" in cmd)
roots = [p for p in psutil.process_iter(["cmdline"])
         if ours(" ".join(p.info["cmdline"] or []))]
procs = {}
for r in roots:
    try:
        for c in r.children(recursive=True):
            procs[c.pid] = c
        procs[r.pid] = r
    except psutil.NoSuchProcess:
        pass
for p in procs.values():
    try: p.terminate()
    except psutil.NoSuchProcess: pass
gone, alive = psutil.wait_procs(list(procs.values()), timeout=10)
for p in alive:
    try: p.kill()
    except psutil.NoSuchProcess: pass
print(f"ray: stopped {len(procs)} processes")
PY
