"""Issue 26: `invdn serve` and the CLI under hostile input, on a corpus generated here
(tests/hostile_corpus.py): limits that hold (the size guard reads the decoder's own header and
refuses before decoding; a huge tile is the whole image), work that stops (DELETE, disconnected
clients, stalled uploads, Ctrl-C) and the smaller things a user notices. Cancellation is
asserted by the job's state, never by timing."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import warnings
from pathlib import Path

import hostile_corpus as corpus
import numpy as np
import pytest
import torch

from invdn.cli.main import main
from invdn.errors import InvdnError
from invdn.inference.pipeline import DenoiseOptions, Denoiser, RateMeter
from invdn.inference.tiling import check_tiling, tile_grid
from invdn.io import images
from invdn.io.images import read_image, write_image


def read_header(data: bytes):
    from invdn.io.headers import read_header as read  # imported here: each test stands alone

    return read(data)

fastapi = pytest.importorskip("fastapi", reason="invdn serve needs the app extra")
pytest.importorskip("httpx", reason="FastAPI's test client needs httpx (in the dev extra)")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402

from invdn.app.api import create_app  # noqa: E402
from invdn.app.config import ServeConfig  # noqa: E402
from invdn.app.jobs import Job  # noqa: E402

SIZED = corpus.every_format()
BROKEN = corpus.broken_headers()
# Pillow cannot open these, so the old guard let them through at any size
PILLOW_BLIND = ("bad_crc.png", "bad_iccp.png", "float32.tif")


@pytest.fixture
def decodes(monkeypatch) -> list:
    """Records every OpenCV decode (the work a refusal must come before)."""
    calls: list = []
    real = images.cv2.imdecode

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(images.cv2, "imdecode", spy)
    return calls




def client_for(registry, staging, **config) -> TestClient:
    return TestClient(create_app(registry, ServeConfig(temp_dir=str(staging), **config)))


def post(client, data: bytes, name: str = "x.png", url: str = "/api/denoise", **fields):
    return client.post(url, files={"file": (name, data)},
                       data={k: str(v).lower() if isinstance(v, bool) else str(v)
                             for k, v in fields.items()})


def small_png(folder: Path, h: int = 24, w: int = 20, seed: int = 0) -> bytes:
    path = folder / f"small{seed}.png"
    write_image(path, np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))
    return path.read_bytes()


def wait_for(predicate, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


# ------------------------------------------------------------- 1. the size guard

@pytest.mark.parametrize("name", sorted(SIZED))
def test_header_gives_the_decoded_size(name):
    data = SIZED[name]
    header = read_header(data)
    decoded = images.cv2.imdecode(np.frombuffer(data, np.uint8), images.cv2.IMREAD_UNCHANGED)
    assert (header.height, header.width) == decoded.shape[:2] == corpus.SIZE


@pytest.mark.parametrize("name", sorted(SIZED))
def test_cli_refuses_before_decoding(tmp_path, capsys, tiny, decodes, name):
    path = tmp_path / name
    path.write_bytes(SIZED[name])
    code = main(["denoise", str(path), "-o", str(tmp_path / "out"), "--checkpoint",
                 str(tiny[1]), "-q", "--max-megapixels", "0.1"])
    err = capsys.readouterr().err
    assert code == 1 and not decodes, err
    assert f"{path}: its header claims 0.1 MP (400x300), above the limit of 0.1 MP" in err
    assert "raise --max-megapixels" in err and "Traceback" not in err


@pytest.mark.parametrize("name", PILLOW_BLIND)
def test_pillow_blind_files_still_denoise_under_the_limit(tmp_path, tiny, name):
    """The control: the same files are real images, decoded when the limit allows them."""
    path = tmp_path / name
    path.write_bytes(SIZED[name])
    assert main(["denoise", str(path), "-o", str(tmp_path / "out"), "--checkpoint",
                 str(tiny[1]), "-q", "--max-megapixels", "1"]) == 0
    assert read_image(tmp_path / "out" / name).shape[:2] == corpus.SIZE


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_unreadable_header_is_a_refusal(tmp_path, capsys, tiny, decodes, name):
    path = tmp_path / name
    path.write_bytes(BROKEN[name])
    code = main(["denoise", str(path), "-o", str(tmp_path / "out"), "--checkpoint",
                 str(tiny[1]), "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and not decodes, err
    assert f"{path}: not a readable image (" in err and "it is not decoded" in err


@pytest.mark.parametrize("name", PILLOW_BLIND + ("lossy.webp", "rgb.bmp", "baseline.jpg"))
def test_server_refuses_before_decoding(registry, staging, decodes, name):
    with client_for(registry, staging, max_megapixels=0.1) as client:
        r = post(client, SIZED[name], name)
        assert r.status_code == 413, r.text
        assert r.json()["detail"] == (f"{name}: 400x300 is 0.1 MP, above this server's limit "
                                      "of 0.1 MP per image; send a smaller image")
        assert not decodes


def test_server_refuses_unreadable_headers(registry, staging, decodes):
    with client_for(registry, staging) as client:
        for name in ("ihdr_crc.png", "dangling.tif"):
            r = post(client, BROKEN[name], name)
            assert r.status_code == 422 and "not a readable image" in r.json()["detail"], name
        assert not decodes


# ------------------------------------------------------------- 2. the huge tile

def test_huge_tile_is_the_whole_image(registry, staging, tmp_path):
    data = small_png(tmp_path, 64, 64)  # 4096 pixels; one call may take 1000 (tiles <= 28)
    with client_for(registry, staging, max_untiled_megapixels=0.001) as client:
        for tile in (100_000_000, 99_999_999, 32):
            r = post(client, data, tile=tile, overlap=4)
            assert r.status_code == 422, r.text
            assert r.json()["detail"] == (f"tile={tile} is above this server's largest tile, "
                                          "28 px (one tile of at most 0.001 MP); use 0 to 28 "
                                          "(0: the whole image, up to that size)")
        assert post(client, data, tile=0).status_code == 413  # the whole image: over the cap
        # what the message offers is accepted
        assert post(client, data, tile=28, overlap=4).status_code == 200


def test_too_many_tiles_suggests_a_tile_that_is_accepted():
    from invdn.inference.tiling import check_tile_work

    with pytest.raises(InvdnError) as info:
        check_tile_work(100_000, 100_000, 512, 32, 4)  # the default tile itself is refused
    message = info.value.as_flag()
    assert "use a larger tile (e.g. --tile 2048) or --tile 0" in message, message
    assert check_tile_work(100_000, 100_000, 2048, 32, 4).tiles <= 10_000


def test_a_tile_as_large_as_the_image_is_capped_in_the_library(tmp_path, tiny):
    from invdn.app.process import ImageTooLarge, denoise_file

    path = tmp_path / "input.png"
    write_image(path, np.zeros((40, 48, 3), np.uint8))
    for tile in (0, 64, 1024):  # each runs the whole 40x48 image in one call
        denoiser = Denoiser(tiny[0], DenoiseOptions(tile=tile, overlap=4), "cpu")
        with pytest.raises(ImageTooLarge, match="is limited to 0.001 MP here"):
            denoise_file(path, denoiser, max_megapixels=1, max_untiled_megapixels=0.001)


# ------------------------------------------------------------- 3. work that stops

def gated_progress(monkeypatch, at: int = 3):
    """Job.progress paused before tile `at` until the returned gate is set."""
    reached, gate = threading.Event(), threading.Event()
    original = Job.progress

    def paused(self, tiles):
        for i, tile in enumerate(original(self, tiles)):
            if i == at:
                reached.set()
                gate.wait(60)
            yield tile

    monkeypatch.setattr(Job, "progress", paused)
    return reached, gate


def test_delete_cancels_a_running_job(registry, staging, tmp_path, monkeypatch):
    reached, gate = gated_progress(monkeypatch)
    calls = []
    with client_for(registry, staging) as client:
        model = registry.default.model
        hook = model.register_forward_pre_hook(lambda *a: calls.append(1))
        job_id = post(client, small_png(tmp_path, 64, 64), url="/api/jobs", tile=16,
                      overlap=4).json()["id"]
        assert reached.wait(60)
        job = client.app.state.jobs.get(job_id)
        assert job.status == "running" and job.workdir.exists()
        before = len(calls)
        assert client.delete(f"/api/jobs/{job_id}").status_code == 204
        gate.set()
        wait_for(lambda: job.status == "cancelled")
        hook.remove()
        assert (job.tiles_done, job.tiles_total) == (3, 25)  # 5 x 5 tiles of 16 px
        assert len(calls) == before  # not one more network pass after the DELETE
        assert not job.workdir.exists() and job.outcome is None
        assert client.get(f"/api/jobs/{job_id}").status_code == 404
        health = client.get("/health").json()
        assert health["jobs"]["cancelled"] == 1 and health["queue"]["running"] is False
        assert post(client, small_png(tmp_path)).status_code == 200  # the worker goes on


def asgi_request(client: TestClient, body: bytes, boundary: str, gone: threading.Event,
                 stall_after: int | None = None):
    """Send `body` to POST /api/denoise straight through ASGI (the test client cannot hang up):
    the client disconnects once `gone` is set; with `stall_after`, only that many bytes are
    sent and the rest never comes. Returns a future of (status, body)."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/api/denoise", "raw_path":
             b"/api/denoise", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver"),
                         (b"content-type", f"multipart/form-data; boundary={boundary}".encode()),
                         (b"content-length", str(len(body)).encode())],
             "client": ("127.0.0.1", 5000), "server": ("testserver", 80)}
    sent = {"status": None, "body": b""}

    async def run():
        parts = [body] if stall_after is None else [body[:stall_after]]

        async def receive():
            if parts:
                return {"type": "http.request", "body": parts.pop(0),
                        "more_body": stall_after is not None}
            while not gone.is_set():
                await asyncio.sleep(0.01)
            return {"type": "http.disconnect"}

        async def send(message):
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
            elif message["type"] == "http.response.body":
                sent["body"] += message.get("body", b"")

        await client.app(scope, receive, send)
        return sent["status"], sent["body"]

    return client.portal.start_task_soon(run)


def multipart(data: bytes, boundary: str = "hostileboundary", **fields) -> bytes:
    out = b""
    for key, value in fields.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{key}\"\r\n\r\n"
                f"{value}\r\n").encode()
    out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"x.png\"\r\nContent-Type: image/png\r\n\r\n").encode()
    return out + data + f"\r\n--{boundary}--\r\n".encode()


def test_disconnected_clients_are_cancelled(registry, staging, tmp_path, monkeypatch):
    """Three uploads queued behind a busy job whose clients hang up are never run; a running
    one whose client hangs up stops before its next tile."""
    reached, gate = gated_progress(monkeypatch)
    with client_for(registry, staging) as client:
        worker = client.app.state.worker
        busy = post(client, small_png(tmp_path, 64, 64), url="/api/jobs", tile=16,
                    overlap=4).json()["id"]
        assert reached.wait(60)
        gone = [threading.Event() for _ in range(3)]
        body = multipart(small_png(tmp_path, 32, 32, seed=1), tile=16, overlap=4)
        waiting = [asgi_request(client, body, "hostileboundary", g) for g in gone]
        wait_for(lambda: worker.waiting == 3)
        for g in gone:
            g.set()
        for future in waiting:
            assert future.result(60)[0] == 499
        assert client.delete(f"/api/jobs/{busy}").status_code == 204
        gate.set()
        wait_for(lambda: worker.cancelled == 4 and worker.waiting == 0
                 and worker.running is None)
        assert worker.completed == 0  # none of the abandoned uploads was denoised
        # a running job whose client hangs up mid-way
        reached.clear()
        gate.clear()
        hung = threading.Event()
        running = asgi_request(client, multipart(small_png(tmp_path, 64, 64, seed=2), tile=16,
                                                 overlap=4), "hostileboundary", hung)
        assert reached.wait(60)
        job = worker.running
        hung.set()
        assert running.result(60)[0] == 499
        gate.set()
        wait_for(lambda: job.status == "cancelled")
        assert job.tiles_done == 3 and not job.workdir.exists()
        assert client.get("/health").json()["jobs"] == {"completed": 0, "failed": 0,
                                                        "cancelled": 5}


def test_stalled_upload_gets_408(registry, staging, tmp_path):
    with client_for(registry, staging, read_timeout_s=0.5) as client:
        body = multipart(small_png(tmp_path))
        status, text = asgi_request(client, body, "hostileboundary", threading.Event(),
                                    stall_after=100).result(60)
        assert status == 408 and b"the upload stalled" in text
        assert client.get("/health").json()["queue"]["waiting"] == 0


# ------------------------------------------------------------- 4. a real server: Ctrl-C

def start_server(folder: Path, args: list[str]):
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "server.log"
    env = {**os.environ, "TMPDIR": str(folder), "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "invdn.cli.main", "serve", "--port", "0",
                                 "--log-level", "warning", *args], stdout=out,
                                stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 120
    while not (found := re.search(r"invdn serve: (http://\S+/) on ", log.read_text())):
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    url = found.group(1)
    while True:
        try:
            with urllib.request.urlopen(url + "health", timeout=5):
                break
        except OSError:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    return proc, url, log


def health(url: str) -> dict:
    import json

    with urllib.request.urlopen(url + "health", timeout=10) as r:
        return json.loads(r.read())


def test_ctrl_c_with_a_stalled_upload_and_a_running_job(tmp_path, tiny):
    folder = tmp_path / "srv"
    proc, url, log = start_server(folder, ["--checkpoint", str(tiny[1]), "--read-timeout", "1"])
    try:
        port = int(url.rsplit(":", 1)[1].strip("/"))
        # idle and half-sent headers are closed after the read timeout
        idle, half = (socket.create_connection(("127.0.0.1", port), timeout=30)
                      for _ in range(2))
        half.sendall(b"POST /api/denoise HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        assert idle.recv(100) == b"" and half.recv(100) == b""
        # a long page job: 2000 x 2000 with 32 samples, minutes for the tiny model
        photo = tmp_path / "big.png"
        write_image(photo, np.random.default_rng(0).integers(0, 256, (2000, 2000, 3),
                                                              dtype=np.uint8))
        body = multipart(photo.read_bytes(), model="tiny", samples=32)
        request = urllib.request.Request(url + "api/jobs", data=body, headers={
            "Content-Type": "multipart/form-data; boundary=hostileboundary"})
        urllib.request.urlopen(request, timeout=60).read()
        wait_for(lambda: health(url)["queue"]["running"])
        # an upload that stops after its headers and 200 bytes
        stalled = socket.create_connection(("127.0.0.1", port), timeout=30)
        stalled.sendall(b"POST /api/denoise HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                        b"multipart/form-data; boundary=hostileboundary\r\nContent-Length: "
                        + str(len(body)).encode() + b"\r\n\r\n" + body[:200])
        staged = [p for p in folder.iterdir() if p.name.startswith("invdn-serve-")]
        assert staged and any(staged[0].iterdir())  # the running job's upload is staged
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(10)  # TimeoutExpired fails the test
        assert time.monotonic() - start < 10
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    text = log.read_text()
    assert proc.returncode == 130 and "invdn serve: interrupted" in text, text
    assert "Traceback" not in text and "terminate called" not in text, text
    assert not [p for p in folder.iterdir() if p.name.startswith("invdn-serve-")]


# ------------------------------------------------------------- 5. smaller things

def test_two_file_parts_are_refused(registry, staging, tmp_path):
    with client_for(registry, staging) as client:
        r = client.post("/api/denoise", files=[("file", ("a.png", small_png(tmp_path))),
                                               ("file", ("b.png", small_png(tmp_path, seed=1)))])
        assert r.status_code == 422
        assert r.json()["detail"].startswith("2 parts named 'file'; send one image per request")


@pytest.mark.parametrize("depth", [8, 16])
def test_gray_alpha_png_comes_back_gray_alpha(registry, staging, tmp_path, tiny, depth):
    path = tmp_path / "in" / "la.png"
    path.parent.mkdir()
    path.write_bytes(corpus.gray_alpha_png(depth))
    assert main(["denoise", str(path), "-o", str(tmp_path / "out"), "--checkpoint",
                 str(tiny[1]), "-q"]) == 0
    out = (tmp_path / "out" / "la.png").read_bytes()
    header = read_header(out)
    assert header.gray_alpha and (header.height, header.width) == (24, 32)
    assert out[24] == depth  # IHDR bit depth
    original, result = read_image(path), read_image(tmp_path / "out" / "la.png")
    np.testing.assert_array_equal(result[..., 3], original[..., 3])  # alpha untouched
    assert (result[..., 0] == result[..., 1]).all() and (result[..., 1] == result[..., 2]).all()
    with client_for(registry, staging) as client:
        r = post(client, path.read_bytes(), "la.png", url="/api/jobs")
        wait_for(lambda: client.get(f"/api/jobs/{r.json()['id']}").json()["status"] == "done")
        assert client.get(f"/api/jobs/{r.json()['id']}").json()["channels"] == 2
        assert client.get(f"/api/jobs/{r.json()['id']}/result").content == out


def test_multipage_tiff_is_refused_not_cut(registry, staging, tmp_path, tiny, capsys):
    path = tmp_path / "pages.tif"
    path.write_bytes(corpus.two_page_tiff())
    assert main(["denoise", str(path), "-o", str(tmp_path / "out"), "--checkpoint",
                 str(tiny[1]), "-q"]) == 1
    words = "a TIFF of 2 pages; invdn denoises one image per file"
    assert words in capsys.readouterr().err and not (tmp_path / "out" / "pages.tif").exists()
    with client_for(registry, staging) as client:
        r = post(client, path.read_bytes(), "pages.tif")
        assert r.status_code == 422 and words in r.json()["detail"]


def test_other_image_formats_in_a_folder_are_named(tmp_path, tiny, capsys):
    folder = tmp_path / "shots"
    folder.mkdir()
    (folder / "anim.gif").write_bytes(corpus.gif())
    (folder / "photo.png").write_bytes(small_png(tmp_path))
    assert main(["denoise", str(folder), "-o", str(tmp_path / "out"), "--checkpoint",
                 str(tiny[1]), "-q"]) == 0
    out, err = capsys.readouterr()
    assert (f"not read: {folder / 'anim.gif'}: GIF is not a format invdn reads (PNG, JPEG, "
            "TIFF, BMP, WebP); convert it to PNG to denoise it") in err
    assert "1 written" in out and "1 not read" in out
    (folder / "photo.png").unlink()
    assert main(["denoise", str(folder), "-o", str(tmp_path / "out2"), "--checkpoint",
                 str(tiny[1]), "-q"]) == 2
    assert "anim.gif: convert them to PNG" in capsys.readouterr().err


@pytest.mark.parametrize("tile", [1, 3, 5, 6, 7])
def test_small_tiles_are_blamed_on_the_tile(tmp_path, tiny, capsys, tile):
    path = tmp_path / "x.png"
    path.write_bytes(small_png(tmp_path))
    assert main(["denoise", str(path), "-o", str(tmp_path / "out"), "--checkpoint",
                 str(tiny[1]), "--tile", str(tile)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"invdn denoise: error: --tile {tile} must be a multiple of 4"), err
    assert "--overlap" not in err
    suggested = int(re.search(r"e\.g\. --tile (\d+)", err).group(1))
    assert check_tiling(suggested, 32, 4) == (suggested, 32)  # the suggestion is accepted


def test_loopback_host_answers_to_its_own_address(monkeypatch, tiny):
    import uvicorn

    apps = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets: apps.append(self.config.app))
    assert main(["serve", "--host", "127.0.0.2", "--port", "0", "--checkpoint",
                 str(tiny[1])]) == 0
    for host, status in (("127.0.0.2", 200), ("localhost", 200), ("attacker.example", 400)):
        with TestClient(apps[0], base_url=f"http://{host}:8000") as client:
            assert client.get("/health").status_code == status, host


def test_head_of_the_page(registry, staging):
    with client_for(registry, staging) as client:
        r = client.head("/")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")


def test_rotated_photo_reports_its_displayed_size(registry, staging, tmp_path):
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6  # stored 48 wide, 32 high; displayed rotated: 32 wide, 48 high
    path = tmp_path / "portrait.jpg"
    Image.fromarray(np.full((32, 48, 3), 128, np.uint8)).save(path, exif=exif.tobytes())
    with client_for(registry, staging) as client:
        job = post(client, path.read_bytes(), "portrait.jpg", url="/api/jobs").json()["id"]
        wait_for(lambda: client.get(f"/api/jobs/{job}").json()["status"] == "done")
        info = client.get(f"/api/jobs/{job}").json()
        assert (info["width"], info["height"]) == (32, 48)


def test_page_errors_speak_to_web_users(registry, staging, tmp_path):
    with client_for(registry, staging, max_megapixels=0.0001, max_upload_mb=0.001) as client:
        # 144 pixels in a few hundred bytes (over the pixel limit), then 64 x 64 (over the bytes)
        for data in (small_png(tmp_path, 12, 12), small_png(tmp_path, 64, 64, seed=3)):
            r = post(client, data)
            assert r.status_code == 413 and "--" not in r.json()["detail"], r.text


def test_from_official_words_an_untrusted_file_as_the_cli(tmp_path):
    from invdn import InvDN

    path = tmp_path / "InvDN_ResUnit_x4.pth"
    torch.save({"operations.0": threading.Event}, path)  # a global torch will not unpickle
    with pytest.raises(InvdnError) as info:
        InvDN.from_official(path)
    text = str(info.value)
    assert "weights_only" not in text and "does not unpickle those" in text, text


def test_time_estimate_comes_from_the_jobs_own_first_tiles(tiny):
    """No measuring pass on a cold model: planning runs nothing, and the estimate is timed on
    the job's real tiles (one to warm up, two timed)."""
    shapes, ready = [], []
    denoiser = Denoiser(tiny[0], DenoiseOptions(tile=64, overlap=16), "cpu", per_call=1)
    hook = denoiser.model.register_forward_pre_hook(
        lambda _m, args: shapes.append(tuple(args[0].shape[-2:])))
    try:
        work = denoiser.plan([(200, 256)], measure_above=0)
        assert work.wanted and not work.measured and not shapes
        denoiser.meter = RateMeter(lambda rates: ready.append(work.measured_with(rates)))
        denoiser(np.random.default_rng(0).integers(0, 256, (200, 256, 3), dtype=np.uint8))
    finally:
        hook.remove()
    th, tw = tile_grid(200, 256, 64, 16, 4)[0][2:]
    assert shapes == [(th, tw)] * work.tiles  # the tiles themselves, nothing else
    assert len(ready) == 1 and ready[0].measured and ready[0].rate > 0


class ScriptedStopwatch:
    """Stands in for invdn.timing.Stopwatch: each `with` block lasts the next scripted time
    (then 1 s)."""

    times: list[float] = []

    def __enter__(self):
        self.seconds = ScriptedStopwatch.times.pop(0) if ScriptedStopwatch.times else 1.0
        return self

    def __exit__(self, *exc):
        return None


@pytest.mark.parametrize("times, estimate", [
    ([30.0, 1.0, 1.2], True),   # a slow first tile is the warm-up: not counted
    ([1.0, 1.0, 2.0], False),   # the timed tiles disagree: no estimate to stand behind
])
def test_time_estimate_only_when_the_measurement_backs_it(tiny, monkeypatch, times, estimate):
    import invdn.inference.pipeline as pipeline

    ScriptedStopwatch.times = list(times)
    monkeypatch.setattr(pipeline, "Stopwatch", ScriptedStopwatch)
    denoiser = Denoiser(tiny[0], DenoiseOptions(tile=64, overlap=16), "cpu", per_call=1)
    work = denoiser.plan([(1000, 1000)], measure_above=0)
    ready = []
    denoiser.meter = RateMeter(lambda rates: ready.append(work.measured_with(rates)))
    denoiser(np.zeros((128, 128, 3), np.uint8))
    th, tw = tile_grid(128, 128, 64, 16, 4)[0][2:]
    rate = (1.1 if estimate else 1.5) / (th * tw / 1e6)
    (work,) = ready
    assert work.rate == pytest.approx(rate)
    text = work.describe()
    if estimate:
        assert work.seconds == pytest.approx(rate * work.megapixels * work.passes)
        assert "measured on this job's first tiles" in text
    else:
        assert work.seconds is None and "about" not in text
        assert "no time estimate: the speed of cpu varied 2.0x" in text
