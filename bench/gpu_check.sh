#!/usr/bin/env bash
# Issue 13's GPU measurements in one short run (about 8 minutes on one H200), results as JSON
# under $OUT (default bench-results/gpu). Run from the repository root on the GPU machine:
#     OUT=/some/folder bash bench/gpu_check.sh
# Each step has its own time limit and a failing step does not stop the others; $OUT/steps.txt
# lists every step with its exit status and seconds. Needs torch with CUDA plus the project's
# dependencies (lightning, hydra-core, kornia, ...) importable; the repository itself is used
# from the working tree (PYTHONPATH), not installed.
set -u
OUT="${OUT:-bench-results/gpu}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
START=$SECONDS

step() {  # step NAME LIMIT_S command...
    local name=$1 limit=$2
    shift 2
    local t0=$SECONDS
    echo "=== $name (limit ${limit}s)"
    timeout --kill-after=10 "$limit" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    tail -n 15 "$OUT/$name.log"
    echo "$name rc=$rc seconds=$((SECONDS - t0))" | tee -a "$OUT/steps.txt"
}

# what we run on
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version())"
  python -c "import lightning, hydra, kornia; print('deps ok')"; } >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

# 1. correctness: fast path (fp32, bf16), G/H layouts, system.compile (inductor) on the GPU
step correctness 120 python bench/gpu_check.py --device cuda --json-out "$OUT/correctness.json"
# 2. inference: the 2048² bf16 target (>= 150 MP/s), fp32 beside it; 1-level model too
step infer_bf16 60 python bench/infer.py --device cuda --precision bf16 --sizes 1024 2048 \
    --repeats 5 --json-out "$OUT/infer_bf16.json"
step infer_fp32 45 python bench/infer.py --device cuda --precision fp32 --sizes 2048 \
    --repeats 5 --json-out "$OUT/infer_fp32.json"
step infer_bf16_1level 40 python bench/infer.py --device cuda --precision bf16 --sizes 2048 \
    --levels 1 --blocks 8 --repeats 5 --json-out "$OUT/infer_bf16_1level.json"
# 3. training: batch 28 x 144² (>= 1,500 samples/s) and 8 x 64² (>= 125 steps/s), fp32 and
#    bf16-mixed, standard and memory-efficient; channels_last beside it
step train_b28 80 python bench/train_step.py --device cuda --batch 28 --size 144 --steps 10 \
    --precision fp32 bf16 --modes standard reversible --no-loader \
    --json-out "$OUT/train_b28.json"
step train_b28_cl 45 python bench/train_step.py --device cuda --batch 28 --size 144 --steps 10 \
    --bf16 --modes standard --channels-last --no-loader --json-out "$OUT/train_b28_cl.json"
step train_b8 35 python bench/train_step.py --device cuda --batch 8 --size 64 --steps 20 \
    --precision fp32 bf16 --modes standard --no-loader --json-out "$OUT/train_b8.json"
# 4. torch.compile of the training step (system.compile=true), last: compile time is uncertain
left=$(( 480 - (SECONDS - START) ))
if [ "$left" -gt 40 ]; then
    step train_b28_compile "$left" python bench/train_step.py --device cuda --batch 28 \
        --size 144 --steps 10 --bf16 --modes standard --compile --no-loader \
        --json-out "$OUT/train_b28_compile.json"
else
    echo "train_b28_compile skipped: ${left}s left" | tee -a "$OUT/steps.txt"
fi
echo "total $((SECONDS - START)) s" | tee -a "$OUT/steps.txt"
