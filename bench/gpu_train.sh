#!/usr/bin/env bash
# Train the default model on one GPU for about nine minutes and export its weights (issue 25):
# run on the GPU machine from the repository root, after `bash bench/gpu_pack.sh` here:
#     device run(command="bash bench/gpu_train.sh", carry=[".gpu"], timeout_s=600)
# It continues from the checkout's default weights (experiment=photo: init_weights) with the
# same data, noise and model, at GPU batch and patch sizes, stops at MAX_TIME (8 min 30 s), and
# writes under $OUT: invdn_gpu.pt (float16 weights, as shipped), metrics.csv, config.yaml and
# train.log. Tested on the CPU with: GPU_TRAIN_TRAINER=cpu MAX_TIME=00:00:01:00 STEPS=4 \
#     BATCH=2 PATCH=32 WORKERS=0 WARMUP=1 EPOCH_SAMPLES=8 bash bench/gpu_train.sh
set -u
OUT="${OUT:-bench-results/gpu_train}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
if [ -d .gpu/wheels ] && ! python3 -c "import hydra, kornia, pywt" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .gpu/wheels/*.whl || exit 1
    export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PHOTOS="${PHOTOS:-.gpu/photos}"
RUN="${RUN_DIR:-/tmp/invdn_gpu_run}"
rm -rf "$RUN"
{ nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo "no GPU"
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
} | tee "$OUT/env.txt"
timeout --kill-after=20 "${LIMIT_S:-560}" python3 -m invdn.cli.main train experiment=photo \
    trainer="${GPU_TRAIN_TRAINER:-gpu}" data.root="$PHOTOS" run_dir="$RUN" \
    data.batch_size="${BATCH:-32}" data.patch_size="${PATCH:-96}" \
    data.num_workers="${WORKERS:-14}" data.samples_per_epoch="${EPOCH_SAMPLES:-32000}" \
    trainer.max_steps="${STEPS:-3000}" trainer.max_time="${MAX_TIME:-00:00:08:30}" \
    system.scheduler.warmup_steps="${WARMUP:-100}" trainer.enable_progress_bar=false \
    > "$OUT/train.log" 2>&1
echo "train rc=$?" | tee -a "$OUT/env.txt"
tail -n 5 "$OUT/train.log"
cp "$RUN/logs/metrics.csv" "$RUN/config.yaml" "$OUT/" 2>/dev/null
python3 -m invdn.cli.main export --checkpoint "$RUN/checkpoints/last.ckpt" --format weights \
    --half -o "$OUT/invdn_gpu.pt" 2>&1 | tail -n 3
ls -la "$OUT"
