"""Peak training-step memory and step time of InvDN: standard vs memory-efficient vs checkpoint.

For each number of coupling blocks per level and each memory mode, one full InvDN training step
(forward loss, inverse with a sampled latent, reconstruction loss, backward, Adam) is measured:
memory in a fresh subprocess per configuration, time in a fresh subprocess per depth with the modes
taking turns (see `invdn.analysis.profiling.memory`). Prints the machine, a table, PASS/FAIL lines for the
memory-efficient (reversible) mode's targets, the JSON report, and with --json-out writes it.
Exit status 1 when a target fails.

    python bench/memory.py                       # blocks 2 4 8 16, batch 4 x 144², CPU
    python bench/memory.py --threads 1 --time-basis cpu   # on a machine busy with other work
    python bench/memory.py --device cuda --repeats 10 --json-out memory.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from invdn.analysis.profiling.memory import (
    check_targets,
    format_checks,
    format_table,
    machine_info,
    overheads,
    run_benchmark,
)
from invdn.io.atomic import write_json
from invdn.nn.reversible import MEMORY_MODES


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--blocks", type=int, nargs="+", default=[2, 4, 8, 16],
                   help="coupling blocks per level to measure (default: 2 4 8 16)")
    p.add_argument("--modes", nargs="+", choices=MEMORY_MODES, default=list(MEMORY_MODES),
                   help="memory modes (invdn.nn.reversible.MemoryMode; default: all)")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--size", type=int, default=144, help="square patch side, a multiple of 4")
    p.add_argument("--width", type=int, default=64, help="sub-network width")
    p.add_argument("--repeats", type=int, default=3, help="timed steps per configuration")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--time-basis", choices=["wall", "cpu"], default="wall",
                   help="judge the step-time target on wall-clock or CPU time (use cpu with "
                        "--threads 1 on a machine busy with other work)")
    p.add_argument("--json-out", type=Path, help="also write the results to this JSON file")
    p.add_argument("--timeout", type=float, default=1800, help="seconds per configuration")
    a = p.parse_args(argv)
    if a.size % 4 or a.size < 4:
        p.error("--size must be a positive multiple of 4")

    machine = machine_info(a.device, a.threads)
    print(f"machine: {machine['cpu']}, {machine['cpu_cores']} cores, torch {machine['torch']}, "
          f"torch threads {machine['torch_threads']}, device {machine['device']}"
          + (f" ({machine['gpu']})" if "gpu" in machine else ""))
    print(f"one training step, batch {a.batch} x {a.size}x{a.size}, width {a.width}, "
          f"{a.repeats} timed steps each; memory: a fresh process per configuration, "
          "time: a fresh process per depth, modes taking turns", flush=True)

    def progress(r: dict) -> None:
        print(f"  measured {r['blocks']}+{r['blocks']} {r['mode']:<10} "
              f"{r['peak_memory_mib']:9.1f} MiB {r['step_seconds_median']:8.3f} s", file=sys.stderr,
              flush=True)

    results = run_benchmark(a.blocks, a.modes, progress=progress, batch=a.batch, size=a.size,
                            repeats=a.repeats, width=a.width, device=a.device, seed=a.seed,
                            threads=a.threads, timeout=a.timeout)
    checks = check_targets(results, a.time_basis)
    print()
    print(format_table(results))
    print()
    print(format_checks(checks))
    report = {"machine": machine, "settings": {k: v for k, v in vars(a).items() if k != "json_out"},
              "results": overheads(results), "checks": checks}
    print()
    print(json.dumps(report))
    if a.json_out:
        write_json(a.json_out, report)
    return 0 if all(c["passed"] for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
