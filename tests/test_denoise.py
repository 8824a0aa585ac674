"""`invdn denoise` end to end on tiny generated images with a tiny random-weight InvDN."""

from __future__ import annotations

import numpy as np
import torch

from invdn.cli.main import main
from invdn.io.images import read_image, write_image
from invdn.io.weights import model_config, save_weights
from invdn.nn import DANetDenoiser, InvDN


def noisy(shape, dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max
    h, w, c = shape
    ramp = np.linspace(0.2, 0.8, w)[None, :, None] * np.ones((h, 1, c))
    return np.clip((ramp + rng.normal(0, 0.05, shape)) * top, 0, top).astype(dtype)


def denoise(*args) -> int:
    return main(["denoise", *map(str, args), "-q"])


def test_formats_bit_depths_and_channels(tmp_path, tiny):
    src = tmp_path / "in"
    cases = {
        "rgb8_odd.png": noisy((37, 45, 3)),
        "gray16.tif": noisy((30, 21, 1), np.uint16),
        "rgb16.png": noisy((16, 24, 3), np.uint16),
        "rgba.png": noisy((20, 19, 4)),
        "photo.jpg": noisy((32, 32, 3)),
        "pic.bmp": noisy((9, 13, 3)),
        "pic.webp": noisy((24, 24, 3)),
        "tiny.png": noisy((1, 2, 3)),
    }
    for name, img in cases.items():
        write_image(src / name, img)
    assert denoise(src, "-o", tmp_path / "out", "--checkpoint", tiny[1], "--tile", "32",
                   "--overlap", "8") == 0
    for name, img in cases.items():
        out = read_image(tmp_path / "out" / name)
        assert out.shape == img.shape and out.dtype == img.dtype, name
        assert not np.array_equal(out, read_image(src / name)), name
    rgba_in, rgba_out = read_image(src / "rgba.png"), read_image(tmp_path / "out" / "rgba.png")
    np.testing.assert_array_equal(rgba_out[..., 3], rgba_in[..., 3])


def test_format_option_and_recursive_names(tmp_path, tiny):
    write_image(tmp_path / "in" / "a" / "x.jpg", noisy((12, 12, 3)))
    write_image(tmp_path / "in" / "b" / "x.jpg", noisy((12, 12, 3), seed=1))
    assert denoise(tmp_path / "in", "-r", "-o", tmp_path / "out", "--format", "png",
                   "--checkpoint", tiny[1]) == 0
    assert sorted(p.relative_to(tmp_path / "out").as_posix()
                  for p in (tmp_path / "out").rglob("*.png")) == ["a/x.png", "b/x.png"]
    # without -r the sub-folders are not searched
    assert denoise(tmp_path / "in", "-o", tmp_path / "o2", "--checkpoint", tiny[1]) == 2


def test_glob_input(tmp_path, tiny):
    for name in ("a.png", "b.png", "c.tif"):
        write_image(tmp_path / "in" / name, noisy((8, 8, 3)))
    assert denoise(str(tmp_path / "in" / "*.png"), "-o", tmp_path / "out",
                   "--checkpoint", tiny[1]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png"]


def test_seed_reproducible_and_order_independent(tmp_path, tiny):
    for name, seed in (("a.png", 0), ("b.png", 1)):
        write_image(tmp_path / "in" / name, noisy((20, 28, 3), seed=seed))
    ck = tiny[1]
    assert denoise(tmp_path / "in", "-o", tmp_path / "o1", "--checkpoint", ck, "--seed", 5) == 0
    assert denoise(tmp_path / "in" / "b.png", "-o", tmp_path / "o2", "--checkpoint", ck,
                   "--seed", 5) == 0
    assert denoise(tmp_path / "in" / "b.png", "-o", tmp_path / "o3", "--checkpoint", ck,
                   "--seed", 6) == 0
    b1, b2 = read_image(tmp_path / "o1" / "b.png"), read_image(tmp_path / "o2" / "b.png")
    np.testing.assert_array_equal(b1, b2)
    assert not np.array_equal(b1, read_image(tmp_path / "o3" / "b.png"))


def test_samples_and_self_ensemble_change_the_output_deterministically(tmp_path, tiny):
    write_image(tmp_path / "in" / "a.png", noisy((24, 24, 3)))
    outs = {}
    for tag, extra in {"plain": [], "k3": ["--samples", 3], "x8": ["--self-ensemble"]}.items():
        for run in (1, 2):
            assert denoise(tmp_path / "in", "-o", tmp_path / f"{tag}{run}",
                           "--checkpoint", tiny[1], *extra) == 0
            outs[tag, run] = read_image(tmp_path / f"{tag}{run}" / "a.png")
        np.testing.assert_array_equal(outs[tag, 1], outs[tag, 2])
    assert not np.array_equal(outs["plain", 1], outs["k3", 1])
    assert not np.array_equal(outs["plain", 1], outs["x8", 1])
    # averaging latent draws lowers the variance the random latent adds
    assert outs["k3", 1].astype(float).std() < outs["plain", 1].astype(float).std()


def test_refuses_to_overwrite_inputs(tmp_path, tiny, capsys):
    img = noisy((8, 8, 3))
    write_image(tmp_path / "a.png", img)
    assert denoise(tmp_path, "-o", tmp_path, "--checkpoint", tiny[1]) == 2
    assert "would overwrite the input" in capsys.readouterr().err
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.png").symlink_to(tmp_path / "a.png")
    assert denoise(tmp_path / "a.png", "-o", tmp_path / "out", "--checkpoint", tiny[1],
                   "--overwrite") == 2
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), img)


def test_output_folder_inside_input_folder_is_not_reprocessed(tmp_path, tiny):
    write_image(tmp_path / "a.png", noisy((8, 8, 3)))
    for _ in range(2):
        assert denoise(tmp_path, "-r", "-o", tmp_path / "den", "--checkpoint", tiny[1]) == 0
    assert [p.name for p in (tmp_path / "den").rglob("*") if p.is_file()] == ["a.png"]


def test_skips_existing_unless_overwrite(tmp_path, tiny, capsys):
    write_image(tmp_path / "in" / "a.png", noisy((8, 8, 3)))
    placeholder = np.zeros((2, 2, 3), np.uint8)
    write_image(tmp_path / "out" / "a.png", placeholder)
    assert denoise(tmp_path / "in", "-o", tmp_path / "out", "--checkpoint", tiny[1]) == 0
    assert "0 written, 1 skipped" in capsys.readouterr().out
    np.testing.assert_array_equal(read_image(tmp_path / "out" / "a.png"), placeholder)
    assert denoise(tmp_path / "in", "-o", tmp_path / "out", "--checkpoint", tiny[1],
                   "--overwrite") == 0
    assert read_image(tmp_path / "out" / "a.png").shape == (8, 8, 3)


def test_bad_file_reported_others_written(tmp_path, tiny, capsys):
    write_image(tmp_path / "in" / "a.png", noisy((8, 8, 3)))
    (tmp_path / "in" / "broken.png").write_bytes(b"not a png")
    write_image(tmp_path / "in" / "c.png", noisy((8, 8, 3)))
    write_image(tmp_path / "in" / "big.png", noisy((40, 40, 3)))
    code = denoise(tmp_path / "in", "-o", tmp_path / "out", "--checkpoint", tiny[1],
                   "--max-megapixels", 0.001)
    captured = capsys.readouterr()
    assert code == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "c.png"]
    assert "broken.png" in captured.err and "max-megapixels" in captured.err
    assert "2 written, 0 skipped, 2 failed" in captured.out
    assert not list((tmp_path / "out").glob(".*"))  # no temporary files left


def test_weight_formats_give_the_same_output(tmp_path, tiny):
    model, weights = tiny
    lightning = tmp_path / "run.ckpt"
    torch.save({"state_dict": {"model." + k: v for k, v in model.state_dict().items()},
                "hyper_parameters": {"model": model_config(model)}}, lightning)
    write_image(tmp_path / "in" / "a.png", noisy((16, 20, 3)))
    outs = []
    for i, ck in enumerate((weights, lightning)):
        assert denoise(tmp_path / "in", "-o", tmp_path / f"o{i}", "--checkpoint", ck) == 0
        outs.append(read_image(tmp_path / f"o{i}" / "a.png"))
    np.testing.assert_array_equal(outs[0], outs[1])


def test_official_pth_and_danet_checkpoints(tmp_path):
    torch.manual_seed(1)
    official = tmp_path / "InvDN.pth"
    torch.save(InvDN().to_official(), official)  # the paper's architecture, original key layout
    danet = tmp_path / "danet.pt"
    save_weights(DANetDenoiser(wf=4, depth=3), danet)
    write_image(tmp_path / "in" / "a.png", noisy((12, 12, 3)))
    for i, ck in enumerate((official, danet)):
        assert denoise(tmp_path / "in", "-o", tmp_path / f"o{i}", "--checkpoint", ck) == 0
        assert read_image(tmp_path / f"o{i}" / "a.png").shape == (12, 12, 3)


def test_default_weights(tmp_path, tiny, monkeypatch, capsys):
    import invdn.inference.loading as loading

    write_image(tmp_path / "in" / "a.png", noisy((8, 8, 3)))
    monkeypatch.setattr(loading, "default_weights_path", lambda: tmp_path / "missing.pt")
    assert denoise(tmp_path / "in", "-o", tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "no default weights are installed" in err and "--checkpoint" in err
    assert len(err.strip().splitlines()) == 1
    monkeypatch.setattr(loading, "default_weights_path", lambda: tiny[1])
    assert denoise(tmp_path / "in", "-o", tmp_path / "out") == 0


def test_cuda_requested_without_cuda(tmp_path, tiny, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    write_image(tmp_path / "in" / "a.png", noisy((8, 8, 3)))
    assert denoise(tmp_path / "in", "-o", tmp_path / "out", "--checkpoint", tiny[1],
                   "--device", "cuda") == 2
    assert "CUDA is not available" in capsys.readouterr().err


def test_bad_options_are_one_line_errors(tmp_path, tiny, capsys):
    write_image(tmp_path / "in" / "a.png", noisy((8, 8, 3)))
    for extra in (["--samples", 0], ["--tile", 64, "--overlap", 40], ["--device", "tpu"]):
        assert denoise(tmp_path / "in", "-o", tmp_path / "out", "--checkpoint", tiny[1],
                       *extra) == 2
    assert denoise(tmp_path / "nothing", "-o", tmp_path / "out") == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_16_bit_to_8_bit_format_is_rescaled(tmp_path, tiny):
    img = noisy((16, 16, 3), np.uint16)
    write_image(tmp_path / "in" / "a.tif", img)
    for fmt in ("tif", "jpg"):
        assert denoise(tmp_path / "in", "-o", tmp_path / fmt, "--format", fmt,
                       "--checkpoint", tiny[1]) == 0
    wide, narrow = read_image(tmp_path / "tif" / "a.tif"), read_image(tmp_path / "jpg" / "a.jpg")
    assert wide.dtype == np.uint16 and narrow.dtype == np.uint8
    # JPEG is lossy; the point is the 16-bit range was scaled, not saturated to white
    assert abs(narrow.mean() - (wide / 257.0).mean()) < 10
    from invdn.inference.batch import fit_bit_depth

    levels = np.array([[[0, 257, 65535]]], np.uint16)
    np.testing.assert_array_equal(fit_bit_depth(levels, tmp_path / "x.webp"), [[[0, 1, 255]]])
    assert fit_bit_depth(levels, tmp_path / "x.png").dtype == np.uint16
