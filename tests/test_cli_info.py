import json
import subprocess
import sys

from invdn.cli.main import main


def test_info_json(capsys):
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    p = info["parameters"]
    assert (p["invdn"], p["danet_denoiser"], p["danet_total"]) == (2_640_960, 9_153_571, 63_011_175)
    assert p["invdn_over_danet_percent"] == 4.19
    assert "cpu" in info["devices"]
    w = info["default_weights"]
    assert w["installed"] and w["path"].endswith("default_invdn.pt") and len(w["sha256"]) == 64


def test_info_table(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "2,640,960" in out and "4.19 %" in out and "default weights:" in out


def test_info_says_when_default_weights_are_missing(tmp_path, monkeypatch, capsys):
    import invdn.inference.loading as loading

    monkeypatch.setattr(loading, "default_weights_path", lambda: tmp_path / "none.pt")
    assert main(["info"]) == 0
    assert "not installed: pass --checkpoint" in capsys.readouterr().out


def test_console_script_no_command():
    proc = subprocess.run([sys.executable, "-m", "invdn.cli.main"], capture_output=True, text=True)
    assert proc.returncode == 2 and "info" in proc.stdout
