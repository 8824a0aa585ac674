"""Issue 15 item 2: unreadable or mismatched weights are explained without unsafe advice."""

from __future__ import annotations

import os

import pytest
import torch

from invdn.cli.main import main
from invdn.io.weights import load_model


def _denoise_error(tmp_path, checkpoint, capsys) -> str:
    import numpy as np

    from invdn.io.images import write_image

    write_image(tmp_path / "a.png", np.zeros((8, 8, 3), np.uint8))
    assert main(["denoise", str(tmp_path / "a.png"), "-o", str(tmp_path / "out"),
                 "--checkpoint", str(checkpoint), "-q"]) == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("kind", ["random", "pickled_module"])
def test_unreadable_file_names_the_formats_and_never_suggests_weights_only_false(
        tmp_path, capsys, kind):
    path = tmp_path / "bad.pt"
    if kind == "random":
        path.write_bytes(os.urandom(4096))
    else:
        torch.save({"model": torch.nn.Linear(2, 2)}, path)  # a pickled class, not weights
    err = _denoise_error(tmp_path, path, capsys)
    assert "weights_only" not in err and "arbitrary code" not in err
    assert "not a weights file" in err and "invdn export --format weights" in err
    assert ".ckpt" in err and ".pth" in err and err.count("\n") == 1
    if kind == "pickled_module":
        assert "Python objects" in err


def test_wrong_shapes_name_the_first_key_and_both_shapes(tmp_path, tiny):
    from invdn.errors import InvdnError

    state = torch.load(tiny[1], weights_only=True)
    state["model"]["width"] = 16  # the file claims another width than its tensors have
    path = tmp_path / "claims16.pt"
    torch.save(state, path)
    with pytest.raises(InvdnError) as info:
        load_model(path)
    text = str(info.value)
    first = next(k for k, v in state["state_dict"].items()
                 if tuple(v.shape) != tuple(load_model(tiny[1]).state_dict()[k].shape) or True)
    assert "Error(s) in loading" not in text and "\n" not in text
    assert "has shape (8, " in text and "in the file but (16, " in text and "in the model" in text
    assert first.split(".")[0] in text
