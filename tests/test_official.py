import pytest
import torch

from invdn import InvDN
from invdn.io.weights import load_model


def test_fixture_equivalence(official_reference):
    ref = official_reference
    model = InvDN.from_official(ref["state_dict"]).eval()
    assert sum(p.numel() for p in model.parameters()) == ref["trainable_params"]
    with torch.no_grad():
        lr, z = model(ref["input"])
        fwd = torch.cat((lr, z), 1)
        assert (fwd - ref["forward"]).abs().max() <= 1e-5
        lr_ref, z_ref = ref["forward"][:, :3], ref["forward"][:, 3:]
        assert (model.inverse(lr_ref, z_ref) - ref["inverse_of_forward"]).abs().max() <= 1e-5
        inv = model.inverse(lr_ref, ref["latent"])
        scale = ref["inverse_with_latent"].abs().max()
        assert (inv - ref["inverse_with_latent"]).abs().max() <= 1e-5 * scale


def test_roundtrip_to_official(official_reference):
    model = InvDN.from_official(official_reference["state_dict"])
    back = model.to_official()
    assert back.keys() == official_reference["state_dict"].keys()
    for key, value in official_reference["state_dict"].items():
        assert torch.equal(back[key], value), key


def test_wrapped_and_prefixed_checkpoints(tmp_path):
    model = InvDN(blocks=(1, 1), width=8)
    sd = {f"module.{k}": v for k, v in model.to_official().items()}
    path = tmp_path / "wrapped.pth"
    torch.save({"params": sd}, path)
    loaded = InvDN.from_official(path, blocks=(1, 1), width=8)
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x)[0], model(x)[0])
    assert isinstance(load_model(path, blocks=(1, 1), width=8), InvDN)


def test_key_problems_are_listed():
    model = InvDN(blocks=(1, 1), width=8)
    sd = model.to_official()
    sd.pop("operations.1.F.conv1.weight")
    sd["operations.1.F.conv9.weight"] = torch.zeros(1)
    with pytest.raises(ValueError, match=r"missing keys: layers\.1\.F\.conv1\.weight.*unexpected keys"):
        InvDN.from_official(sd, blocks=(1, 1), width=8)


def test_wrong_architecture_is_reported():
    sd = InvDN(blocks=(1, 1), width=8).to_official()
    with pytest.raises(ValueError, match="does not match"):
        InvDN.from_official(sd)


def test_non_haar_weights_refused():
    sd = InvDN(blocks=(1, 1), width=8).to_official()
    sd["operations.0.haar_weights"] = torch.ones_like(sd["operations.0.haar_weights"])
    with pytest.raises(ValueError, match="Haar"):
        InvDN.from_official(sd, blocks=(1, 1), width=8)
