#!/usr/bin/env bash
# Regenerates run/testdata/legacy-run: a run directory as nnclr wrote them before run.json
# existed (the CLI's flags.json, Go field names), made by the CLI of commit 3aca151 on the first
# 80 images of each Fashion-MNIST split. Run from the repository root after `make setup`.
set -euo pipefail
root=$(pwd)
out="$root/run/testdata/legacy-run"
tmp=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$tmp/src" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
git worktree add --detach "$tmp/src" 3aca151 >/dev/null
(cd "$tmp/src" && CGO_CFLAGS="-I$root/third_party/tensorflow/include" \
  CGO_LDFLAGS="-L$root/third_party/tensorflow/lib -Wl,-rpath,$root/third_party/tensorflow/lib" \
  go build -o "$tmp/nnclr-tf" ./cmd/nnclr)
"$tmp/nnclr-tf" --mode prepare --dataset fashion_mnist --data-dir "$tmp/tfds" --limit 80 --quiet
"$tmp/nnclr-tf" --mode pretrain --dataset fashion_mnist --data-dir "$tmp/tfds" --run-dir "$tmp/run" \
  --image-size 32 --width 8 --queue-size 96 --epochs 1 --steps-per-epoch 2 --seed 5 --quiet
rm -rf "$out" && mkdir -p "$out"
cp -r "$tmp/run/flags.json" "$tmp/run/metrics.jsonl" "$tmp/run/checkpoints" "$out/"
