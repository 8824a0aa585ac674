"""Issue 15 item 1: outputs keep how the input displays (EXIF orientation, ICC, JPEG quality)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

from invdn.cli.main import main
from invdn.io.metadata import estimate_jpeg_quality, read_meta


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def phone_exif(orientation: int = 6) -> bytes:
    exif = Image.Exif()
    exif[274] = orientation          # Orientation: rotate 90° CW to display
    exif[271] = "PhonoCam"           # Make
    return exif.tobytes()


def portrait_scene(h: int = 40, w: int = 64) -> np.ndarray:
    """A landscape-stored array (as a phone stores a portrait shot), smooth so JPEG keeps it."""
    yy, xx = np.mgrid[0:h, 0:w]
    return np.dstack([xx * 3, yy * 5, (xx + yy) * 2]).clip(0, 255).astype(np.uint8)


@pytest.mark.parametrize("quality", [40, 75, 90])
def test_jpeg_quality_estimated_from_quantisation_tables(tmp_path, quality):
    path = tmp_path / "q.jpg"
    Image.fromarray(portrait_scene()).save(path, quality=quality)
    with Image.open(path) as im:
        assert estimate_jpeg_quality(im.quantization[0]) == quality
    assert read_meta(path).jpeg_quality == quality


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif"])
def test_phone_photo_keeps_orientation_icc_and_quality(tmp_path, tiny, suffix):
    icc = srgb_profile()
    src = tmp_path / "in" / f"phone{suffix}"
    src.parent.mkdir()
    save = {"quality": 70} if suffix == ".jpg" else {}
    Image.fromarray(portrait_scene()).save(src, exif=phone_exif(6), icc_profile=icc, **save)
    assert main(["denoise", str(src), "-o", str(tmp_path / "out"), "--checkpoint",
                 str(tiny[1]), "-q"]) == 0
    out = tmp_path / "out" / src.name
    with Image.open(src) as a, Image.open(out) as b:
        assert b.info.get("icc_profile") == icc
        # displayed the same way as the input: portrait 40 wide, 64 high
        assert ImageOps.exif_transpose(b).size == ImageOps.exif_transpose(a).size == (40, 64)
        if suffix != ".tif":  # TIFF pixels are read upright (OpenCV applies its tag)
            assert b.getexif()[274] == 6 and b.getexif()[271] == "PhonoCam"
            assert b.size == (64, 40)
        if suffix == ".jpg":
            assert estimate_jpeg_quality(b.quantization[0]) == 70


def test_jpeg_quality_option_and_16_bit_png_metadata(tmp_path, tiny):
    import cv2

    src = tmp_path / "in" / "a.jpg"
    src.parent.mkdir()
    Image.fromarray(portrait_scene()).save(src, quality=60, exif=phone_exif(8))
    assert main(["denoise", str(src), "-o", str(tmp_path / "out"), "--checkpoint",
                 str(tiny[1]), "-q", "--jpeg-quality", "88"]) == 0
    with Image.open(tmp_path / "out" / "a.jpg") as b:
        assert estimate_jpeg_quality(b.quantization[0]) == 88 and b.getexif()[274] == 8
    # 16-bit PNG (written by OpenCV, which Pillow cannot do) with an ICC profile
    deep = tmp_path / "in16" / "deep.png"
    deep.parent.mkdir()
    cv2.imwrite(str(deep), (portrait_scene().astype(np.uint16) * 257))
    icc = srgb_profile()
    from invdn.io.metadata import ImageMeta, embed_png

    deep.write_bytes(embed_png(deep.read_bytes(), ImageMeta(orientation=3, icc=icc)))
    assert main(["denoise", str(deep), "-o", str(tmp_path / "out16"), "--checkpoint",
                 str(tiny[1]), "-q"]) == 0
    meta = read_meta(tmp_path / "out16" / "deep.png")
    assert meta.icc == icc and meta.orientation == 3
    assert cv2.imread(str(tmp_path / "out16" / "deep.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint16
