#!/bin/bash
# Regenerate the reference files of this folder with gen.py and gen_models.py, from timm's and
# DINOv2's own source trees on Debian's torch (no pip, no network once the packages are in).
#
# Usage: testdata/golden/regen.sh TIMM_SRC DINOV2_SRC OUTDIR [PARAMS.py]
#   TIMM_SRC    a huggingface/pytorch-image-models tree (the folder that holds timm/), e.g.
#               git --git-dir=<mirror> archive HEAD | tar -x -C /tmp/timm
#   DINOV2_SRC  a facebookresearch/dinov2 tree (the folder that holds dinov2/)
#   OUTDIR      where the .safetensors files go (made if missing)
#   PARAMS.py   optional: a dict P replacing entries of the generators' own (params_alt.py is one)
# ONLY=a.safetensors,b.safetensors limits gen_models.py to those files (as gen_models.py reads it).
# Needs apt packages python3-torch python3-numpy python3-torchvision (installed if missing, as root).
#
# With no PARAMS the output equals the committed files: every tensor bit for bit where torch's
# kernels are deterministic (the check at the end prints the largest difference per file).
set -euo pipefail
TIMM=$(readlink -f "${1:?usage: regen.sh TIMM_SRC DINOV2_SRC OUTDIR [PARAMS.py]}")
DINO=$(readlink -f "${2:?DINOV2_SRC}")
OUT=${3:?OUTDIR}
PARAMS=${4:+$(readlink -f "$4")}
H=$(dirname "$(readlink -f "$0")")
[ -d "$TIMM/timm" ] || { echo "regen.sh: $TIMM holds no timm/ package" >&2; exit 2; }
[ -d "$DINO/dinov2" ] || { echo "regen.sh: $DINO holds no dinov2/ package" >&2; exit 2; }

if ! /usr/bin/python3 -c "import torch, numpy, torchvision" 2>/dev/null; then
  apt-get install -y python3-torch python3-numpy python3-torchvision >/dev/null
fi
mkdir -p "$OUT"; OUT=$(readlink -f "$OUT")
export PYTHONDONTWRITEBYTECODE=1 TIMM_SRC="$TIMM" DINOV2_SRC="$DINO"
cd "$H"  # the generators exec PARAMS by path; keep the working folder predictable
nice -n 19 /usr/bin/python3 gen.py "$OUT" ${PARAMS:+"$PARAMS"}
nice -n 19 /usr/bin/python3 gen_models.py "$OUT" ${PARAMS:+"$PARAMS"}
rm -rf "$OUT/.hub"  # gen_models.py's scratch folder for timm's config.json

# Compare with the committed files of the same names: with no PARAMS they must agree.
/usr/bin/python3 - "$H" "$OUT" <<'EOF'
import json, os, struct, sys
import numpy as np
ref, out = sys.argv[1], sys.argv[2]
DT = {"F32": np.float32, "I64": np.int64, "I32": np.int32, "F64": np.float64, "BOOL": np.uint8}
def load(p):
    with open(p, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]; h = json.loads(f.read(n)); data = f.read()
    h.pop("__metadata__", None)
    return {k: np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]], DT[v["dtype"]]).reshape(v["shape"]) for k, v in h.items()}
def load_meta(p):
    with open(p, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n)).get("__metadata__")
for name in sorted(os.listdir(out)):
    if not name.endswith(".safetensors") or not os.path.exists(os.path.join(ref, name)):
        continue
    a, b = load(os.path.join(ref, name)), load(os.path.join(out, name))
    if a.keys() != b.keys() or any(a[k].shape != b[k].shape for k in a):
        print(f"{name}: other tensors or shapes than the committed file (expected with PARAMS)")
        continue
    def diff(x, y):  # equal entries (infinities included) count 0
        x, y = x.astype(np.float64), y.astype(np.float64)
        return float(np.max(np.where(x == y, 0.0, np.abs(x - y)), initial=0.0))
    d = max((diff(a[k], b[k]) for k in a), default=0.0)
    meta = "same metadata" if load_meta(os.path.join(ref, name)) == load_meta(os.path.join(out, name)) else "OTHER metadata"
    print(f"{name}: same tensors, {meta}, max abs difference {d:.3g}")
EOF
