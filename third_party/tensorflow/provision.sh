#!/usr/bin/env bash
# Provision libtensorflow for cgo (graft) and the pinned Python environment.
#
# By default the C API comes from the pinned TensorFlow 2.18 pip wheel installed into a
# project-local virtualenv (.venv): its libtensorflow_cc.so.2 exports the C API. graft links
# -ltensorflow, so a project-local lib dir gets a libtensorflow.so link to it.
#
# Variables:
#   NNCLR_TF_PREFIX   use an existing libtensorflow instead of the wheel's, e.g. the official
#                     tarball unpacked in /usr/local (expects PREFIX/lib/libtensorflow.so* and
#                     PREFIX/include/tensorflow/c/c_api.h). The virtualenv is still made for the
#                     Python tools unless NNCLR_SKIP_VENV=1.
#   NNCLR_PY_REQUIREMENTS  requirements file for the virtualenv (default: requirements.txt here;
#                     a GPU image points it at a file pinning tensorflow[and-cuda]==2.18.*).
#   NNCLR_SKIP_VENV=1 do not create the virtualenv (only valid with NNCLR_TF_PREFIX).
#   PYTHON            interpreter that creates the virtualenv (default python3).
#
# Outputs (all git-ignored):
#   .venv/                          the virtualenv
#   third_party/tensorflow/lib/     libtensorflow.so and the runtime libraries it needs
#   third_party/tensorflow/include  the C API headers
#   third_party/tensorflow/cgo.mk   CGO_CFLAGS / CGO_LDFLAGS for the Makefile (with rpath)
#   third_party/tensorflow/env.sh   the same as shell exports, to source for plain go commands
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
venv="$root/.venv"
libdir="$here/lib"
incdir="$here/include"
reqs="${NNCLR_PY_REQUIREMENTS:-$here/requirements.txt}"
python="${PYTHON:-python3}"

die() { echo "provision: $*" >&2; exit 1; }

# Symbols graft needs from the C API; checked with nm so a wheel without them fails here.
required_symbols=(TF_NewGraph TF_SessionRun TF_AddGradientsWithPrefix TF_LoadSessionFromSavedModel TFE_NewContext TF_Version TF_SessionListDevices)

if [[ "${NNCLR_SKIP_VENV:-0}" != 1 ]]; then
  if [[ ! -x "$venv/bin/python" ]]; then
    echo "provision: creating virtualenv $venv"
    "$python" -m venv "$venv" || die "cannot create a virtualenv with $python (install python3-venv)"
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$reqs" -c "$here/constraints.txt" \
    || die "pip install -r $reqs failed"
elif [[ -z "${NNCLR_TF_PREFIX:-}" ]]; then
  die "NNCLR_SKIP_VENV=1 needs NNCLR_TF_PREFIX (the wheel lives in the virtualenv)"
fi

rm -rf "$libdir" "$incdir"
mkdir -p "$libdir"

if [[ -n "${NNCLR_TF_PREFIX:-}" ]]; then
  prefix="$NNCLR_TF_PREFIX"
  lib=""
  for cand in "$prefix/lib/libtensorflow.so.2" "$prefix/lib/libtensorflow.so" "$prefix/lib/libtensorflow_cc.so.2"; do
    [[ -e "$cand" ]] && { lib=$(readlink -f "$cand"); break; }
  done
  [[ -n "$lib" ]] || die "NNCLR_TF_PREFIX=$prefix: no libtensorflow.so[.2] or libtensorflow_cc.so.2 under $prefix/lib"
  [[ -f "$prefix/include/tensorflow/c/c_api.h" ]] || die "NNCLR_TF_PREFIX=$prefix: missing $prefix/include/tensorflow/c/c_api.h"
  src_include="$prefix/include"
  src_libdir="$prefix/lib"
else
  tfdir=$("$venv/bin/python" - <<'PY'
import importlib.util, os
spec = importlib.util.find_spec("tensorflow")
print(os.path.dirname(spec.origin) if spec and spec.origin else "")
PY
)
  [[ -n "$tfdir" && -d "$tfdir" ]] || die "tensorflow is not installed in $venv"
  lib="$tfdir/libtensorflow_cc.so.2"
  [[ -f "$lib" ]] || die "$lib not found: this TensorFlow wheel does not ship libtensorflow_cc (only TF <= 2.19 wheels do; keep the 2.18 pin)"
  src_include="$tfdir/include"
  src_libdir="$tfdir"
  [[ -f "$src_include/tensorflow/c/c_api.h" ]] || die "$src_include/tensorflow/c/c_api.h not found in the wheel"
fi

command -v nm >/dev/null || die "nm not found (install binutils)"
defined=$(nm -D --defined-only "$lib" | awk '{sub(/@.*/, "", $NF); print $NF}')
missing=()
for s in "${required_symbols[@]}"; do
  grep -qx "$s" <<<"$defined" || missing+=("$s")
done
if ((${#missing[@]})); then
  die "$lib does not export the C API symbols: ${missing[*]} (checked with nm -D --defined-only)"
fi

# Link name for -ltensorflow, plus the SONAMEs the loader will look for at run time.
ln -s "$lib" "$libdir/libtensorflow.so"
soname=$(readelf -d "$lib" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[[ -n "$soname" && "$soname" != libtensorflow.so ]] && ln -sf "$lib" "$libdir/$soname"
for fw in "$src_libdir"/libtensorflow_framework.so*; do
  [[ -e "$fw" ]] && ln -sf "$(readlink -f "$fw")" "$libdir/$(basename "$fw")"
done
ln -s "$src_include" "$incdir"

cat > "$here/cgo.mk" <<MK
# Written by third_party/tensorflow/provision.sh; do not edit.
# RPATH (make RPATH=DIR) is where the built binaries look for libtensorflow at run time.
NNCLR_TF_LIB := $lib
NNCLR_TF_LIBDIR := $libdir
RPATH ?= \$(NNCLR_TF_LIBDIR)
export CGO_CFLAGS := -I$incdir
export CGO_LDFLAGS := -L\$(NNCLR_TF_LIBDIR) -Wl,-rpath,\$(RPATH)
MK

cat > "$here/env.sh" <<SH
# Written by third_party/tensorflow/provision.sh; do not edit. Source it (. $here/env.sh) so
# plain go build / go test in this shell find libtensorflow; make needs nothing of it.
export CGO_CFLAGS="-I$incdir"
export CGO_LDFLAGS="-L$libdir -Wl,-rpath,$libdir"
SH

echo "provision: libtensorflow $lib"
echo "provision: headers $src_include"
echo "provision: C API symbols present: ${required_symbols[*]}"
