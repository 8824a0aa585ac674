"""`invdn serve` API in-process (FastAPI's test client) with the tiny random-weight InvDN:
formats, bit depths, alpha, equality with `invdn denoise`, bad files, options, limits, the job
endpoints the page uses, queue full (503 + Retry-After), retention and temporary files."""

from __future__ import annotations

import io
import threading
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="invdn serve needs the app extra: pip install 'invdn[app]'")
pytest.importorskip("httpx", reason="FastAPI's test client needs httpx (in the dev extra)")
with warnings.catch_warnings():  # newer Starlette prefers httpx2 but still works with httpx
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402

from invdn.app.api import create_app  # noqa: E402
from invdn.app.config import ServeConfig  # noqa: E402
from invdn.cli.main import main  # noqa: E402
from invdn.io.images import read_image, write_image  # noqa: E402
from invdn.nn.sizes import count_parameters  # noqa: E402


def noisy(shape, dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max
    h, w, c = shape
    ramp = np.linspace(0.2, 0.8, w)[None, :, None] * np.ones((h, 1, c))
    return np.clip((ramp + rng.normal(0, 0.08, shape)) * top, 0, top).astype(dtype)


def encoded(img: np.ndarray, suffix: str, folder: Path) -> bytes:
    path = folder / f"enc{suffix}"
    write_image(path, img)
    return path.read_bytes()


def decoded(data: bytes, suffix: str, folder: Path) -> np.ndarray:
    path = folder / f"dec{suffix}"
    path.write_bytes(data)
    return read_image(path)




def make_client(registry, staging, **limits) -> TestClient:
    return TestClient(create_app(registry, ServeConfig(temp_dir=str(staging), **limits)))


@pytest.fixture
def client(registry, staging):
    with make_client(registry, staging) as c:
        yield c


def post(client, data: bytes, name: str = "x.png", url: str = "/api/denoise", **fields):
    return client.post(url, files={"file": (name, data)},
                       data={k: str(v).lower() if isinstance(v, bool) else str(v)
                             for k, v in fields.items()})


CASES = {  # name: image; every format, bit depth and channel layout the page accepts
    "rgb8.png": noisy((37, 45, 3)),
    "gray8.png": noisy((20, 21, 1), seed=1),
    "rgba8.png": noisy((20, 19, 4), seed=2),
    "rgb16.png": noisy((16, 24, 3), np.uint16, seed=3),
    "rgba16.png": noisy((12, 16, 4), np.uint16, seed=4),
    "gray16.tif": noisy((30, 21, 1), np.uint16, seed=5),
    "rgb8.tif": noisy((24, 28, 3), seed=6),
    "photo.jpg": noisy((32, 32, 3), seed=7),
    "gray.jpg": noisy((16, 16, 1), seed=8),
    "pic.bmp": noisy((9, 13, 3), seed=9),
    "pic.webp": noisy((24, 24, 3), seed=10),
}
MEDIA = {".png": "image/png", ".tif": "image/tiff", ".jpg": "image/jpeg", ".bmp": "image/bmp",
         ".webp": "image/webp"}


def test_models_health_and_openapi(client, registry, tiny):
    models = client.get("/api/models").json()
    assert models["default"] == "tiny" and models["device"] == "cpu"
    assert models["models"] == [{"name": "tiny", "parameters": count_parameters(tiny[0]),
                                 "source": "tiny.pt", "kind": "InvDN", "multiple": 4}]
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["queue"] == {"running": False, "waiting": 0,
                                                            "size": 8}
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/denoise", "/api/models", "/health", "/api/jobs"} <= set(paths)
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    ref = paths["/api/denoise"]["post"]["requestBody"]["content"]["multipart/form-data"]
    form = schemas[ref["schema"]["$ref"].rsplit("/", 1)[1]]["properties"]
    assert set(form) == {"file", "model", "samples", "self_ensemble", "tile", "overlap", "seed"}
    assert client.get("/docs").status_code == 200
    page = client.get("/")
    assert page.status_code == 200 and 'id="files"' in page.text
    assert client.get("/static/app.js").status_code == 200


def test_formats_depths_alpha_equal_the_cli(client, tiny, tmp_path):
    """Every case through the API gives the very bytes `invdn denoise` writes (same seed)."""
    src = tmp_path / "in"
    for name, img in CASES.items():
        write_image(src / name, img)
    assert main(["denoise", str(src), "-o", str(tmp_path / "cli"), "--checkpoint", str(tiny[1]),
                 "--seed", "3", "-q"]) == 0
    for name in CASES:
        suffix = Path(name).suffix
        r = post(client, (src / name).read_bytes(), name, seed=3)
        assert r.status_code == 200, (name, r.text)
        assert r.headers["content-type"] == MEDIA[suffix], name
        assert r.content == (tmp_path / "cli" / name).read_bytes(), name
        stem = Path(name).stem
        assert f'filename="{stem}-denoised{suffix}"' in r.headers["content-disposition"]
        out, original = decoded(r.content, suffix, tmp_path), read_image(src / name)
        assert out.shape == original.shape and out.dtype == original.dtype, name
        assert not np.array_equal(out, original), name
        if original.shape[2] == 4:
            np.testing.assert_array_equal(out[..., 3], original[..., 3])
        assert float(r.headers["x-invdn-seconds"]) > 0
        assert float(r.headers["x-invdn-noise-sigma"]) > 1.0, name  # noise of sd 0.08 is there
        assert r.headers["x-invdn-parameters"] == str(count_parameters(tiny[0]))


def test_options_match_the_cli(client, tiny, tmp_path):
    img = noisy((40, 44, 3), seed=11)
    write_image(tmp_path / "in" / "a.png", img)
    flags = ["--samples", "2", "--self-ensemble", "--tile", "16", "--overlap", "4", "--seed", "9"]
    assert main(["denoise", str(tmp_path / "in"), "-o", str(tmp_path / "cli"),
                 "--checkpoint", str(tiny[1]), "-q", *flags]) == 0
    data = (tmp_path / "in" / "a.png").read_bytes()
    r = post(client, data, samples=2, self_ensemble=True, tile=16, overlap=4, seed=9)
    assert r.status_code == 200 and r.headers["x-invdn-tiles"] == "12"  # 3 x 4 tiles
    assert r.content == (tmp_path / "cli" / "a.png").read_bytes()
    other = post(client, data, samples=2, self_ensemble=True, tile=16, overlap=4, seed=10)
    assert other.content != r.content  # the seed does pick the latent draws


def test_photo_metadata_as_the_cli(client, tiny, tmp_path):
    """A camera-like JPEG and PNG (EXIF orientation, ICC profile) come back as the CLI writes
    them, whatever metadata handling `invdn denoise` has."""
    from PIL import Image, ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = tmp_path / "in"
    src.mkdir()
    for name in ("cam.jpg", "cam.png"):
        im = Image.fromarray(noisy((24, 32, 3), seed=14))
        exif = Image.Exif()
        exif[0x0112] = 6  # orientation: rotate 90 degrees to display
        im.save(src / name, icc_profile=icc, exif=exif.tobytes(), **(
            {"quality": 87} if name.endswith(".jpg") else {}))
    assert main(["denoise", str(src), "-o", str(tmp_path / "cli"), "--checkpoint", str(tiny[1]),
                 "-q"]) == 0
    for name in ("cam.jpg", "cam.png"):
        r = post(client, (src / name).read_bytes(), name)
        assert r.status_code == 200 and r.content == (tmp_path / "cli" / name).read_bytes(), name


@pytest.mark.parametrize("data, status, words", [
    (b"", 415, "empty upload"),
    (b"hello, this is text, not an image at all", 415, "not a PNG, JPEG, TIFF"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, 422, "not a readable image"),
    (b"\xff\xd8\xff\xe0" + b"junk" * 10, 422, "not a readable image"),
    (b"II*\x00" + b"\x08\0\0\0" + b"\0" * 30, 422, "not a readable image"),
])
def test_bad_files_fail_alone(client, staging, data, status, words):
    r = post(client, data, "../../etc/evil.png")
    assert r.status_code == status and words in r.json()["detail"], r.text
    assert str(staging) not in r.text  # messages name the upload, not our staging path
    good = post(client, encoded(noisy((8, 8, 3)), ".png", staging.parent))
    assert good.status_code == 200  # the server keeps serving


def test_truncated_image_fails_alone(client, tmp_path):
    whole = encoded(noisy((64, 64, 3)), ".png", tmp_path)
    r = post(client, whole[: len(whole) // 2], "half.png")
    assert r.status_code == 422 and r.json()["detail"].startswith("half.png: "), r.text
    assert post(client, whole).status_code == 200


@pytest.mark.parametrize("fields, words", [
    ({"samples": 0}, "samples=0 must be >= 1"),
    ({"samples": 33}, "above this server's limit of 32"),
    ({"tile": 70}, "must be a multiple of 4"),
    ({"tile": 16, "overlap": 12}, "overlap"),
    ({"seed": -1}, "seed=-1 must be >= 0"),
    ({"model": "nope"}, "unknown model 'nope'"),
    ({"samples": "many"}, "samples"),
])
def test_bad_options(client, tmp_path, fields, words):
    r = post(client, encoded(noisy((8, 8, 3)), ".png", tmp_path), **fields)
    assert r.status_code == 422 and words in str(r.json()["detail"]), r.text


def test_absurd_tiling_is_refused_as_by_the_cli(client, tmp_path):
    flat = encoded(np.zeros((1000, 1000, 3), np.uint8), ".png", tmp_path)  # a few kB
    start = time.perf_counter()
    r = post(client, flat, "flat.png", tile=16, overlap=8)
    assert r.status_code == 422 and "tiles, more than 10,000; use a larger tile" in r.json()["detail"], r.text
    assert time.perf_counter() - start < 5  # refused before any denoising


def test_byte_limits(registry, staging, tmp_path):
    data = encoded(noisy((64, 64, 3)), ".png", tmp_path)  # about 12 kB of noisy pixels
    huge = b"\x89PNG\r\n\x1a\n" + bytes(200_000)  # above the cap plus the form allowance
    assert len(data) > 5000
    words = "above the server's limit of 0.005 MB per image"
    with make_client(registry, staging, max_upload_mb=0.005) as client:
        r = post(client, data)  # under the body cap: refused while staging the file
        assert r.status_code == 413 and words in r.json()["detail"]
        r = post(client, huge)  # Content-Length above the body cap: refused before parsing
        assert r.status_code == 413 and words in r.json()["detail"]
        assert r.json()["detail"].startswith("upload of 0.2 MB is")

        def chunks():  # no Content-Length (chunked): cut off while streaming
            yield (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\""
                   b"\r\nContent-Type: image/png\r\n\r\n")
            for i in range(0, len(huge), 4096):
                yield huge[i : i + 4096]
            yield b"\r\n--b--\r\n"

        r = client.post("/api/denoise", content=chunks(),
                        headers={"content-type": "multipart/form-data; boundary=b"})
        assert r.status_code == 413 and words in r.json()["detail"]
        small = encoded(noisy((8, 8, 3)), ".png", tmp_path)
        assert post(client, small).status_code == 200


def test_megapixel_limits(registry, staging, tmp_path):
    with make_client(registry, staging, max_megapixels=0.001, max_untiled_megapixels=0.0005
                     ) as client:  # one call of at most 500 pixels: tiles up to 20 px
        r = post(client, encoded(noisy((40, 40, 3)), ".png", tmp_path), "big.png", tile=16, overlap=4)
        assert r.status_code == 413
        assert r.json()["detail"] == ("big.png: 40x40 is 0.0016 MP, above this server's limit of "
                                      "0.001 MP per image; send a smaller image")
        r = post(client, encoded(noisy((24, 24, 3)), ".png", tmp_path), tile=0)
        assert r.status_code == 413 and "tile 0 (whole image at once)" in r.text
        r = post(client, encoded(noisy((24, 24, 3)), ".png", tmp_path))  # the default 512
        assert r.status_code == 422 and "above this server's largest tile, 20 px" in r.text
        assert post(client, encoded(noisy((24, 24, 3)), ".png", tmp_path), tile=16, overlap=4
                    ).status_code == 200


def wait_for(predicate, timeout=20.0):
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def test_queue_full_gives_503_with_retry_after(registry, staging, tmp_path):
    gate = threading.Event()
    with make_client(registry, staging, queue_size=1) as client:
        worker = client.app.state.worker
        process = worker.process
        worker.process = lambda job: (gate.wait(30), process(job))[1]
        data = encoded(noisy((16, 16, 3)), ".png", tmp_path)
        first = post(client, data, url="/api/jobs")
        assert first.status_code == 202 and first.json()["status"] == "queued"
        wait_for(lambda: worker.running is not None)  # the worker holds the first one
        second = post(client, data, url="/api/jobs")
        assert second.status_code == 202
        for url in ("/api/jobs", "/api/denoise"):
            busy = post(client, data, url=url)
            assert busy.status_code == 503 and "queue full" in busy.json()["detail"]
            assert 1 <= int(busy.headers["retry-after"]) <= 60
        assert client.get("/health").json()["queue"] == {"running": True, "waiting": 1,
                                                         "size": 1}
        gate.set()
        for job in (first.json()["id"], second.json()["id"]):
            wait_for(lambda j=job: client.get(f"/api/jobs/{j}").json()["status"] == "done")
        assert post(client, data).status_code == 200


def test_progress_while_running(client, tmp_path, monkeypatch):
    from invdn.app.jobs import Job

    reached, gate = threading.Event(), threading.Event()
    original = Job.progress

    def paused(self, tiles):
        for i, tile in enumerate(original(self, tiles)):
            if i == 3:  # three tiles blended, the fourth about to run
                reached.set()
                gate.wait(30)
            yield tile

    monkeypatch.setattr(Job, "progress", paused)
    data = encoded(noisy((40, 40, 3)), ".png", tmp_path)
    job = post(client, data, url="/api/jobs", tile=16, overlap=4).json()
    assert reached.wait(30)
    state = client.get(f"/api/jobs/{job['id']}").json()
    assert (state["status"], state["tiles_done"], state["tiles_total"]) == ("running", 3, 9)
    gate.set()
    wait_for(lambda: client.get(f"/api/jobs/{job['id']}").json()["status"] == "done")


def test_jobs_progress_previews_zip(client, tmp_path):
    a = noisy((40, 40, 3), np.uint16, seed=12)
    b = noisy((20, 24, 1), seed=13)
    ids = []
    for name, img, suffix in (("a.tif", a, ".tif"), ("b.png", b, ".png")):
        data = encoded(img, suffix, tmp_path)
        r = post(client, data, name, url="/api/jobs", tile=16, overlap=4)
        assert r.status_code == 202
        job = r.json()
        wait_for(lambda j=job["id"]: client.get(f"/api/jobs/{j}").json()["status"] == "done")
        info = client.get(f"/api/jobs/{job['id']}").json()
        assert info["tiles_done"] == info["tiles_total"] == (9 if name == "a.tif" else 4)
        assert (info["width"], info["height"], info["channels"], info["bit_depth"],
                info["format"]) == (img.shape[1], img.shape[0], img.shape[2],
                                    8 * img.dtype.itemsize, suffix[1:])
        result = client.get(f"/api/jobs/{job['id']}/result")
        sync = post(client, data, name, tile=16, overlap=4)
        assert result.content == sync.content  # the page's result is the API's
        for which in ("noisy", "denoised"):
            p = client.get(f"/api/jobs/{job['id']}/preview/{which}")
            assert p.headers["content-type"] == "image/png"
            preview = decoded(p.content, ".png", tmp_path)
            assert preview.dtype == np.uint8 and preview.shape == img.shape
        ids.append((job["id"], f"{Path(name).stem}-denoised{suffix}", result.content))
    z = client.get("/api/zip", params={"ids": ",".join(i for i, _, _ in ids)})
    assert z.status_code == 200 and z.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(z.content)) as zf:
        assert zf.namelist() == [n for _, n, _ in ids]
        for _, n, content in ids:
            assert zf.read(n) == content
    assert client.delete(f"/api/jobs/{ids[0][0]}").status_code == 204
    assert client.get(f"/api/jobs/{ids[0][0]}/result").status_code == 404
    assert client.get("/api/zip", params={"ids": ids[0][0]}).status_code == 404


def test_results_expire_beyond_the_byte_budget(registry, staging, tmp_path):
    with make_client(registry, staging, result_budget_mb=0.004) as client:
        data = encoded(noisy((32, 32, 3)), ".png", tmp_path)  # result + previews > 4 kB
        first = post(client, data, url="/api/jobs").json()["id"]
        wait_for(lambda: client.get(f"/api/jobs/{first}").json()["status"] == "done")
        assert client.get(f"/api/jobs/{first}/result").status_code == 200
        second = post(client, data, url="/api/jobs").json()["id"]
        wait_for(lambda: client.get(f"/api/jobs/{second}").json()["status"] == "done")
        post(client, data, url="/api/jobs")  # adding a job evicts what is over the budget
        r = client.get(f"/api/jobs/{first}/result")
        assert r.status_code == 404 and "expired" in r.json()["detail"]


def test_client_names_never_reach_the_disk(client, staging, tmp_path):
    data = encoded(noisy((8, 8, 3)), ".png", tmp_path)
    seen = []
    worker = client.app.state.worker
    process = worker.process
    worker.process = lambda job: (seen.append(job.source), process(job))[1]
    for name in ("../../outside.png", "/etc/passwd", "..\\..\\win.png", "a b;rm -rf.png", "名前.png"):
        r = post(client, data, name)
        assert r.status_code == 200, name
        disposition = r.headers["content-disposition"]
        assert ".." not in disposition and "/" not in disposition.split("filename*")[0]
        if name == "名前.png":
            assert "filename*=UTF-8''%E5%90%8D%E5%89%8D-denoised.png" in disposition
    assert [p.name for p in seen] == ["input.png"] * 5
    assert all(p.parent.parent.parent == staging for p in seen)  # staging/invdn-serve-*/job-*/
    assert not (tmp_path.parent / "outside.png").exists()
    assert not (tmp_path / "outside-denoised.png").exists()


def test_job_store_bounds_finished_jobs(monkeypatch):
    from invdn.app import jobs as jobs_module
    from invdn.app.jobs import Job, JobStore
    from invdn.app.process import Outcome

    clock = [100.0]
    monkeypatch.setattr(jobs_module.time, "monotonic", lambda: clock[0])
    store = JobStore(ttl_s=60, budget_bytes=250, max_finished=3)

    def finished(nbytes: int | None) -> Job:
        job = Job(Path("/nonexistent/input.png"), Path("/nonexistent"), None, "m", 1, "x.png")
        outcome = None if nbytes is None else Outcome(bytes(nbytes), ".png", 1, 1, 3, 8, 0, 0)
        job.end(outcome, 422 if outcome is None else 200, None if outcome else "bad")
        clock[0] += 1
        return job

    running = Job(Path("/nonexistent/input.png"), Path("/nonexistent"), None, "m", 1, "r.png")
    store.add(running)
    a, b = finished(100), finished(100)
    store.add(a)
    store.add(b)
    assert store.get(a.id) and store.get(b.id)
    c = finished(100)
    store.add(c)  # 300 bytes > 250: the oldest result goes
    assert store.get(a.id) is None and store.get(b.id) and store.get(c.id)
    failures = [finished(None) for _ in range(3)]
    for job in failures:
        store.add(job)  # no bytes, but at most 3 finished jobs are kept
    assert [j.id for j in failures if store.get(j.id)] == [j.id for j in failures]
    assert store.get(b.id) is None and store.get(c.id) is None
    clock[0] += 61
    store.evict()  # the time limit
    assert len(store) == 1 and store.get(running.id) is running  # never drops unfinished jobs
