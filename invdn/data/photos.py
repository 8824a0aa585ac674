"""Clean training photographs from Debian packages: `invdn prepare photos OUT`.

Sources are a curated allow-list (`SOURCES`): every file was looked at and is a real photograph
(not a drawing, render, vector art or gradient); licences are from each package's
`/usr/share/doc/<package>/copyright` (and, for KDE wallpapers, their `metadata.json`). The files
are read from where the packages install them:

    apt-get install --no-install-recommends mate-backgrounds lomiri-wallpapers-16.04 \\
        lomiri-wallpapers-20.04 plasma-workspace-wallpapers opencv-doc

Each photo is area-downscaled (cv2.INTER_AREA) by at least `MIN_FACTOR` and until its short side
is at most `short_side`: averaging ≥ 2×2 pixels removes JPEG blocking and ringing and most sensor
noise, so the result is a clean target. PNGs are written atomically to OUT with a manifest
(`manifest.json`, `manifest.csv`: file, package, original path, licence, author, sizes). The run
is resumable: a PNG already in OUT is kept. A missing package is reported (one line, the
`apt-get install` to run) and the others go on.

Reserved for independent checks and never listed here: scikit-image's chelsea, coffee,
stereo_motorcycle, coins and moon, and scikit-learn's sample images (china, flower).

A second kind of source, `bsds_sources(FOLDER)`: the photographs of the Berkeley Segmentation
Dataset (BSDS500, Martin et al., ICCV 2001) that the denoising field trains on (DnCNN's Train400,
the 432 colour images of the "CBSD432" folder that public denoising repositories carry, or the
official `BSDS500/data/images/{train,val,test}` layout). The 100 photographs of the BSDS300
*test* split (`BSDS300_TEST`: the source of the field's BSD68/CBSD68 test sets, also BSDS500's
`val`) are never taken, whatever folder they are in, nor 12003 (cropped into Set12 as its
starfish): 399 remain.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from invdn.checks import is_int
from invdn.data.synthetic import RESERVED
from invdn.errors import InvdnError, OptionError
from invdn.io.atomic import write_json, write_text
from invdn.io.images import read_image, write_image

MIN_FACTOR = 2.0        # always average at least 2×2 pixels (JPEG artefacts, noise)
SHORT_SIDE = 512        # default largest short side of a written photo
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class PhotoSource:
    """One allow-listed photograph: the Debian `package` installing it at `path`."""

    package: str
    path: str
    licence: str
    author: str


def _mate(name: str, author: str) -> PhotoSource:
    return PhotoSource("mate-backgrounds", f"/usr/share/backgrounds/mate/nature/{name}.jpg",
                       "GPL-2+", author)


def _lomiri(name: str, licence: str, author: str, release: str = "16.04") -> PhotoSource:
    return PhotoSource(f"lomiri-wallpapers-{release}", f"/usr/share/backgrounds/{name}.jpg",
                       licence, author)


def _plasma(name: str, author: str) -> PhotoSource:
    # the package's copyright says GPL-2+; each wallpaper's metadata.json says LGPLv3
    return PhotoSource("plasma-workspace-wallpapers",
                       f"/usr/share/wallpapers/{name}/contents/images/2560x1600.jpg",
                       "GPL-2+ (package copyright); LGPL-3 (metadata.json)", author)


def _opencv(name: str, origin: str) -> PhotoSource:
    return PhotoSource("opencv-doc", f"/usr/share/doc/opencv-doc/examples/{name}",
                       "Apache-2.0 AND BSD-3-Clause (Debian copyright, Files: *)", origin)


SOURCES: tuple[PhotoSource, ...] = (
    _mate("Aqua", "Charles Barbin"), _mate("Blinds", "Lennart Poettering, Andrea Cimitan"),
    _mate("Dune", "Marco Cogoni, Hylke Bons"), _mate("FreshFlower", "Jens Ansorg"),
    _mate("Garden", "Charles Barbin"), _mate("GreenMeadow", "Timothy Schellhase, Lapo Calamandrei"),
    _mate("LadyBird", "Charles Barbin"), _mate("RainDrops", "blackcombwhistler07"),
    _mate("Storm", "Sergey Nazarov"), _mate("TwoWings", "Charles Barbin, Hylke Bons"),
    _mate("Wood", "Jean-François Fortin Tam"), _mate("YellowFlower", "Charles Barbin"),
    _lomiri("Bridge_by_Sander_Klootwijk", "CC-BY-SA-4.0", "Sander Klootwijk"),
    _lomiri("Dragonfly_by_Bolly", "CC-BY-SA-4.0", "Bolly"),
    _lomiri("Picture_0B_by_freespace", "CC-BY-4.0", "Trevor 'Freespace'"),
    _lomiri("Picture_1A_by_freespace", "CC-BY-4.0", "Trevor 'Freespace'"),
    _lomiri("Wine_by_Jakkub_Mede", "CC-BY-4.0", "Jakub Mede"),
    _lomiri("aitzgorri_by_Aitzol_Berasategi", "CC-BY-4.0", "Aitzol Berasategi"),
    _lomiri("free_by_Peter_Nerlich", "CC-BY-SA-4.0", "Peter Nerlich"),
    _lomiri("friends_by_Aitzol_Berasategi", "CC-BY-4.0", "Aitzol Berasategi"),
    _lomiri("greentock_by_Peter_Nerlich", "CC-BY-SA-4.0", "Peter Nerlich"),
    _lomiri("life_by_Aitzol_Berasategi", "CC-BY-4.0", "Aitzol Berasategi"),
    _lomiri("picosdeeuropa_by_Aitzol_Berasategi", "CC-BY-4.0", "Aitzol Berasategi"),
    _lomiri("seeding_by_Clements_Engelhardt", "CC0-1.0", "Clemens Engelhardt"),
    _lomiri("sunset_by_Aitzol_Berasategi", "CC-BY-4.0", "Aitzol Berasategi"),
    _lomiri("Kleiber_by_Lukas_Baubkus", "CC-BY-SA-3.0", "Lukas Baubkus", "20.04"),
    _plasma("BytheWater", "Maciej Wiklo"), _plasma("ColdRipple", "Risto Saukonpää"),
    _plasma("ColorfulCups", "Dmitri Popov"), _plasma("DarkestHour", "Risto Saukonpää"),
    _plasma("EveningGlow", "Ian Hex"), _plasma("FallenLeaf", "Martin Klapetek"),
    _plasma("Grey", "Sigi Sagi"), _plasma("OneStandsOut", "Risto Saukonpää"),
    _plasma("Path", "Risto Saukonpää"), _plasma("summer_1am", "Risto Saukonpää"),
    _opencv("alphamat/input_images/plant.jpg", "OpenCV alphamat sample"),
    _opencv("data/aero1.jpg", "OpenCV sample data"),
    _opencv("data/aloeL.jpg", "OpenCV sample data (Middlebury stereo 'Aloe')"),
    _opencv("data/board.jpg", "OpenCV sample data"),
    _opencv("data/building.jpg", "OpenCV sample data"),
    _opencv("data/butterfly.jpg", "OpenCV sample data"),
    _opencv("data/ela_original.jpg", "OpenCV sample data"),
    _opencv("data/fruits.jpg", "OpenCV sample data"),
    _opencv("data/graf1.png", "OpenCV sample data (Oxford VGG affine 'graf')"),
    _opencv("data/home.jpg", "OpenCV sample data"),
    _opencv("data/leuvenA.jpg", "OpenCV sample data (Oxford VGG affine 'leuven')"),
    _opencv("data/rubberwhale1.png", "OpenCV sample data (Middlebury flow 'RubberWhale')"),
    _opencv("data/smarties.png", "OpenCV sample data"),
    _opencv("data/squirrel_cls.jpg", "OpenCV sample data"),
)


# The BSDS300 test split (Martin et al. 2001, `iids_test.txt`): BSD68/CBSD68 are 68 of these.
BSDS300_TEST = frozenset((
    "3096", "8023", "12084", "14037", "16077", "19021", "21077", "24077", "33039", "37073",
    "38082", "38092", "41033", "41069", "42012", "42049", "43074", "45096", "54082", "55073",
    "58060", "62096", "65033", "66053", "69015", "69020", "69040", "76053", "78004", "85048",
    "86000", "86016", "86068", "87046", "89072", "97033", "101085", "101087", "102061", "103070",
    "105025", "106024", "108005", "108070", "108082", "109053", "119082", "123074", "126007",
    "130026", "134035", "143090", "145086", "147091", "148026", "148089", "156065", "157055",
    "159008", "160068", "163085", "167062", "167083", "170057", "175032", "175043", "182053",
    "189080", "196073", "197017", "208001", "210088", "216081", "219090", "220075", "223061",
    "227092", "229036", "236037", "241004", "241048", "253027", "253055", "260058", "271035",
    "285079", "291000", "295087", "296007", "296059", "299086", "300091", "302008", "304034",
    "304074", "306005", "351093", "361010", "376043", "385039",
))
# BSDS photographs that are test images elsewhere: Set12's starfish is a crop of 12003.
BSDS_IN_TEST_SETS = frozenset(("12003",))
BSDS_LICENCE = ("BSDS: free for non-commercial research and educational use (Berkeley "
                "Segmentation Dataset licence; images from the Corel collection)")
BSDS_PACKAGE = "bsds500"


def bsds_sources(folder: str | Path) -> list[PhotoSource]:
    """Every BSDS photograph (`<id>.jpg`/`.png`, the id a number) under `folder`, searched
    recursively, except the BSDS300 test split; sorted by id. InvdnError when none is found."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InvdnError(f"BSDS folder {folder} does not exist; give the folder holding the "
                         "BSDS500 images (e.g. CBSD432/ or BSDS500/data/images/)")
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() in (".jpg", ".jpeg", ".png") and path.stem.isdigit():
            found.setdefault(path.stem, path)
    kept = sorted((stem for stem in found if stem not in BSDS300_TEST | BSDS_IN_TEST_SETS),
                  key=int)
    if not kept:
        raise InvdnError(f"{folder}: no BSDS photographs (<id>.jpg) outside the BSDS300 test "
                         "split; give the folder holding the BSDS500 images")
    return [PhotoSource(BSDS_PACKAGE, str(found[stem]), BSDS_LICENCE,
                        "Berkeley Segmentation Dataset (Martin, Fowlkes, Tal, Malik 2001)")
            for stem in kept]


def output_name(source: PhotoSource) -> str:
    """The PNG's file name in OUT: package and file stem, e.g. `mate-backgrounds__Aqua.png`."""
    stem = Path(source.path).stem
    if Path(source.path).parent.name == "images":  # KDE: .../<Name>/contents/images/WxH.jpg
        stem = Path(source.path).parents[2].name
    return f"{source.package}__{re.sub(r'[^A-Za-z0-9_.-]+', '_', stem)}.png"


def downscale(img: np.ndarray, short_side: int = SHORT_SIDE,
              min_factor: float = MIN_FACTOR) -> np.ndarray:
    """Area-average `(H, W, C)` uint8 down by at least `min_factor`, so that the short side is
    at most `short_side`."""
    h, w = img.shape[:2]
    factor = max(min_factor, min(h, w) / short_side)
    size = (max(1, round(w / factor)), max(1, round(h / factor)))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)


def _rgb(img: np.ndarray) -> np.ndarray:
    if img.ndim == 2:
        return np.repeat(img[..., None], 3, axis=2)
    return img[..., :3]  # alpha dropped: every allow-listed photo is opaque


def _check_sources(sources: Sequence[PhotoSource]) -> None:
    names = [output_name(s) for s in sources]
    if len(set(names)) != len(names):
        raise InvdnError("two photo sources map to the same output name; rename one")
    for s in sources:
        if Path(s.path).stem.lower() in RESERVED:
            raise InvdnError(f"{s.path} is reserved for independent checks and must not be used "
                             "for training; remove it from the sources")
        if s.package == BSDS_PACKAGE and Path(s.path).stem in BSDS300_TEST | BSDS_IN_TEST_SETS:
            raise InvdnError(f"{s.path} is a BSDS photograph of a test set (BSD68/CBSD68 come "
                             "from the BSDS300 test split; Set12's starfish is 12003) and must "
                             "not be used for training; remove it")


def _write_manifest(out: Path, entries: list[dict]) -> None:
    write_json(out / MANIFEST, {"photos": entries})
    buf = io.StringIO()
    fields = list(entries[0]) if entries else ["file"]
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(entries)
    write_text(out / "manifest.csv", buf.getvalue())


def prepare_photos(out: str | Path, sources: Sequence[PhotoSource] = SOURCES,
                   short_side: int = SHORT_SIDE, log: Callable[[str], None] = print) -> dict:
    """Write the downscaled PNG of every available source to `out` (skipping those already
    there) and the manifest; returns counts (`written`, `skipped`, `missing`) and the
    missing packages."""
    if not is_int(short_side, 16):
        raise OptionError("short_side", repr(short_side), "must be an integer >= 16")
    _check_sources(sources)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InvdnError(f"{out} is a file; give a folder to write the photos into")
    out.mkdir(parents=True, exist_ok=True)
    old = {}
    if (out / MANIFEST).is_file():
        old = {e["file"]: e for e in json.loads((out / MANIFEST).read_text())["photos"]}
    entries: list[dict] = []
    missing: dict[str, int] = {}
    written = skipped = 0
    for source in sources:
        name = output_name(source)
        target = out / name
        if target.is_file():  # atomic writes: an existing PNG is complete
            entry = old.get(name)
            if entry is None:
                h, w = read_image(target).shape[:2]
                entry = {"file": name, **asdict(source), "original_size": None, "size": [w, h]}
            entries.append(entry)
            skipped += 1
            continue
        if not Path(source.path).is_file():
            if source.package not in missing:
                fix = ("give the BSDS folder again" if source.package == BSDS_PACKAGE else
                       f"apt-get install {source.package}")
                log(f"{source.package} is not installed ({source.path} missing): "
                    f"{fix}; going on with the others")
            missing[source.package] = missing.get(source.package, 0) + 1
            continue
        img = _rgb(read_image(source.path))
        if img.dtype != np.uint8:
            img = (img // 257).astype(np.uint8) if img.dtype == np.uint16 else img.astype(np.uint8)
        small = downscale(img, short_side)
        write_image(target, small)
        entries.append({"file": name, **asdict(source),
                        "original_size": [img.shape[1], img.shape[0]],
                        "size": [small.shape[1], small.shape[0]]})
        written += 1
        log(f"{name}: {img.shape[1]}x{img.shape[0]} -> {small.shape[1]}x{small.shape[0]}")
        _write_manifest(out, entries)  # after every photo, so an interrupted run keeps it
    _write_manifest(out, entries)
    return {"out": str(out), "photos": len(entries), "written": written, "skipped": skipped,
            "missing": sum(missing.values()), "missing_packages": sorted(missing)}
