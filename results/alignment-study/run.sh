#!/usr/bin/env bash
# The alignment study (issue 12): reproduces fashion-mnist-alignment-study.csv beside this file.
# One `alignmix compare` sweep: 7 methods x 3 seeds, 5 epochs, on the full Fashion-MNIST training set, two
# worker processes at once with one compute thread each (--threads 2 --jobs 2), niced. The sweep
# directory is runs/alignment-study/ (git-ignored); run the script again to continue an interrupted
# sweep (completed runs are kept, unfinished ones resume from their last checkpoint).
# Usage: bash results/alignment-study/run.sh      (from anywhere; see README.md for its cost)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=results/alignment-study
METHODS=baseline-flat,input-mixup-flat,manifold-mixup-flat,alignmixup-unaligned-flat,alignmixup-flat,alignmixup-random-plan-flat,alignmixup
mkdir -p runs
/usr/bin/time -f "user %U s, system %S s, wall %e s" -o "$OUT/cpu.txt" \
  nice node bin/alignmix.js compare --protocol fashion-mnist --methods "$METHODS" --seeds 0,1,2 \
    --epochs 5 --set data.valPerClass=100 --threads 2 --jobs 2 \
    --runs-root runs/alignment-study --out "$OUT/fashion-mnist-alignment-study.csv" 2>&1 | tee runs/alignment-study.log
cat "$OUT/cpu.txt"
