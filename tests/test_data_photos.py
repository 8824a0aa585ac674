"""`invdn prepare photos`: downscaling, manifest, resuming, missing packages; training on the
folder together with bundled photos (on small generated files, not the Debian packages)."""

import json
from pathlib import Path

import numpy as np
import pytest

from invdn.cli.main import main
from invdn.data import SyntheticDataModule
from invdn.data.photos import SOURCES, PhotoSource, downscale, output_name, prepare_photos
from invdn.errors import InvdnError
from invdn.io.images import read_image, write_image


def photo(seed: int, h: int, w: int, channels: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, channels), dtype=np.uint8)


def sources(tmp_path) -> list[PhotoSource]:
    write_image(tmp_path / "pkg_a" / "big.jpg", photo(0, 600, 900))
    write_image(tmp_path / "pkg_a" / "alpha.png", photo(1, 100, 80, 4))
    return [PhotoSource("pkg-a", str(tmp_path / "pkg_a" / "big.jpg"), "CC0-1.0", "me"),
            PhotoSource("pkg-a", str(tmp_path / "pkg_a" / "alpha.png"), "CC0-1.0", "me"),
            PhotoSource("pkg-missing", str(tmp_path / "nowhere" / "gone.jpg"), "MIT", "you")]


def test_downscale_is_area_average_by_at_least_two():
    img = np.zeros((400, 600, 3), np.uint8)
    img[::2, ::2] = 255  # one bright pixel per 2x2 block
    small = downscale(img, short_side=512)
    assert small.shape == (200, 300, 3)
    assert np.all(np.abs(small.astype(int) - 64) <= 1)  # 255 / 4, the block mean
    assert downscale(np.zeros((2000, 3000, 3), np.uint8), short_side=500).shape == (500, 750, 3)


def test_prepare_writes_pngs_and_manifest_and_reports_missing_packages(tmp_path):
    out, lines = tmp_path / "out", []
    summary = prepare_photos(out, sources(tmp_path), short_side=256, log=lines.append)
    assert summary["written"] == 2 and summary["missing"] == 1
    assert summary["missing_packages"] == ["pkg-missing"]
    missing = [line for line in lines if "pkg-missing" in line]
    assert len(missing) == 1 and "apt-get install pkg-missing" in missing[0]
    big = read_image(out / "pkg-a__big.png")
    assert big.shape == (256, 384, 3)  # 600x900 -> short side 256
    assert read_image(out / "pkg-a__alpha.png").shape == (50, 40, 3)  # at least /2, alpha dropped
    manifest = json.loads((out / "manifest.json").read_text())["photos"]
    assert [e["file"] for e in manifest] == ["pkg-a__big.png", "pkg-a__alpha.png"]
    assert manifest[0]["original_size"] == [900, 600] and manifest[0]["size"] == [384, 256]
    assert manifest[0]["licence"] == "CC0-1.0" and manifest[0]["package"] == "pkg-a"
    assert (out / "manifest.csv").read_text().splitlines()[0].startswith("file,package,path")
    assert not list(out.glob(".*"))  # no temporary files left


def test_prepare_resumes_without_rewriting_finished_photos(tmp_path):
    out = tmp_path / "out"
    src = sources(tmp_path)
    prepare_photos(out, src, short_side=256, log=lambda _: None)
    (out / "pkg-a__alpha.png").unlink()  # as if interrupted before this one
    before = (out / "pkg-a__big.png").stat().st_mtime_ns
    summary = prepare_photos(out, src, short_side=256, log=lambda _: None)
    assert (summary["written"], summary["skipped"]) == (1, 1)
    assert (out / "pkg-a__big.png").stat().st_mtime_ns == before
    assert len(json.loads((out / "manifest.json").read_text())["photos"]) == 2


def test_allow_list_is_unique_and_keeps_reserved_photos_out(tmp_path):
    names = [output_name(s) for s in SOURCES]
    assert len(set(names)) == len(names) >= 40
    stems = {Path(s.path).stem.lower() for s in SOURCES}
    reserved = {"chelsea", "coffee", "motorcycle", "stereo_motorcycle", "coins", "moon", "china",
                "flower"}
    assert not stems & reserved
    assert not any(word in s.path for s in SOURCES for word in ("skimage", "sklearn"))
    bad = [PhotoSource("x", str(tmp_path / "moon.png"), "MIT", "a")]
    with pytest.raises(InvdnError, match="reserved"):
        prepare_photos(tmp_path / "out", bad)


def test_cli_prepare_photos_arguments(tmp_path, capsys):
    assert main(["prepare", "photos", str(tmp_path / "a"), str(tmp_path / "b")]) == 2
    assert "takes OUT, got 2 path(s)" in capsys.readouterr().err
    assert main(["prepare", "photos", str(tmp_path / "a"), "--short-side", "4"]) == 2
    assert "--short-side 4 must be an integer >= 16" in capsys.readouterr().err
    assert main(["prepare", "sidd", str(tmp_path / "a")]) == 2
    assert "takes ROOT OUT" in capsys.readouterr().err


def test_training_on_a_photo_folder_plus_bundled_photos(tmp_path):
    for i in range(5):
        write_image(tmp_path / "photos" / f"p{i}.png", photo(i, 80, 96))
    dm = SyntheticDataModule(root=str(tmp_path / "photos"), train_images=["astronaut"],
                             val_count=1, patch_size=32, batch_size=4, samples_per_epoch=8,
                             num_workers=0, val_crop=64)
    dm.setup("fit")
    assert len(dm.train_set.sources) == 4 + 1  # folder minus one held out, plus astronaut
    assert isinstance(dm.train_set.sources[-1], np.ndarray)
    assert len(dm.val_set) == 1
    assert next(iter(dm.train_dataloader()))["noisy"].shape == (4, 3, 32, 32)


def test_val_count_zero_trains_on_the_whole_folder_and_validates_on_bundled_photos(tmp_path):
    for i in range(3):
        write_image(tmp_path / "photos" / f"p{i}.png", photo(i, 80, 96))
    dm = SyntheticDataModule(root=str(tmp_path / "photos"), val_count=0, patch_size=32,
                             batch_size=2, samples_per_epoch=4, num_workers=0, val_crop=64)
    dm.setup("fit")
    assert len(dm.train_set.sources) == 3
    assert [v["name"] for v in dm.val_set] == ["chelsea", "coffee"]


def test_bsds_sources_leave_out_the_test_split_and_set12s_starfish(tmp_path):
    from invdn.data.photos import BSDS300_TEST, BSDS_PACKAGE, bsds_sources

    assert len(BSDS300_TEST) == 100 and "101085" in BSDS300_TEST  # CBSD68's first image
    folder = tmp_path / "BSDS500" / "data" / "images"
    for split, stem in (("train", "2092"), ("train", "12003"), ("val", "101085"),
                        ("test", "100007"), ("test", "notes")):
        write_image(folder / split / f"{stem}.jpg", photo(int(stem) if stem.isdigit() else 0,
                                                          32, 48))
    found = bsds_sources(tmp_path / "BSDS500")
    assert [Path(s.path).stem for s in found] == ["2092", "100007"]
    assert all(s.package == BSDS_PACKAGE and "non-commercial" in s.licence for s in found)
    out = tmp_path / "out"
    prepare_photos(out, found, log=lambda _: None)
    assert sorted(p.name for p in out.glob("*.png")) == ["bsds500__100007.png",
                                                         "bsds500__2092.png"]
    with pytest.raises(InvdnError, match="BSDS300 test split"):
        prepare_photos(out, [PhotoSource(BSDS_PACKAGE, str(folder / "val" / "101085.jpg"),
                                         "x", "y")])
    with pytest.raises(InvdnError, match="does not exist"):
        bsds_sources(tmp_path / "missing")
    with pytest.raises(InvdnError, match="no BSDS photographs"):
        bsds_sources(folder / "val")


def test_cli_prepare_photos_takes_a_bsds_folder(tmp_path, capsys, monkeypatch):
    import invdn.data.photos as photos

    monkeypatch.setattr(photos, "SOURCES", ())
    write_image(tmp_path / "bsds" / "2092.jpg", photo(3, 40, 60))
    assert main(["prepare", "photos", str(tmp_path / "out"), "--bsds",
                 str(tmp_path / "bsds")]) == 0
    assert (tmp_path / "out" / "bsds500__2092.png").is_file()
    assert "1 photos" in capsys.readouterr().out
