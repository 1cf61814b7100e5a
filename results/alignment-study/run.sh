#!/usr/bin/env bash
# The alignment study (issue 12): reproduces fashion-mnist-alignment-study.csv beside this file.
# One `alignmix compare` per seed, the three in parallel (nice, one compute thread each), then the
# per-seed CSVs are concatenated. Run directories go to runs/alignment-study/seed<seed>/ (git-ignored).
# Usage: bash results/alignment-study/run.sh      (from anywhere; see README.md for its cost)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=results/alignment-study
METHODS=baseline-flat,input-mixup-flat,manifold-mixup-flat,alignmixup-unaligned-flat,alignmixup-flat,alignmixup-random-plan-flat,alignmixup
SEEDS=(0 1 2)
mkdir -p runs/alignment-study
pids=()
for seed in "${SEEDS[@]}"; do
  /usr/bin/time -f "seed $seed: user %U s, system %S s, wall %e s" -o "$OUT/cpu-seed$seed.txt" \
    nice node bin/alignmix.js compare --protocol fashion-mnist --methods "$METHODS" --seeds "$seed" \
      --epochs 2 --per-class 1000 --set data.valPerClass=100 --threads 1 \
      --runs-root "runs/alignment-study/seed$seed" --out "$OUT/seed$seed.csv" > "runs/alignment-study/log-seed$seed.txt" 2>&1 &
  pids+=("$!")
done
for p in "${pids[@]}"; do wait "$p"; done
{ head -n 1 "$OUT/seed0.csv"; for seed in "${SEEDS[@]}"; do tail -n +2 "$OUT/seed$seed.csv"; done; } > "$OUT/fashion-mnist-alignment-study.csv"
rm "$OUT"/seed?.csv
cat "$OUT"/cpu-seed?.txt
