"""`invdn --help` and every `invdn COMMAND --help` stay fast: they import none of the heavy
libraries (torch alone costs seconds). Checked by module names, not by a clock, so the test is
deterministic on a loaded machine; docs/usage.md's Commands section gives the measured times."""

import json
import subprocess
import sys

import pytest

from invdn.cli.main import COMMANDS

# Top-level packages whose import costs tenths of a second to seconds.
HEAVY = ("torch", "numpy", "lightning", "pytorch_lightning", "lightning_fabric", "torchvision",
         "hydra", "omegaconf", "PIL", "scipy", "skimage", "kornia", "cv2", "matplotlib",
         "fastapi", "uvicorn", "starlette", "onnx", "onnxruntime", "bm3d")

HELP_ARGVS = [["--help"], ["--version"], *([name, "--help"] for name in COMMANDS),
              ["explain", "relu-collapse", "--help"], ["explain", "memory", "--help"]]

# Runs each argv in one fresh interpreter, in order, and reports the first argv after which a
# heavy package is loaded (modules accumulate, so that argv is the one that imported it).
_PROBE = """
import contextlib, io, json, sys
from invdn.cli.main import main
heavy = set(json.loads(sys.argv[1]))
for argv in json.loads(sys.argv[2]):
    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):
        main(argv)
    loaded = sorted(heavy & {m.partition('.')[0] for m in sys.modules})
    if loaded:
        print(json.dumps({"argv": argv, "loaded": loaded}))
        break
else:
    print(json.dumps(None))
"""


def test_every_help_imports_no_heavy_package():
    proc = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(HEAVY), json.dumps(HELP_ARGVS)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) is None, f"help imported heavy packages: {proc.stdout}"


def test_help_lists_every_command():
    proc = subprocess.run([sys.executable, "-m", "invdn.cli.main", "--help"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert all(name in proc.stdout for name in COMMANDS)


def test_probe_notices_a_heavy_import():
    # The probe can fail: a listed package loaded during the run is reported with its argv.
    code = _PROBE.replace("from invdn.cli.main import main",
                          "from invdn.cli.main import main\nimport sqlite3")
    proc = subprocess.run([sys.executable, "-c", code, '["sqlite3"]', '[["--version"]]'],
                          capture_output=True, text=True, timeout=60)
    assert json.loads(proc.stdout) == {"argv": ["--version"], "loaded": ["sqlite3"]}


def test_version_is_looked_up_when_asked_for(capsys):
    from importlib.metadata import version

    from invdn.cli.main import main

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"invdn {version('invdn')}\n"
