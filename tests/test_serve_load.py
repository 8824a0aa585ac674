"""Load on a real `invdn serve` on 127.0.0.1: two waves of 50 concurrent small requests. Every
request is answered (200, or 503 with Retry-After when the bounded queue is full), none errors,
the server's memory stays bounded and does not grow from wave to wave, every 200 carries the
very bytes `invdn denoise` writes for the same seed, and no temporary file is left behind."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from test_serve_process import running_server

from invdn.cli.main import main
from invdn.io.images import write_image

REQUESTS = 50
QUEUE = 8
RSS_GROWTH_LIMIT_MIB = 300  # peak over the idle server: one 32x32 job at a time needs far less


def memory_kib(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def post_image(url: str, data: bytes, name: str, fields: dict, timeout: float = 120.0
               ) -> tuple[int, bytes, dict]:
    """multipart POST of `data` and form `fields` to /api/denoise with the standard library
    only; (status, body, headers)."""
    boundary = uuid.uuid4().hex
    body = "".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                   for k, v in fields.items())
    body = (f"{body}--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{name}\"\r\nContent-Type: image/png\r\n\r\n").encode() + data + \
        f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url + "api/denoise", data=body, method="POST", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as err:
        return err.code, err.read(), dict(err.headers)


def retry_after(headers: dict) -> int:
    return int({k.lower(): v for k, v in headers.items()}["retry-after"])


def burst(url: str, src: Path, names: list[str], fields: dict) -> list[tuple]:
    """POST every image in `names` at the same moment; (name, status, body, headers) each,
    status None for a request that raised (refused connection, reset, timeout)."""
    start = threading.Barrier(len(names))

    def one(name: str) -> tuple:
        start.wait(30)
        try:
            return name, *post_image(url, (src / name).read_bytes(), name, fields)
        except Exception as err:  # noqa: BLE001 - recorded and asserted by the caller
            return name, None, repr(err).encode(), {}

    with ThreadPoolExecutor(len(names)) as pool:
        return list(pool.map(one, names))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc for memory")
def test_fifty_concurrent_requests(tmp_path, tiny):
    pytest.importorskip("uvicorn", reason="invdn serve needs the app extra")
    rng = np.random.default_rng(0)
    src = tmp_path / "in"
    for i in range(REQUESTS):
        h, w = rng.integers(16, 49, 2)
        write_image(src / f"img{i:02d}.png", rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    names = sorted(p.name for p in src.iterdir())
    assert main(["denoise", str(src), "-o", str(tmp_path / "cli"), "--checkpoint", str(tiny[1]),
                 "--seed", "7", "-q"]) == 0
    expected = {name: (tmp_path / "cli" / name).read_bytes() for name in names}
    fields = {"model": "tiny", "seed": 7}
    folder = tmp_path / "srv"
    args = ["--checkpoint", str(tiny[1]), "--queue-size", str(QUEUE)]
    with running_server(args, folder) as (url, proc, _log):
        post_image(url, (src / names[0]).read_bytes(), names[0], fields)  # warm up
        idle = memory_kib(proc.pid)["VmRSS"]
        waves = []
        for _ in range(2):
            t0 = time.perf_counter()
            answers = burst(url, src, names, fields)
            waves.append((answers, time.perf_counter() - t0, memory_kib(proc.pid)))
        # The refused ones of the last wave, retried as Retry-After says, all get through.
        pending, rounds = [a[0] for a in answers if a[1] == 503], 0
        while pending and rounds < 10:
            rounds += 1
            time.sleep(max(retry_after(a[3]) for a in answers if a[0] in pending))
            answers = burst(url, src, pending, fields)
            assert {a[1] for a in answers} <= {200, 503}
            for name, status, body, _ in answers:
                if status == 200:
                    assert body == expected[name], name
            pending = [a[0] for a in answers if a[1] == 503]
        assert not pending, f"{len(pending)} still refused after {rounds} rounds"
        assert proc.poll() is None  # still serving

    for answers, seconds, memory in waves:
        assert {a[1] for a in answers} <= {200, 503}, [a[:2] + (a[2][:200],) for a in answers]
        ok = [a for a in answers if a[1] == 200]
        busy = [a for a in answers if a[1] == 503]
        assert len(ok) >= QUEUE + 1  # the running job and the full queue are always served
        for name, _, body, _ in ok:
            assert body == expected[name], name  # the very bytes the CLI wrote
        for _, _, body, headers in busy:
            assert 1 <= retry_after(headers) <= 60 and b"queue full" in body
        print(f"wave of {REQUESTS}: {len(ok)} x 200, {len(busy)} x 503 in {seconds:.2f} s; "
              f"server RSS {memory['VmRSS'] / 1024:.0f} MiB (idle {idle / 1024:.0f}), "
              f"peak {memory['VmHWM'] / 1024:.0f} MiB")
    print(f"the refused ones of the last wave: all 200 after {rounds} retry round(s)")
    assert (waves[-1][2]["VmHWM"] - idle) / 1024 < RSS_GROWTH_LIMIT_MIB
    # no leak: the second wave leaves the server no bigger than the first one (+ 32 MiB slack)
    assert waves[1][2]["VmRSS"] - waves[0][2]["VmRSS"] < 32 * 1024
    assert not [p for p in folder.iterdir() if p.name.startswith("invdn-serve-")]
