#!/bin/bash
# Bring up a local NDIF (ndif 0.1.2 from PyPI) on a CPU-only Linux box and deploy
# the workbench's embedded SmolLM2-135M-Instruct folder.  Idempotent-ish: skips the
# venv/pip/apt steps when already done.  Stop everything with ./down.sh.
#
# Deviations from a stock `ndif start` + `ndif deploy`, all needed only because
# there is no GPU and no Hugging Face Hub here:
#   * rustfs (the object store) is neither on PyPI nor in Debian: moto's S3 server
#     (moto[server] from PyPI) stands in for it on :9000 with the bucket ndif-results.
#     Small results go through Redis; a large one (the preference audit's 54 MB of
#     states) is stored there and downloaded by the client.
#   * Ray is started by "$SCRIPTS/ray_head_cpu.sh" instead of ndif's ray/start.sh: same
#     flags plus --num-gpus=1 and a fake cuda_memory_bytes, since the controller
#     ignores nodes without a "GPU" resource ("No GPU nodes available.").
#   * the model runs in ndif_cpu.cpu_actor.CPUModelActor (a subclass of ndif's
#     BaseModelDeployment that loads on CPU), chosen by `actor_class:` in the YAML.
#   * the model key is given explicitly in the YAML (`model_key:`), because
#     computing it for a local folder needs the Hub (HfApi().model_info) and
#     nnsight's meta build of this folder fails without a tokenizer object.
set -euo pipefail
SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HERE="${NDIF_LOCAL_DIR:-$HOME/.cache/workbench/ndif-local}"   # the venv, logs, deploy file
mkdir -p "$HERE"
cd "$HERE"
M="${NDIF_TRY_MODEL:-/root/.cache/workbench/models/smollm2-135m-instruct.q4_1-7d63a0b0ebfa}"

# 1. Python 3.12 venv with torch 2.13.0 + ndif[api,ray] 0.1.2.
#    NOTE: for cp312 PyPI only has the CUDA build of torch 2.13.0 (the local CPU
#    wheel in /opt/wheels is cp311 only, download.pytorch.org is unreachable), so
#    this pulls ~3 GB of nvidia-* wheels; the venv is ~5.4 GB. It runs fine on CPU.
if [ ! -x venv/bin/ndif ]; then
    ~/.pyenv/versions/3.12.1/bin/python3.12 -m venv venv
    nice venv/bin/pip install --no-cache-dir torch==2.13.0 "ndif[api,ray]==0.1.2"
fi
[ -x venv/bin/moto_server ] || nice venv/bin/pip install --no-cache-dir "moto[server]"
# 2. Redis from Debian.
command -v redis-server >/dev/null || apt-get install -y redis-server

export PATH="$HERE/venv/bin:$PATH"
export NDIF_HOME="$HERE/home"          # pid files + logs for `ndif start`
export NDIF_RAY_TEMP_DIR=/tmp/ndif-ray # this cluster's Ray session dir (down.sh keys on it)
export HF_HUB_OFFLINE=1
export NDIF_DEFAULT_DTYPE=float32
export NDIF_MINIMUM_DEPLOYMENT_TIME_SECONDS=0
export PYTHONPATH="$SCRIPTS"              # so Ray workers can import ndif_cpu.cpu_actor
# Ray 2.60 turns on token auth when ~/.ray/auth_token exists (a stray ray.init()
# writes one); the CLI/API clients here carry no token, so pin it off.
export RAY_AUTH_MODE=disabled
mkdir -p "$NDIF_HOME/logs"

# 3. Redis (ndif CLI spawns `redis-server --port 6379`).
nice -n 5 ndif start redis
# 3b. The object store: moto's S3 server, with the bucket the API writes large results to.
if ! curl -s -o /dev/null http://127.0.0.1:9000/; then
    nohup nice -n 5 venv/bin/moto_server -H 127.0.0.1 -p 9000 > "$NDIF_HOME/logs/moto.log" 2>&1 &
    for i in $(seq 1 30); do curl -s -o /dev/null http://127.0.0.1:9000/ && break; sleep 1; done
fi
venv/bin/python - <<'PY'
import boto3
s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:9000", aws_access_key_id="rustfsadmin",
                  aws_secret_access_key="rustfsadmin", region_name="us-east-1")
if "ndif-results" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
    s3.create_bucket(Bucket="ndif-results")
PY
# 4. Ray head (1 logical GPU) + NDIF controller actor. Must be up BEFORE the API:
#    if the API's Ray client loses its cluster, ray.get_actor() in the dispatcher
#    auto-inits a stray local Ray cluster under /tmp/ray.
nice -n 5 "$SCRIPTS/ray_head_cpu.sh" > "$NDIF_HOME/logs/ray_cpu.log" 2>&1
# 5. API (gunicorn + uvicorn worker on :8001, dispatcher connects to ray://localhost:10001).
nice -n 5 ndif start api
for i in $(seq 1 60); do
    curl -sf http://127.0.0.1:8001/connected >/dev/null && break
    sleep 2
done
curl -s http://127.0.0.1:8001/connected; echo
# 6. Deploy the local model on the CPU actor.
cat > models_cpu.yaml <<YAML
models:
  - checkpoint: $M
    task: text-generation
    dtype: float32
    size_bytes: $(stat -c %s "$M/model.safetensors")
    max_tp: 0
    actor_class: ndif_cpu.cpu_actor.CPUModelActor
    model_key: 'nnsight.modeling.transformers.TransformersModel:{"repo_id": "$M", "revision": null, "task": "text-generation"}'
YAML
nice ndif deploy -f models_cpu.yaml
echo "Up. The remote tier against it: WORKBENCH_NDIF_HOST=http://127.0.0.1:8001 HF_HUB_OFFLINE=1 python -m pytest tests/integration/test_remote_default.py"
