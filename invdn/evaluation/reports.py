"""The reports of `invdn evaluate`: the JSON summary, its Markdown table, the best/worst figure
and the SIDD submission file (`SubmitSrgb.mat`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from invdn.evaluation.protocol import PROTOCOL
from invdn.io.atomic import write_atomic, write_text
from invdn.io.images import rescale_depth


def summarize(records: list[dict[str, Any]], info: dict[str, Any]) -> dict[str, Any]:
    """The JSON report: `info` (name, method, source, options), means, per-image rows."""
    scored = [r for r in records if "psnr" in r]
    seconds = sum(r["seconds"] for r in records)
    megapixels = sum(r["megapixels"] for r in records)
    report = {
        **info,
        "count": len(scored),
        "mean_psnr": float(np.mean([r["psnr"] for r in scored])) if scored else None,
        "mean_ssim": float(np.mean([r["ssim"] for r in scored])) if scored else None,
        "seconds_per_megapixel": seconds / megapixels,
        "total_seconds": seconds,
        "protocol": PROTOCOL,
        "per_image": [{k: (round(v, 6) if isinstance(v, float) else v) for k, v in r.items()}
                      for r in records],
    }
    return report


def to_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: summary, then one row per image."""
    lines = [f"# invdn evaluate: {report['name']}", "",
             f"- method: {report['method']}" + (f", weights: {report['checkpoint']}"
                                                 if report.get("checkpoint") else ""),
             f"- data: {report['source']}",
             f"- images: {report['count']}"]
    if report["mean_psnr"] is not None:
        lines.append(f"- mean PSNR: **{report['mean_psnr']:.2f} dB**, mean SSIM: "
                     f"**{report['mean_ssim']:.4f}**")
    lines += [f"- time: {report['seconds_per_megapixel']:.3f} s per megapixel on "
              f"{report.get('device', '?')}", f"- protocol: {report['protocol']}", "",
              "best_worst.png: the best and the worst image by PSNR, each as noisy | denoised | "
              "clean.", "", "| image | PSNR dB | SSIM | ms |", "|---|---:|---:|---:|"]
    for r in report["per_image"]:
        psnr = f"{r['psnr']:.2f}" if "psnr" in r else "–"
        ssim = f"{r['ssim']:.4f}" if "ssim" in r else "–"
        lines.append(f"| {r['name']} | {psnr} | {ssim} | {r['seconds'] * 1e3:.1f} |")
    return "\n".join(lines) + "\n"


def _to_display(img: np.ndarray) -> np.ndarray:
    img = rescale_depth(img, np.uint8)
    return np.repeat(img, 3, axis=2) if img.shape[2] == 1 else img[:, :, :3]


def best_worst_image(best: tuple, worst: tuple, psnrs: dict[str, float]) -> np.ndarray:
    """Two rows (best, worst by PSNR) of noisy | denoised | clean, each under a caption."""
    import cv2

    rows = []
    for label, (name, noisy, denoised, clean) in (("best", best), ("worst", worst)):
        tiles = [_to_display(a) for a in (noisy, denoised, clean)]
        h = max(t.shape[0] for t in tiles)
        tiles = [np.pad(t, ((0, h - t.shape[0]), (0, 4), (0, 0)), constant_values=255)
                 for t in tiles]
        strip = np.concatenate(tiles, axis=1)
        caption = np.full((22, strip.shape[1], 3), 255, np.uint8)
        text = f"{label} {name} {psnrs[name]:.2f} dB"
        cv2.putText(caption, text, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1,
                    cv2.LINE_AA)
        rows += [caption, strip]
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255)
            for r in rows]
    return np.concatenate(rows, axis=0)


def write_reports(report: dict[str, Any], result: dict[str, Any], out_dir: Path) -> list[Path]:
    """evaluate.json, evaluate.md and (with ground truth) best_worst.png into `out_dir`."""
    from invdn.io.images import write_image

    written = [out_dir / "evaluate.json", out_dir / "evaluate.md"]
    write_text(written[0], json.dumps(report, indent=2))
    write_text(written[1], to_markdown(report))
    if result["best"] is not None:
        psnrs = {r["name"]: r["psnr"] for r in report["per_image"] if "psnr" in r}
        written.append(out_dir / "best_worst.png")
        write_image(written[2], best_worst_image(result["best"], result["worst"], psnrs))
    return written


def write_submission(path: Path, outputs: list[np.ndarray], shape: tuple[int, ...],
                     seconds_per_megapixel: float) -> None:
    """SIDD's `SubmitSrgb.mat`: `DenoisedBlocksSrgb` (uint8, the benchmark file's shape) and
    `TimeMPSrgb` (seconds per megapixel)."""
    import scipy.io

    blocks = np.stack(outputs).astype(np.uint8).reshape(shape)
    data = {"DenoisedBlocksSrgb": blocks, "TimeMPSrgb": np.float64(seconds_per_megapixel)}
    write_atomic(path, lambda p: scipy.io.savemat(str(p), data, do_compression=False))
