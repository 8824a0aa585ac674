"""invdn.schema: every key of the `invdn train` config checked by one table, each bad
value rejected in one line that names the key, the value and what to set instead."""

import copy

import pytest
from omegaconf import OmegaConf

from invdn.checks import ConfigError
from invdn.errors import InvdnError
from invdn.schema import _ABSENT, TRAIN_SCHEMA, _lookup, check, validate
from invdn.training.config import check_config, compose_config, config_options, instantiate

# configs that between them hold every key of the table
VARIANTS = [[], ["data=sidd"], ["data=folders"], ["system/scheduler=warmup_cosine"],
            ["callbacks.ema.decay=0.9"]]


@pytest.fixture(scope="module")
def plain():
    """The default composed config, resolved to plain containers."""
    return OmegaConf.to_container(compose_config(["system/scheduler=warmup_cosine"]),
                                  resolve=True)


def with_value(cfg: dict, key: str, value):
    cfg = copy.deepcopy(cfg)
    *parents, last = key.split(".")
    node = cfg
    for part in parents:
        node = node[part]
    node[last] = value
    return cfg


BAD = [
    ("seed", -1, "seed=-1 must be an integer >= 0"),
    ("seed", "abc", "seed='abc' must be an integer >= 0"),
    ("trainer.max_steps", -5, "trainer.max_steps=-5 must be an integer >= 1 (or -1 with "
                              "trainer.max_epochs)"),
    ("trainer.max_steps", 2.5, "trainer.max_steps=2.5 must be an integer >= 1"),
    ("trainer.max_steps", True, "trainer.max_steps=True must be an integer >= 1"),
    ("trainer.max_epochs", -3, "trainer.max_epochs=-3 must be an integer >= 0 or null (-1: no limit)"),
    ("trainer.accelerator", "tpu", "trainer.accelerator='tpu' must be one of auto, cpu, gpu, "
                                   "cuda, mps"),
    ("system.lr", 0, "system.lr=0 must be a number > 0 (the paper: 2.0e-4)"),
    ("system.lr", "fast", "system.lr='fast' must be a number > 0"),
    ("system.val_samples", 0, "system.val_samples=0 must be an integer >= 1"),
    ("system.val_seed", "x", "system.val_seed='x' must be an integer >= 0"),
    ("system.preview_images", -1, "system.preview_images=-1 must be an integer >= 0"),
    ("system.max_nonfinite_steps", 0, "system.max_nonfinite_steps=0 must be an integer >= 1"),
    ("system.channels_last", "yes", "system.channels_last='yes' must be true or false"),
    ("system.scheduler.total_steps", 0, "system.scheduler.total_steps=0 must be an integer >= 1"),
    ("system.scheduler.warmup_steps", -1, "system.scheduler.warmup_steps=-1 must be an integer >= 0"),
    ("system.scheduler.warmup_steps", 600, "system.scheduler.warmup_steps=600 must be below "
                                           "system.scheduler.total_steps=600"),
    ("system.scheduler.min_factor", 1.5, "system.scheduler.min_factor=1.5 must be a number in [0, 1]"),
    ("callbacks.ema.decay", 1.0, "callbacks.ema.decay=1.0 must be a number in (0, 1) or null"),
    ("callbacks.checkpoint.save_last_every_n_steps", -1,
     "callbacks.checkpoint.save_last_every_n_steps=-1 must be an integer >= 0"),
    ("data.patch_size", 30, "data.patch_size=30 must be a positive multiple of 4"),
    ("data.patch_size", 0, "data.patch_size=0 must be a positive multiple of 4"),
    ("data.batch_size", 0, "data.batch_size=0 must be an integer >= 1"),
    ("data.val_batch_size", None, "data.val_batch_size=None must be an integer >= 1"),
    ("data.num_workers", -1, "data.num_workers=-1 must be an integer >= 0"),
    ("data.seed", 1.5, "data.seed=1.5 must be an integer >= 0"),
    ("data.samples_per_epoch", 0, "data.samples_per_epoch=0 must be an integer >= 1 or null"),
    ("data.val_crop", 0, "data.val_crop=0 must be an integer >= 1 or null"),
    ("data.val_count", -1, "data.val_count=-1 must be an integer >= 0"),
    ("data.color", 1, "data.color=1 must be true or false"),
]


@pytest.mark.parametrize(("key", "value", "message"), BAD, ids=[f"{k}={v!r}" for k, v, _ in BAD])
def test_bad_values_fail_in_one_line_naming_the_key(plain, key, value, message):
    with pytest.raises(ConfigError) as info:
        validate(with_value(plain, key, value))
    text = str(info.value)
    assert "\n" not in text and text.startswith(f"{key}=") and message in text, text
    assert info.value.key == key and info.value.value == value
    assert isinstance(info.value, InvdnError) and isinstance(info.value, ValueError)


def test_endless_run_is_refused(plain):
    with pytest.raises(ConfigError, match=r"^trainer.max_steps=-1 never ends training without "
                                          r"trainer.max_epochs"):
        validate(with_value(plain, "trainer.max_steps", -1))
    validate(with_value(with_value(plain, "trainer.max_steps", -1), "trainer.max_epochs", 3))


def test_every_table_key_is_a_config_key():
    """The table follows the configs: each key exists in some composed config."""
    configs = [OmegaConf.to_container(compose_config(v), resolve=True) for v in VARIANTS]
    missing = [k for k in TRAIN_SCHEMA if all(_lookup(c, k) is _ABSENT for c in configs)]
    assert not missing


@pytest.mark.parametrize("overrides", [[f"experiment={e}"] for e in config_options("experiment")]
                         + [["trainer=ddp"], *VARIANTS[1:]], ids=str)
def test_shipped_configs_follow_the_schema(overrides):
    validate(OmegaConf.to_container(compose_config(overrides), resolve=True))


def test_check_config_runs_the_schema():
    with pytest.raises(ConfigError, match=r"^system.lr=-1 must be a number > 0"):
        check_config(compose_config(["system.lr=-1"]))


def test_components_use_the_same_rule():
    with pytest.raises(ConfigError) as info:
        check("data.batch_size", 0)
    assert str(info.value) == "data.batch_size=0 must be an integer >= 1"
    with pytest.raises(KeyError):
        check("data.no_such_key", 1)


def test_unknown_option_is_found_from_the_signature():
    cfg = compose_config(["+model.depthh=3"])
    with pytest.raises(InvdnError, match=r"^model.depthh is not an option of invdn.nn.InvDN"):
        instantiate(cfg, "model")
