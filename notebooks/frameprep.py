"""Frame preprocessing for the frame safety model: the reference for
ml/safety/image.go (golden test: ml/testdata/frame_golden.json).

Decoded RGB (uint8, H x W x 3) -> centre square crop (side = min(H, W), offset
floor((H - side) / 2), floor((W - side) / 2)) -> values / 255 -> bilinear resize to
SIZE x SIZE with align-corners sampling (source coordinate i * (side - 1) / (SIZE - 1),
as tf.image.resizeBilinear(..., alignCorners=true) in nsfwjs), interpolating rows first,
in float64 -> float32 NHWC.
"""
import numpy as np

SIZE = 224


def _coords(side):
    if side == 1:
        src = np.zeros(SIZE)
    else:
        src = np.arange(SIZE, dtype=np.float64) * ((side - 1) / (SIZE - 1))
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, side - 1)
    return i0, i1, src - i0


def preprocess(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    side = min(h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    sq = rgb[y0 : y0 + side, x0 : x0 + side, :3].astype(np.float64) / 255.0
    yi0, yi1, fy = _coords(side)
    xi0, xi1, fx = _coords(side)
    rows = sq[yi0] * (1 - fy)[:, None, None] + sq[yi1] * fy[:, None, None]
    out = rows[:, xi0] * (1 - fx)[None, :, None] + rows[:, xi1] * fx[None, :, None]
    return out.astype(np.float32)
