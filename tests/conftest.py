from pathlib import Path

import pytest
import torch

FIXTURE = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "official_invdn_reference.pt"


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def official_reference():
    if not FIXTURE.is_file():
        pytest.skip(f"official reference fixture not found at {FIXTURE} "
                    "(needs ../shared beside the checkout)")
    return torch.load(FIXTURE, map_location="cpu")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(a tiny random InvDN in eval mode, the path of its invdn weights file)."""
    from invdn import InvDN
    from invdn.io.weights import save_weights

    torch.manual_seed(0)
    model = InvDN(blocks=(1, 1), width=8).eval()
    path = tmp_path_factory.mktemp("weights") / "tiny.pt"
    save_weights(model, path)
    return model, path


@pytest.fixture(scope="module")
def registry(tiny):
    """`invdn serve`'s model registry holding only the tiny model (tests of the web app)."""
    from invdn.app.models import ModelRegistry

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny convolutions run fastest on one thread
    yield ModelRegistry.load([tiny[1]], include_default=False)
    torch.set_num_threads(threads)


@pytest.fixture
def staging(tmp_path):
    """The server's staging folder; every test that uses it checks that it is left empty."""
    folder = tmp_path / "staging"
    folder.mkdir()
    yield folder
    assert list(folder.iterdir()) == [], "a staged upload was left behind"
