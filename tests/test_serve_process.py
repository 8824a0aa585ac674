"""`invdn serve` as a real process: the startup line, loopback binding and the Host check, the
warning for other hosts, a taken port. Also the helper the load and browser tests start their
server with."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="invdn serve needs the app extra: pip install 'invdn[app]'")
pytest.importorskip("uvicorn", reason="invdn serve needs the app extra: pip install 'invdn[app]'")

from invdn.cli.main import main  # noqa: E402
from invdn.inference.loading import load_checkpoint_or_default
from invdn.nn.sizes import count_parameters

URL_LINE = re.compile(r"invdn serve: (http://\S+/) on ")


@contextmanager
def running_server(args: list[str], folder: Path, startup_s: float = 120.0, threads: int = 1):
    """Start `invdn serve --port 0 ARGS` with its temporary folder in `folder`; yields
    (base URL, process, log path). Stopped with SIGINT (uvicorn's graceful shutdown), killed if
    it does not stop within 15 s."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "server.log"
    env = {**os.environ, "TMPDIR": str(folder), "OMP_NUM_THREADS": str(threads),
           "PYTHONUNBUFFERED": "1"}
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "invdn.cli.main", "serve", "--port", "0",
                                 "--log-level", "warning", *args],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + startup_s
        url = None
        while url is None:
            assert proc.poll() is None, f"server exited: {log.read_text()}"
            assert time.monotonic() < deadline, f"server did not start: {log.read_text()}"
            match = URL_LINE.search(log.read_text())
            url = match.group(1) if match else None
            time.sleep(0.1)
        while True:  # the line is printed just before uvicorn starts accepting
            try:
                with urllib.request.urlopen(url + "health", timeout=5) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, f"server not healthy: {log.read_text()}"
                time.sleep(0.1)
        yield url, proc, log
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def test_serves_on_loopback_and_checks_the_host_header(tmp_path, tiny):
    with running_server(["--checkpoint", str(tiny[1])], tmp_path / "srv") as (url, proc, log):
        assert url.startswith("http://127.0.0.1:")
        text = log.read_text()
        shipped = count_parameters(load_checkpoint_or_default(None))
        assert f"default ({shipped:,} parameters), tiny (" in text and "warning" not in text
        port = int(url.rsplit(":", 1)[1].strip("/"))
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n")
            answer = s.recv(4096)
        assert answer.startswith(b"HTTP/1.1 400"), answer  # DNS rebinding pages are refused
        with urllib.request.urlopen(url.replace("127.0.0.1", "localhost") + "health") as r:
            assert r.status == 200
    # Ctrl-C: uvicorn shuts down gracefully, then the CLI reports the interrupt (exit 130)
    assert proc.returncode == 130 and "invdn serve: interrupted" in log.read_text()
    assert "Traceback" not in log.read_text()
    assert not [p for p in (tmp_path / "srv").iterdir() if p.name.startswith("invdn-serve-")]


def test_other_hosts_get_a_warning(monkeypatch, capsys, tiny):
    import uvicorn

    started = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets: started.append(sockets))
    assert main(["serve", "--host", "0.0.0.0", "--port", "0", "--checkpoint", str(tiny[1])]) == 0
    err = capsys.readouterr().err
    assert "invdn serve: warning: listening on 0.0.0.0, not only on this machine" in err
    assert len(started) == 1


def test_taken_port_is_one_clear_line(capsys, tiny):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port), "--checkpoint", str(tiny[1])]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"invdn serve: error: cannot listen on 127.0.0.1:{port} (")
    assert err.endswith("pick another --port or --host") and "\n" not in err


def test_is_loopback():
    from invdn.app.server import is_loopback

    assert all(map(is_loopback, ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"]))
    assert not any(map(is_loopback, ["0.0.0.0", "192.168.1.5", "::", "example.com"]))
