"""The bad-input corpus (tests/corpus.py) through `invdn denoise`, `invdn evaluate` (folders)
and the folder datamodules: each case ends in a correct output or a one-line error naming the
file; never a traceback, never a partial output, inputs byte-identical afterwards."""

import os
import re
import shutil
from pathlib import Path

import corpus
import numpy as np
import pytest
import torch

from invdn.cli.main import main
from invdn.data import FoldersDataModule, SyntheticDataModule
from invdn.errors import InvdnError
from invdn.evaluation.protocol import SSIM_MIN_SIDE
from invdn.io.images import read_image, write_image
from invdn.io.weights import save_weights
from invdn.nn import InvDN


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The corpus (built once, never written to) and tiny InvDN weights."""
    root = tmp_path_factory.mktemp("corpus")
    cases = {c.name: c for c in corpus.build(root / "in")}
    torch.manual_seed(0)
    save_weights(InvDN(blocks=(1, 1), width=8), root / "tiny.pt")
    sums = corpus.checksums(root / "in")
    yield root, cases
    assert corpus.checksums(root / "in") == sums, "an input file changed"


def case_names() -> list[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return [c.name for c in corpus.build(Path(tmp))]


NAMES = case_names()


def need_readable_check(case: corpus.Case) -> None:
    if case.name == "unreadable.png" and not corpus.unreadable_really(case.path):
        pytest.skip("chmod 000 does not stop reading here (running as root); the "
                    "permission error path cannot be exercised")


def one_line_naming(text: str, case: corpus.Case) -> str:
    lines = [line for line in text.strip().splitlines() if line]
    assert "Traceback" not in text
    assert len(lines) == 1, lines
    assert str(case.path) in lines[0], lines[0]
    return lines[0]


def assert_no_partial_files(folder: Path) -> None:
    if folder.exists():
        assert not [p for p in folder.rglob(".*")], "temporary files left behind"


def good_png(path: Path, h: int = 24, w: int = 20, seed: int = 0) -> None:
    write_image(path, np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))


# ---------------------------------------------------------------- invdn denoise

@pytest.mark.parametrize("name", NAMES)
def test_denoise(files, tmp_path, capsys, name):
    root, cases = files
    case = cases[name]
    need_readable_check(case)
    out = tmp_path / "out"
    code = main(["denoise", str(case.path), "-o", str(out), "--checkpoint",
                 str(root / "tiny.pt"), "-q", "--max-megapixels", "50"])
    captured = capsys.readouterr()
    assert_no_partial_files(out)
    if case.ok:
        assert code == 0, captured.err
        result = read_image(out / case.name)
        assert result.shape == case.shape and result.dtype == case.dtype
        if case.shape[2] == 4:  # alpha passed through untouched
            np.testing.assert_array_equal(result[..., 3], read_image(case.path)[..., 3])
    else:
        assert code in (1, 2) and not (out / case.name).exists()
        line = one_line_naming(captured.err, case)
        assert re.search(case.problem, line), line


def test_denoise_whole_corpus_folder(files, tmp_path, capsys):
    """One bad file does not stop the batch; folders and dangling links are not images."""
    root, cases = files
    out = tmp_path / "out"
    code = main(["denoise", str(root / "in"), "-o", str(out), "--checkpoint",
                 str(root / "tiny.pt"), "-q"])
    captured = capsys.readouterr()
    readable = not corpus.unreadable_really(cases["unreadable.png"].path)  # e.g. as root
    broken = [c for c in cases.values() if not c.ok and c.path.is_file()
              and not (c.name == "unreadable.png" and readable)]
    good = [c.name for c in cases.values() if c.ok] + (["unreadable.png"] if readable else [])
    assert code == 1
    lines = captured.err.strip().splitlines()
    assert "Traceback" not in captured.err and len(lines) == len(broken)
    for c in broken:
        assert any(str(c.path) in line and re.search(c.problem, line) for line in lines), c.name
    assert sorted(p.name for p in out.iterdir()) == sorted(good)
    assert_no_partial_files(out)


@pytest.mark.parametrize("command", ["denoise", "evaluate"])
def test_unwritable_output_folder_fails_before_any_work(files, tmp_path, capsys, command):
    root, cases = files
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = blocker / "out"
    if command == "denoise":
        args = ["denoise", str(cases["one_pixel.png"].path)]
    else:
        args = ["evaluate", "--noisy-dir", str(root / "in"), "--clean-dir", str(root / "in"),
                "--method", "noisy"]
    code = main([*args, "-o", str(out), "--checkpoint", str(root / "tiny.pt"), "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "Traceback" not in err
    assert err.startswith(f"invdn {command}: error: --output {out} cannot be created")
    assert blocker.read_text() == "not a folder"


# ---------------------------------------------------------------- invdn evaluate (folders)

def pair_folders(case: corpus.Case, base: Path) -> tuple[Path, Path]:
    """noisy/ holds the case (a link to it), clean/ a partner with the same stem: a copy for
    ok cases, a valid 24x20 image for broken ones."""
    noisy, clean = base / "noisy", base / "clean"
    noisy.mkdir(parents=True)
    clean.mkdir()
    (noisy / case.name).symlink_to(case.path)
    if case.ok:
        shutil.copy(case.path, clean / case.name)
    else:
        good_png(clean / (Path(case.name).stem + ".png"))
    return noisy, clean


@pytest.mark.parametrize("name", NAMES)
def test_evaluate_folders(files, tmp_path, capsys, name):
    root, cases = files
    case = cases[name]
    need_readable_check(case)
    noisy, clean = pair_folders(case, tmp_path)
    out = tmp_path / "report"
    code = main(["evaluate", "--noisy-dir", str(noisy), "--clean-dir", str(clean),
                 "--checkpoint", str(root / "tiny.pt"), "-o", str(out), "-q"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    report = out / "evaluate.json"
    if case.ok and min(case.shape[:2]) >= SSIM_MIN_SIDE:
        assert code == 0, captured.err
        assert report.is_file() and "PSNR" in captured.out
        return
    assert code == 2 and not report.exists()
    line = captured.err.strip()
    assert "\n" not in line and line.startswith("invdn evaluate: error: ")
    if case.ok:  # decodable but too small for the SSIM window
        assert f"{noisy / case.name} is " in line and "SSIM window" in line
    elif is_file(case):
        assert f"{noisy / case.name}: " in line and re.search(case.problem, line)
    else:  # a folder or a dangling link is not an image: its partner is unmatched
        assert "without a noisy partner" in line and Path(case.name).stem in line


# ---------------------------------------------------------------- datamodules

def run_datamodule(dm) -> None:
    dm.setup("fit")
    for loader in (dm.train_dataloader(), dm.val_dataloader()):
        for batch in loader:
            assert torch.isfinite(batch["noisy"]).all() and batch["noisy"].shape[1] == 3


def is_file(case: corpus.Case) -> bool:
    """False for the corpus entries that are no image file at all (a folder, a dangling link)."""
    return case.path.is_file() and not case.path.is_symlink()


def expect_datamodule(case: corpus.Case, dm, path_in_error: Path, patch: int) -> str:
    """Run `dm` (setup, one pass over both loaders); returns 'ok' or 'error' after checking the
    outcome fits the case."""
    try:
        run_datamodule(dm)
    except InvdnError as err:
        text = str(err)
        assert "\n" not in text and Path(case.name).stem in text, text
        if case.ok:
            assert min(case.shape[:2]) < patch and "smaller than data.patch_size" in text
        elif is_file(case):
            assert str(path_in_error) in text and re.search(case.problem, text), text
        return "error"
    assert not is_file(case) or (case.ok and min(case.shape[:2]) >= patch)
    return "ok"


@pytest.mark.parametrize("name", NAMES)
def test_folders_datamodule(files, tmp_path, name):
    root, cases = files
    case = cases[name]
    need_readable_check(case)
    noisy, clean = pair_folders(case, tmp_path / "train")
    good_png(tmp_path / "val" / "noisy" / "v.png", seed=1)
    good_png(tmp_path / "val" / "clean" / "v.png", seed=2)
    dm = FoldersDataModule(noisy=str(noisy), clean=str(clean),
                           val_noisy=str(tmp_path / "val" / "noisy"),
                           val_clean=str(tmp_path / "val" / "clean"), patch_size=4,
                           batch_size=1, num_workers=0)
    expect_datamodule(case, dm, noisy / case.name, patch=4)


@pytest.mark.parametrize("name", NAMES)
def test_synthetic_datamodule_from_folder(files, tmp_path, name):
    root, cases = files
    case = cases[name]
    need_readable_check(case)
    folder = tmp_path / "clean"
    folder.mkdir()
    (folder / case.name).symlink_to(case.path)
    for i in (1, 2):  # sorted after every case name: "zz…" are never the held-out middle one
        good_png(folder / f"zz_good{i}.png", seed=i)
    dm = SyntheticDataModule(root=str(folder), val_count=1, patch_size=4, batch_size=1,
                             samples_per_epoch=2, num_workers=0, val_crop=None)
    outcome = expect_datamodule(case, dm, folder / case.name, patch=4)
    if not is_file(case):
        assert outcome == "ok"  # not an image file: simply not part of the data


def test_worker_errors_reach_the_cli_as_one_line(files, tmp_path, capsys):
    """A file that breaks only when decoded in a DataLoader worker process."""
    root, cases = files
    noisy, clean = pair_folders(cases["truncated.png"], tmp_path / "train")
    for i in (1, 2):
        good_png(noisy / f"zz{i}.png", seed=i)
        good_png(clean / f"zz{i}.png", seed=i + 5)
    code = main(["train", f"run_dir={tmp_path / 'run'}", "data=folders", f"data.noisy={noisy}",
                 f"data.clean={clean}", "data.val_count=1", "data.patch_size=4",
                 "data.batch_size=1", "data.num_workers=1", "model.blocks=[1,1]",
                 "model.width=8", "trainer.max_steps=3", "trainer.enable_progress_bar=false",
                 "trainer.enable_model_summary=false"])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2
    assert err == (f"invdn train: error: {noisy / 'truncated.png'}: not a readable image "
                   "(corrupt, truncated or not an image)")
    assert os.path.exists(tmp_path / "run")  # the run had started: the file broke mid-epoch
