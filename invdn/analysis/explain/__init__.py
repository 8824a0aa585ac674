"""Small experiments that show, as figures and numbers, why InvDN is built the way it is:
`explain_relu_collapse` and `explain_memory`, the library forms of `invdn explain`."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from invdn.checks import Int, check_value
from invdn.errors import InvdnError, OptionError

FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


@dataclass
class Explanation:
    """An experiment's numbers (`data`, JSON-ready), the table `invdn explain` prints (`text`)
    and the figure written."""

    data: dict[str, Any]
    text: str
    figure: Path

    def json(self) -> str:
        """One line of JSON: the numbers and the figure's path."""
        return json.dumps(self.data | {"figure": str(self.figure)})


def check_figure_path(output: str | Path) -> Path:
    """`output` as a Path; OptionError unless it names a .png/.pdf/.svg file."""
    path = Path(output)
    if path.suffix.lower() not in FIGURE_SUFFIXES:
        raise OptionError("output", path, f"cannot take a figure: name it with one of "
                                          f"{', '.join(FIGURE_SUFFIXES)}")
    if path.is_dir():
        raise OptionError("output", path, f"is a folder; give a file name such as "
                                          f"{path / 'figure.png'}")
    return path


def explain_relu_collapse(output: str | Path = "relu_collapse.png",
                          dims: Sequence[int] = (2, 3, 5, 15, 30), trials: int = 10,
                          points: int = 1000, seed: int = 0) -> Explanation:
    """A 2-D spiral through `n` ReLU features and back, for each `n` in `dims` (each ≥ 2),
    averaged over `trials` random embeddings: how much of it is lost, with and without a linear
    path. Writes the figure to `output`."""
    from invdn.analysis.explain import relu_collapse
    from invdn.analysis.explain.figure import save_figure

    path = check_figure_path(output)
    check_value("trials", trials, Int(1, noun=""))
    bad = next((n for n in dims if n < 2), None)
    if bad is not None:
        raise OptionError("dims", list(dims), "must all be >= 2 (the spiral is 2-D)")
    check_value("points", points, Int(3, noun=""))
    result = relu_collapse.run(dims, trials, seed, points)
    figure = save_figure(relu_collapse.draw(result), path)
    text = (f"spiral of {result['points']} points, {result['trials']} random T per n, "
            f"seed {result['seed']}; error = fraction of the spiral's variance lost\n"
            f"{relu_collapse.format_table(result)}\nfigure: {figure}")
    return Explanation({k: v for k, v in result.items() if k != "examples"}, text, figure)


def explain_memory(output: str | Path = "memory.png", blocks: Sequence[int] = (1, 2, 4, 8),
                   batch: int = 1, size: int = 64, width: int = 64, repeats: int = 3,
                   device: str = "cpu", threads: int = 1, seed: int = 0,
                   progress: Callable[[str], None] | None = None) -> Explanation:
    """Peak training memory and step time against depth (`blocks` per level) for the standard,
    checkpointed and memory-efficient modes, each configuration in a fresh process; `progress`
    gets a line per measurement. Writes the figure to `output`."""
    from invdn.analysis.explain import memory_figure
    from invdn.analysis.explain.figure import save_figure
    from invdn.analysis.profiling.memory import (
        format_table,
        machine_info,
        overheads,
        run_benchmark,
    )

    path = check_figure_path(output)
    for key, value in (("batch", batch), ("repeats", repeats), ("width", width),
                       ("threads", threads)):
        check_value(key, value, Int(1, noun=""))
    check_value("size", size, Int(1, multiple=4))
    if any(b < 0 for b in blocks):
        raise OptionError("blocks", list(blocks), "must be >= 0")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise OptionError("device", device, "but torch sees no CUDA device; use cpu")

    def report(r: dict) -> None:
        if progress is not None:
            progress(f"  {r['blocks']}+{r['blocks']} blocks, {r['mode']}: "
                     f"{r['peak_memory_mib']:.1f} MiB, {r['step_seconds_median']:.3f} s")

    machine = machine_info(device, threads)
    try:
        results = run_benchmark(sorted(set(blocks)), progress=report, batch=batch, size=size,
                                repeats=repeats, width=width, device=device, seed=seed,
                                threads=threads)
    except RuntimeError as err:
        raise InvdnError(f"{err}; rerun with smaller size, batch or blocks") from err
    figure = save_figure(memory_figure.draw(results, machine), path)
    text = (f"{machine['cpu']}, {machine['cpu_cores']} cores, torch {machine['torch']}, "
            f"torch threads {machine['torch_threads']}, device {machine['device']}\n"
            f"{format_table(results)}\nfigure: {figure}")
    return Explanation({"machine": machine, "results": overheads(results)}, text, figure)
