"""invdn: real-world image denoising with an invertible network (InvDN, CVPR 2021)."""

from invdn.errors import InvdnError, OptionError

# The library's entry points, each the Python form of a command with the same behaviour:
# `invdn.denoise_files(["shots/"], "out/")`, `invdn.train(invdn.compose_config([...]))`, …
_LAZY = {
    "InvDN": "invdn.nn", "DANetDenoiser": "invdn.nn", "DANetDiscriminator": "invdn.nn",
    "DANetGenerator": "invdn.nn",
    "load_model": "invdn.io.weights",                     # weights file -> model
    "Denoiser": "invdn.inference.pipeline",               # arrays/tensors in memory
    "DenoiseOptions": "invdn.inference.pipeline",
    "denoise_files": "invdn.inference.files",             # invdn denoise
    "ResampleOptions": "invdn.inference.resample",
    "resample_files": "invdn.inference.files",            # invdn generate
    "export_checkpoint": "invdn.inference.export",        # invdn export
    "EvaluateOptions": "invdn.evaluation.evaluate",
    "evaluate": "invdn.evaluation.evaluate",              # invdn evaluate
    "compare_models": "invdn.evaluation.compare",         # invdn compare
    "run_demo": "invdn.evaluation.demo",                  # invdn demo
    "system_info": "invdn.about",                         # invdn info
    "prepare": "invdn.data.prepare",                      # invdn prepare
    "compose_config": "invdn.training.config",            # invdn train --cfg
    "train": "invdn.training.run",                        # invdn train
    "explain_relu_collapse": "invdn.analysis.explain",    # invdn explain relu-collapse
    "explain_memory": "invdn.analysis.explain",           # invdn explain memory
    "serve": "invdn.app.server",                          # invdn serve
}

__all__ = ["InvdnError", "OptionError", "__version__", *_LAZY]


def _installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("invdn")
    except PackageNotFoundError:  # running from a checkout that was not installed
        return "0.0.0+local"


def __getattr__(name: str):
    # Looked up on first use: importlib.metadata alone is a quarter of `invdn --help`'s start-up
    # CPU time, and only --version, `invdn info` and the web app need the version.
    if name == "__version__":
        globals()["__version__"] = _installed_version()
        return globals()["__version__"]
    # These need torch; importing them lazily keeps `invdn --help` (which imports this package)
    # free of torch's start-up time.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'invdn' has no attribute {name!r}")
