#!/usr/bin/env bash
# Copy what bin/nnclr needs at run time into one prefix: PREFIX/bin/{nnclr,nnclr-tf} and
# PREFIX/lib with libtensorflow (the provisioned one) and, for the GPU wheel, NVIDIA's CUDA/cuDNN
# libraries from the virtualenv. The Dockerfile's runtime stage is just this prefix; `make test`
# runs it too (docker-check) so the image's recipe is exercised without a Docker engine.
set -euo pipefail
prefix=${1:?usage: collect-runtime.sh PREFIX}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
die() { echo "collect-runtime: $*" >&2; exit 1; }
[[ -x "$root/bin/nnclr" && -x "$root/bin/nnclr-tf" ]] || die "bin/nnclr is not built: run make setup"
[[ -d "$here/lib" ]] || die "libtensorflow is not provisioned: run make setup"
mkdir -p "$prefix/bin" "$prefix/lib"
cp "$root/bin/nnclr" "$root/bin/nnclr-tf" "$prefix/bin/"
for f in "$here"/lib/*.so*; do
  cp -L "$f" "$prefix/lib/$(basename "$f")"
done
n=0
if [[ -d "$root/.venv" ]]; then
  while IFS= read -r -d '' f; do
    cp -L "$f" "$prefix/lib/"
    n=$((n + 1))
  done < <(find "$root/.venv" -path '*/site-packages/nvidia/*/lib/*.so*' -print0 2>/dev/null)
fi
echo "collect-runtime: $prefix/bin: nnclr nnclr-tf; $prefix/lib: libtensorflow and $n NVIDIA libraries"
