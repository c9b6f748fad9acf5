#!/usr/bin/env bash
# The real-GPU check: every kernel variant's correctness probe, the autotuner, matmul 4096^3 in f32 and f16 tiles,
# EfficientNet-B0 inference at batch 1, 32 and 256 and training steps at batch 32 and 128 (last 10 layers unfrozen,
# and all trainable), with tfjs-webgpu and onnxruntime-webgpu as peers where they run, each with the counts of
# bench/model.ts, and the peak GPU memory of an all-trainable batch-32 step at 224x224 beside tfjs-webgpu's. Needs
# nothing from the internet (the B0 file is generated locally). Writes one JSON file per step (bench/run.ts rows)
# plus its log, the tuning cache (tune-cache.json) and summary.json (adapter, each step's status and seconds).
#
#   bench/gpu-check.sh [--quick] [--out DIR] [--allow-cpu]
#     --quick      tiny sizes (matmul 64^3, B0 at 32x32, batches 1-2): proves the script end to end on any adapter
#     --out DIR    output folder (default bench/results/gpu-check-<UTC time>)
#     --allow-cpu  run the full check on a software adapter (lavapipe, SwiftShader) instead of refusing
# Budget on a real GPU through Dawn's Vulkan backend: under 8 minutes; each step has its own time limit.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
allow_cpu=0
out="bench/results/gpu-check-$(date -u +%Y%m%d-%H%M%S)"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --allow-cpu) allow_cpu=1 ;;
    --out) out="${2:?--out needs a folder}"; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
# NOTE: every step tunes into (or reads) the same cache, so the timed runs use the tuner's choices.
export GRAFT_TUNE=on GRAFT_TUNE_CACHE="$out/tune-cache.json"
mkdir -p "$out"
started=$SECONDS
npx tsx tools/preflight.ts

# step NAME LIMIT_S SUITE ARGS...: one bench/run.ts process per step (a crash or hang stops only that step's figures).
failed=()
steps_json=()
adapter=""
step() {
  local name=$1 limit=$2
  shift 2
  echo "== $name (limit ${limit}s): bench/run.ts $*"
  local t0=$SECONDS ok=true
  if timeout --kill-after=5 "$limit" npx tsx bench/run.ts "$@" --json "$out/$name.json" > "$out/$name.log" 2>&1; then
    echo "   ok in $((SECONDS - t0)) s"
  else
    echo "   FAILED (exit $?) after $((SECONDS - t0)) s; last lines of $out/$name.log:"
    tail -n 5 "$out/$name.log" | sed 's/^/   | /'
    failed+=("$name")
    ok=false
  fi
  grep -E '^(adapter:|tuning:|tuned) ' "$out/$name.log" | sed 's/^/   /' || true
  [ -n "$adapter" ] || adapter=$(sed -n 's/^adapter: //p' "$out/$name.log" | head -n 1)
  steps_json+=("{\"step\":\"$name\",\"ok\":$ok,\"seconds\":$((SECONDS - t0)),\"limit_s\":$limit,\"args\":\"$*\"}")
}

# NOTE: the autotuner step must have tuned something, or the check did not check it.
require_tuned() {
  if ! grep -q '^tuned ' "$out/$1.log"; then
    echo "   FAILED: step $1 printed no tuning decision (GRAFT_TUNE=on)"
    failed+=("$1 (no tuning)")
  fi
}

if [ "$quick" = 1 ]; then
  step variants 300 variants --quick
  step tune 300 matmul --quick --sizes=64 --skinny=off
  require_tuned tune
  step matmul 300 matmul --quick --sizes=64 --skinny=off --variants=all
  step infer 600 model --quick --size=32 --infer-batches=1,2 --peers=tfjs-webgpu,ort-webgpu
  step train 900 model --quick --size=32 --infer-batches=1 --train-batches=2 --train-cases=last10,all --peak-batch=2 --peak-size=32 --peers=tfjs-webgpu
else
  step variants 40 variants
  if [ "$allow_cpu" = 0 ] && echo "$adapter" | grep -qiE 'llvmpipe|lavapipe|swiftshader|software|cpu'; then
    echo "gpu-check: the adapter is a software one ($adapter): this is not a GPU check (--quick, or --allow-cpu)" >&2
    exit 1
  fi
  # NOTE: tuning happens on first meeting a bucket: this step tunes B0's matmul buckets (matmul tunes its own).
  step tune 70 model --size=224 --infer-batches=32 --peak-batch=none --peers=none
  require_tuned tune
  step matmul 70 matmul --sizes=4096 --skinny=off --variants=all
  step infer 120 model --size=224 --infer-batches=1,32,256 --peak-batch=none --peers=tfjs-webgpu,ort-webgpu
  step train 150 model --size=224 --infer-batches=1 --train-batches=32,128 --train-cases=last10,all --peak-batch=32 --peak-size=224 --peers=tfjs-webgpu
fi

total=$((SECONDS - started))
list=$(IFS=,; echo "${steps_json[*]}")
printf '{"adapter":"%s","quick":%s,"seconds":%d,"failed":%d,"steps":[%s]}\n' \
  "${adapter//\"/\'}" "$([ "$quick" = 1 ] && echo true || echo false)" "$total" "${#failed[@]}" "$list" > "$out/summary.json"
echo "results: $out (summary.json; $total s in all)"
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed steps: ${failed[*]}" >&2
  exit 1
fi
