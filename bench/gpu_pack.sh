#!/usr/bin/env bash
# Pack what bench/gpu_train.sh needs on the GPU machine into .gpu/ (git-ignored through
# .git/info/exclude), run here from the repository root:
#     bash bench/gpu_pack.sh [PHOTOS]        # PHOTOS: the `invdn prepare photos` folder (data/photos)
# - .gpu/wheels: the dependencies the GPU image lacks (hydra-core, omegaconf, antlr4 4.9.3,
#   kornia, kornia_rs, PyWavelets) as Python 3.12 manylinux wheels;
# - .gpu/photos: the training photographs as lossless WebP (the same pixels, about 62 % of the
#   PNGs' size), so that checkout, wheels and photos stay under the device's 64 MiB.
# Then, with the device tool: run(command="bash bench/gpu_train.sh", carry=[".gpu"], timeout_s=600).
set -euo pipefail
PHOTOS="${1:-data/photos}"
DEST=.gpu
mkdir -p .git/info "$DEST/wheels" "$DEST/photos"
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
PLATFORMS=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64
           --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64
           --platform manylinux1_x86_64)
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    "${PLATFORMS[@]}" -d "$DEST/wheels" hydra-core==1.3.2 omegaconf==2.3.0 kornia==0.8.1 \
    kornia_rs==0.1.9 PyWavelets==1.8.0
# antlr4's runtime is published as a source distribution only: build its (pure Python) wheel
python3 -m pip wheel -q --no-deps -w "$DEST/wheels" antlr4-python3-runtime==4.9.3
python3 - "$PHOTOS" "$DEST/photos" <<'PY'
import sys
from pathlib import Path

import cv2
import numpy as np

src, dst = Path(sys.argv[1]), Path(sys.argv[2])
files = sorted(src.glob("*.png"))
if not files:
    sys.exit(f"{src}: no PNG photographs; run `invdn prepare photos {src} --bsds DIR` first")
for path in files:
    target = dst / (path.stem + ".webp")
    if target.is_file() or (dst / path.name).is_file():
        continue
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    ok, data = cv2.imencode(".webp", img, [cv2.IMWRITE_WEBP_QUALITY, 101])  # 101: lossless
    if not ok or not np.array_equal(cv2.imdecode(data, cv2.IMREAD_UNCHANGED), img):
        # WebP stores gray-looking images differently; keep such a photo as its PNG
        target, data = dst / path.name, np.frombuffer(path.read_bytes(), np.uint8)
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(data.tobytes())
    tmp.replace(target)
print(f"{len(files)} photos in {dst}")
PY
du -sh "$DEST/wheels" "$DEST/photos"
