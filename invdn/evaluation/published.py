"""Published PSNR of the field's denoisers on the standard test sets, σ = 15 / 25 / 50, in the
protocol of `invdn.evaluation.standard` (float noise, not clipped): the rows the benchmark
prints beside its own measurements.

Sources:
- BM3D / CBM3D: Dabov et al., TIP 2007 (as tabulated by the DnCNN and FFDNet papers);
- DnCNN (DnCNN-B for gray, CDnCNN-B for colour): Zhang, Zuo, Chen, Meng, Zhang, "Beyond a
  Gaussian Denoiser", TIP 2017;
- FFDNet: Zhang, Zuo, Zhang, "FFDNet: Toward a Fast and Flexible Solution for CNN-Based Image
  Denoising", TIP 2018 (Kodak24: the 500×500 crops it evaluates on);
- DRUNet: Zhang, Li, Zuo, Zhang, Van Gool, Timofte, "Plug-and-Play Image Restoration with Deep
  Denoiser Prior", TPAMI 2021;
- Restormer: Zamir et al., CVPR 2022 (colour sets only).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Published:
    """One method's published results: `psnr[set][sigma]` in dB; `params` in millions."""

    name: str
    citation: str
    params: float | None
    psnr: dict[str, dict[int, float]]


def _row(values: tuple[float, float, float]) -> dict[int, float]:
    return dict(zip((15, 25, 50), values, strict=True))


PUBLISHED: tuple[Published, ...] = (
    Published("BM3D / CBM3D", "Dabov et al., TIP 2007", None, {
        "CBSD68": _row((33.52, 30.71, 27.38)), "Kodak24": _row((34.28, 31.68, 28.46)),
        "BSD68": _row((31.07, 28.57, 25.62)), "Set12": _row((32.37, 29.97, 26.72))}),
    Published("DnCNN-B / CDnCNN-B", "Zhang et al., TIP 2017", 0.67, {
        "CBSD68": _row((33.89, 31.23, 27.92)), "Kodak24": _row((34.48, 32.03, 28.85)),
        "BSD68": _row((31.72, 29.23, 26.23)), "Set12": _row((32.86, 30.44, 27.18))}),
    Published("FFDNet", "Zhang et al., TIP 2018", 0.85, {
        "CBSD68": _row((33.87, 31.21, 27.96)), "Kodak24": _row((34.63, 32.13, 28.98)),
        "BSD68": _row((31.63, 29.19, 26.29)), "Set12": _row((32.75, 30.43, 27.32))}),
    Published("DRUNet", "Zhang et al., TPAMI 2021", 32.6, {
        "CBSD68": _row((34.30, 31.69, 28.51)), "Kodak24": _row((35.31, 32.89, 29.86)),
        "BSD68": _row((31.91, 29.48, 26.59)), "Set12": _row((33.25, 30.94, 27.90))}),
    Published("Restormer", "Zamir et al., CVPR 2022", 26.1, {
        "CBSD68": _row((34.39, 31.78, 28.59)), "Kodak24": _row((35.44, 33.02, 30.00))}),
)


def published(name: str) -> Published:
    """The published row called `name` (e.g. 'BM3D / CBM3D')."""
    for row in PUBLISHED:
        if row.name == name:
            return row
    raise KeyError(name)


__all__ = ["PUBLISHED", "Published", "published"]
