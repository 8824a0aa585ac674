"""docs/architecture.md stays true: every path it names exists, and every function or class it
places in a file is defined in that file."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")

# Paths spelled from the repository root (placeholders such as <name> excepted).
PATHS = sorted({p.rstrip(".,);:") for p in re.findall(r"\b(?:invdn|conf|tests|docs)/[\w./-]*", DOC)
                if "<" not in p})

# (file, name) for each step the diagram and the how-to sections attribute to a file.
PLACED = [
    ("invdn/inference/files.py", "denoise_files"),
    ("invdn/inference/batch.py", "plan_jobs"),
    ("invdn/inference/batch.py", "run_batch"),
    ("invdn/inference/batch.py", "fit_bit_depth"),
    ("invdn/inference/loading.py", "load_checkpoint_or_default"),
    ("invdn/io/weights.py", "load_model"),
    ("invdn/inference/pipeline.py", "Denoiser"),
    ("invdn/inference/pipeline.py", "DenoiseOptions"),
    ("invdn/inference/tiling.py", "check_tile_work"),
    ("invdn/inference/tiling.py", "run_tiled"),
    ("invdn/inference/latent.py", "LatentField"),
    ("invdn/nn/padding.py", "pad_to_multiple"),
    ("invdn/nn/invdn.py", "InvDN"),
    ("invdn/nn/fast.py", "fast_forward"),
    ("invdn/nn/fast.py", "fast_inverse"),
    ("invdn/nn/fast.py", "supports_fast_path"),
    ("invdn/io/images.py", "read_image"),
    ("invdn/io/images.py", "write_image"),
    ("invdn/io/metadata.py", "read_meta"),
    ("invdn/io/atomic.py", "write_atomic"),
    ("invdn/inference/files.py", "resample_files"),
    ("invdn/inference/resample.py", "LatentResampler"),
    ("invdn/inference/resample.py", "ResampleOptions"),
    ("invdn/about.py", "system_info"),
    ("invdn/evaluation/demo.py", "run_demo"),
    ("invdn/data/prepare.py", "prepare"),
    ("invdn/inference/export.py", "export_checkpoint"),
    ("invdn/evaluation/compare.py", "compare_models"),
    ("invdn/evaluation/evaluate.py", "evaluate"),
    ("invdn/evaluation/evaluate.py", "EvaluateOptions"),
    ("invdn/evaluation/protocol.py", "block_metrics"),
    ("invdn/evaluation/classical.py", "denoise_classical"),
    ("invdn/training/config.py", "config_yaml"),
    ("invdn/training/signals.py", "TrainingInterrupted"),
    ("invdn/analysis/explain/__init__.py", "explain_relu_collapse"),
    ("invdn/analysis/explain/__init__.py", "explain_memory"),
    ("invdn/app/server.py", "serve"),
    ("invdn/app/config.py", "ServeConfig"),
    ("invdn/checks.py", "Checked"),
    ("invdn/checks.py", "check_value"),
    ("invdn/training/config.py", "compose_config"),
    ("invdn/training/config.py", "check_config"),
    ("invdn/training/config.py", "instantiate"),
    ("invdn/training/run.py", "train"),
    ("invdn/training/run.py", "TrainResult"),
    ("invdn/training/system.py", "DenoisingSystem"),
    ("invdn/training/losses.py", "DenoisingLoss"),
    ("invdn/data/datamodules.py", "SyntheticDataModule"),
    ("invdn/training/checkpointing.py", "RunCheckpoint"),
    ("invdn/training/checkpointing.py", "AtomicCheckpointIO"),
    ("invdn/training/averaging.py", "ema_callback"),
    ("invdn/training/signals.py", "StopOnSignal"),
    ("invdn/nn/subnets.py", "SUBNET_TYPES"),
    ("invdn/nn/subnets.py", "make_subnet"),
    ("invdn/nn/subnets.py", "ResnetSubnet"),
    ("invdn/nn/subnets.py", "last_conv"),
    ("invdn/nn/coupling.py", "CouplingBlock"),
    ("invdn/nn/coupling.py", "coupling_forward"),
    ("invdn/nn/coupling.py", "coupling_inverse"),
    ("invdn/nn/coupling.py", "log_scale"),
    ("invdn/data/noise.py", "NoiseModel"),
    ("invdn/data/noise.py", "NOISE_KINDS"),
    ("invdn/data/noise.py", "build_noise"),
    ("invdn/cli/main.py", "COMMANDS"),
    ("invdn/__init__.py", "_LAZY"),
    ("invdn/errors.py", "InvdnError"),
    ("invdn/errors.py", "OptionError"),
]


def test_the_doc_names_paths():
    assert len(PATHS) > 20 and "invdn/nn/subnets.py" in PATHS


@pytest.mark.parametrize("path", PATHS)
def test_named_path_exists(path):
    assert (ROOT / path).exists(), f"docs/architecture.md names {path}, which does not exist"


@pytest.mark.parametrize(("path", "name"), PLACED, ids=[f"{p}:{n}" for p, n in PLACED])
def test_named_definition_is_where_the_doc_says(path, name):
    assert re.search(rf"\b{name}\b", DOC), f"{name} is no longer in docs/architecture.md"
    source = (ROOT / path).read_text(encoding="utf-8")
    defined = rf"^\s*(?:def|class)\s+{name}\b|^{name}\s*(?::[^=\n]*)?="
    assert re.search(defined, source, re.MULTILINE), f"{name} is not defined in {path}"


def test_every_subnet_and_noise_kind_has_its_config_home():
    # the "where to add" sections point at these configs for the keys they name
    assert re.search(r"^subnet:", (ROOT / "conf/model/invdn.yaml").read_text(), re.MULTILINE)
    synthetic = (ROOT / "conf/data/synthetic.yaml").read_text()
    assert re.search(r"^noise:\n\s+kind:", synthetic, re.MULTILINE)
