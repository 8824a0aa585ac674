"""ReLU collapse (MobileNetV2, Sandler et al. 2018, Fig. 1) and how a linear path prevents it.

A 2-D spiral x is embedded in n dimensions by a random Gaussian matrix T (n×2), passed through a
ReLU and mapped back with the pseudo-inverse: x̂ = pinv(T)·ReLU(T·x). Every ReLU zeroes the half
plane where its row of T·x is negative, so with n = 2 or 3 whole arcs of the spiral are flattened
onto lines or a point and cannot be told apart any more; with n = 15 or 30 every point keeps
enough positive coordinates to be pinned down, and the spiral survives.

The linear-path variant is a coupling layer in the same n-dimensional feature space h = T·x:
split h = (a, b) and let only one half pass through the ReLU, added to the other half,

    forward:  a' = a + ReLU(W·b),  b' = b
    inverse:  b = b',  a = a' − ReLU(W·b')

then x̂ = pinv(T)·h. The inverse is exact for every W, every n ≥ 2 and every input, because the
ReLU branch is recomputed from b' = b, which went through unchanged: the nonlinearity only ever
adds to a linear path, it never replaces it. T has full column rank (almost surely), so
pinv(T)·T = I and nothing is lost. This is precisely why InvDN's coupling blocks (and residual
blocks, whose skip is the linear path) can use ReLU-like sub-networks of any shape without
destroying information.

The error is measured after the best affine map from x̂ to x (least squares): a ReLU also halves
and shifts the whole spiral (pinv(T)·ReLU(T·x) → x/2 + const for large n), which loses nothing;
what matters is the part no linear map can undo. `raw_error` is the plain relative error.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DEFAULT_DIMS = (2, 3, 5, 15, 30)


def spiral(points: int = 1000, turns: float = 2.5) -> np.ndarray:
    """An Archimedean spiral around the origin, `(points, 2)` float64 in [−1, 1]², ordered
    from the centre outwards."""
    t = np.linspace(0.05, 1.0, points)
    angle = 2 * np.pi * turns * t
    return np.stack((t * np.cos(angle), t * np.sin(angle)), axis=1)


def relu_roundtrip(x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """pinv(T)·ReLU(T·x) for points x `(N, 2)` and T `(n, 2)`; returns `(N, 2)`."""
    return np.maximum(x @ T.T, 0.0) @ np.linalg.pinv(T).T


def coupling_roundtrip(x: np.ndarray, T: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Embed with T `(n, 2)`, apply the coupling layer a' = a + ReLU(W·b) (a: the first n − m
    features, b: the last m, W `(n − m, m)`), invert it, map back with pinv(T); `(N, 2)`."""
    h = x @ T.T
    m = W.shape[1]
    a, b = h[:, :-m], h[:, -m:]
    a_out, b_out = a + np.maximum(b @ W.T, 0.0), b
    a_rec = a_out - np.maximum(b_out @ W.T, 0.0)
    return np.concatenate((a_rec, b_out), axis=1) @ np.linalg.pinv(T).T


def relative_error(x: np.ndarray, x_hat: np.ndarray) -> float:
    """‖x̂ − x‖² / ‖x − mean(x)‖²."""
    return float(((x_hat - x) ** 2).sum() / ((x - x.mean(0)) ** 2).sum())


def align(x: np.ndarray, x_hat: np.ndarray) -> np.ndarray:
    """x̂ `(N, 2)` under the affine map that brings it closest to x (least squares)."""
    design = np.concatenate((x_hat, np.ones((len(x_hat), 1))), axis=1)
    coef, *_ = np.linalg.lstsq(design, x, rcond=None)
    return design @ coef


def aligned_error(x: np.ndarray, x_hat: np.ndarray) -> float:
    """The relative error left after the best affine map x̂ → x, in [0, 1]: the fraction of
    the spiral's variance that no linear map can bring back."""
    return relative_error(x, align(x, x_hat))


def run(
    dims: Sequence[int] = DEFAULT_DIMS, trials: int = 10, seed: int = 0, points: int = 1000
) -> dict:
    """Both round trips for every n in `dims`, each averaged over `trials` random T (and W).

    Returns `{"points", "trials", "seed", "rows": [{"n", "relu_error", "relu_raw_error",
    "coupling_error", "coupling_raw_error"}, …], "examples": {n: {"relu": (N, 2),
    "coupling": (N, 2)}}}`; the examples are the first trial's recovered spirals, affinely
    aligned to the original.
    """
    if any(n < 2 for n in dims):
        raise ValueError(f"every dimension must be >= 2 (the spiral is 2-D), got {list(dims)}")
    if trials < 1 or points < 3:
        raise ValueError("trials must be >= 1 and points >= 3")
    x = spiral(points)
    rng = np.random.default_rng(seed)
    rows, examples = [], {}
    for n in dims:
        errs = {"relu": [], "relu_raw": [], "coupling": [], "coupling_raw": []}
        for trial in range(trials):
            T = rng.standard_normal((n, 2))
            m = n // 2
            W = rng.standard_normal((n - m, m))
            relu, coupled = relu_roundtrip(x, T), coupling_roundtrip(x, T, W)
            errs["relu"].append(aligned_error(x, relu))
            errs["relu_raw"].append(relative_error(x, relu))
            errs["coupling"].append(aligned_error(x, coupled))
            errs["coupling_raw"].append(relative_error(x, coupled))
            if trial == 0:
                examples[n] = {"relu": align(x, relu), "coupling": align(x, coupled)}
        rows.append({"n": n, "relu_error": float(np.mean(errs["relu"])),
                     "relu_raw_error": float(np.mean(errs["relu_raw"])),
                     "coupling_error": float(np.mean(errs["coupling"])),
                     "coupling_raw_error": float(np.mean(errs["coupling_raw"]))})
    return {"points": points, "trials": trials, "seed": seed, "rows": rows, "examples": examples}


def format_table(result: dict) -> str:
    head = f"{'n':>4} {'ReLU error':>11} {'ReLU raw':>10} {'linear path':>12} {'lin. raw':>10}"
    lines = [head, "-" * len(head)]
    for r in result["rows"]:
        lines.append(f"{r['n']:>4} {r['relu_error']:>11.4f} {r['relu_raw_error']:>10.4f} "
                     f"{r['coupling_error']:>12.2e} {r['coupling_raw_error']:>10.2e}")
    return "\n".join(lines)


def draw(result: dict):
    """One figure: top row the ReLU round trip per n, bottom row the linear-path one; the
    original spiral in grey under each, points coloured by their position along the spiral."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = spiral(result["points"])
    rows = result["rows"]
    colour = np.linspace(0, 1, len(x))
    fig, axes = plt.subplots(2, len(rows), figsize=(2.1 * len(rows), 4.9), squeeze=False,
                             layout="constrained")
    for col, row in enumerate(rows):
        ex = result["examples"][row["n"]]
        for r, (key, err) in enumerate((("relu", row["relu_error"]),
                                        ("coupling", row["coupling_error"]))):
            ax = axes[r, col]
            ax.plot(x[:, 0], x[:, 1], color="0.85", lw=3, zorder=0)
            ax.scatter(ex[key][:, 0], ex[key][:, 1], c=colour, cmap="viridis", s=2, lw=0)
            ax.set_xlim(-1.3, 1.3)
            ax.set_ylim(-1.3, 1.3)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"n = {row['n']}   lost {err:.2g}", fontsize=9)
        if col == 0:
            axes[0, 0].set_ylabel("pinv(T) ReLU(T x)", fontsize=9)
            axes[1, 0].set_ylabel("with linear path\n(coupling)", fontsize=9)
    fig.suptitle("ReLU collapse: a 2-D spiral (grey) through n ReLU features and back, "
                 "best affine fit shown;\n'lost' = fraction of its variance no linear map "
                 f"recovers, mean of {result['trials']} random T", fontsize=9)
    return fig
