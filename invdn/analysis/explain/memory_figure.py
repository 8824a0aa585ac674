"""Training memory and step time against depth, for the three memory modes of InvDN.

A standard step keeps every sub-network activation of every coupling block for backward, so its
memory grows linearly with the number of blocks. The memory-efficient (reversible, RevNet) mode
keeps only the stack's output and rebuilds each block's input from its output during backward,
so its activation memory stays flat, for the price of about one extra forward pass; what still
grows are the parameter-gradient buffers (the dashed line: one float32 copy of the parameters).
Checkpointing keeps each block's input and recomputes the block: nearly flat too, but it stores
one tensor per block and costs the same extra forward. Numbers come from
`invdn.analysis.profiling.memory` (memory: one fresh process per configuration).
"""

from __future__ import annotations

from collections.abc import Sequence

from invdn.analysis.profiling.memory import MODES, overheads

COLOURS = {"standard": "tab:red", "checkpoint": "tab:orange", "reversible": "tab:blue"}
LABELS = {"standard": "standard", "checkpoint": "checkpoint per block",
          "reversible": "memory-efficient (reversible)"}


def draw(results: Sequence[dict], machine: dict):
    """Two panels: peak training-step memory (MiB) vs blocks per level, and step time relative
    to the standard mode at the same depth."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = overheads(results)
    fig, (mem_ax, time_ax) = plt.subplots(1, 2, figsize=(9.5, 3.8), layout="constrained")
    for mode in MODES:
        pts = sorted((r["blocks"], r) for r in rows if r["mode"] == mode)
        if not pts:
            continue
        blocks = [b for b, _ in pts]
        mem_ax.plot(blocks, [r["peak_memory_mib"] for _, r in pts], "o-", color=COLOURS[mode],
                    label=LABELS[mode])
        ratio = [(b, r["time_vs_standard"]) for b, r in pts if r["time_vs_standard"] is not None]
        if ratio:
            time_ax.plot(*zip(*ratio, strict=True), "o-", color=COLOURS[mode], label=LABELS[mode])
    # Parameter gradients of both passes meet in autograd's buffers during backward, so every
    # mode holds about one extra copy of the parameters: the floor the flat modes rise with.
    depths = sorted({r["blocks"]: r["parameters"] for r in rows}.items())
    mem_ax.plot([b for b, _ in depths], [4 * n / 2**20 for _, n in depths], "--", color="0.5",
                label="one float32 copy of the parameters")
    first = rows[0]
    mem_ax.set_xlabel("coupling blocks per level")
    mem_ax.set_ylabel("peak memory of one training step (MiB)")
    mem_ax.set_title(f"batch {first['batch']} × {first['size']}², width {first['width']}",
                     fontsize=10)
    mem_ax.set_ylim(bottom=0)
    mem_ax.legend(fontsize=8)
    time_ax.set_xlabel("coupling blocks per level")
    time_ax.set_ylabel("step time / standard step time")
    threads = machine["torch_threads"]
    where = machine.get("gpu") or f"{machine['cpu']}, {threads} thread{'s' * (threads != 1)}"
    time_ax.set_title(f"{where}, torch {machine['torch']}", fontsize=10)
    time_ax.set_ylim(bottom=0)
    for ax in (mem_ax, time_ax):
        ax.set_xticks(sorted({r["blocks"] for r in rows}))
        ax.grid(alpha=0.3)
    return fig
