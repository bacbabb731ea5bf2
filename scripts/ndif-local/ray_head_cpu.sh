#!/bin/bash
# Same as ndif 0.1.2's services/ray/start.sh (head branch), except the node
# advertises one *logical* GPU and a fake cuda_memory_bytes, because the NDIF
# controller only manages nodes whose Ray resources include "GPU"
# (cluster.py update_nodes: `if "GPU" not in node.resources_total: continue`).
set -euo pipefail
export NDIF_SERVICE="${NDIF_SERVICE:-ray}"
export GRPC_ENABLE_FORK_SUPPORT="${GRPC_ENABLE_FORK_SUPPORT:-0}"
NDIF_RAY_TEMP_DIR="${NDIF_RAY_TEMP_DIR:-/tmp/ray}"
mkdir -p "$NDIF_RAY_TEMP_DIR"
unset RAY_ADDRESS
FAKE_GPU_BYTES="${NDIF_FAKE_GPU_BYTES:-8000000000}"
cpu_mem=$(python -c 'import psutil; print(int(psutil.virtual_memory().total))')
resources="{\"head\": 10, \"cuda_memory_bytes\": $FAKE_GPU_BYTES, \"cpu_memory_bytes\": $cpu_mem}"
echo "Starting Ray head node (CPU, 1 logical GPU) with resources: $resources"
ray start --head \
    --num-cpus="${NDIF_RAY_NUM_CPUS:-2}" --num-gpus=1 \
    --resources="$resources" \
    --port="${NDIF_RAY_HEAD_PORT:-6385}" \
    --object-manager-port="${NDIF_RAY_OBJECT_MANAGER_PORT:-8076}" \
    --include-dashboard=true \
    --dashboard-host=127.0.0.1 \
    --dashboard-port="${NDIF_RAY_DASHBOARD_PORT:-8265}" \
    --dashboard-agent-grpc-port="${NDIF_RAY_DASHBOARD_GRPC_PORT:-52366}" \
    --metrics-export-port="${NDIF_RAY_METRICS_PORT:-8080}" \
    --temp-dir="$NDIF_RAY_TEMP_DIR"
echo "Starting NDIF controller..."
RAY_ADDRESS="127.0.0.1:${NDIF_RAY_HEAD_PORT:-6385}" \
    python -m ndif.services.ray.deployments.controller.controller
