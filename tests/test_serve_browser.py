"""The `invdn serve` page driven in headless Chromium (Debian's chromium + chromium-driver,
through selenium): upload noisy images (file picker and drag and drop), wait for the results,
move the before/after slider, zoom, download one result and the zip, and inspect a screenshot
(not blank, result panel visible). Skipped only where Chromium or its driver is not installed
(.ci/run installs them).

`python tests/test_serve_browser.py docs/figures/serve.png` makes docs/serve.md's screenshot with
the shipped default weights.
"""

from __future__ import annotations

import io
import re
import shutil
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for test_serve_process as a script
from test_serve_process import running_server  # noqa: E402

from invdn.io.images import read_image, write_image  # noqa: E402

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser",
                                                 "google-chrome"))), None)
DRIVER = shutil.which("chromedriver")
WINDOW = (1280, 1500)


def noisy_photo(size: int, sigma: float, seed: int = 0, gray16: bool = False) -> np.ndarray:
    """A crop of scikit-image's astronaut with Gaussian noise of `sigma` (0–255 scale)."""
    from skimage import data

    img = data.astronaut()[30 : 30 + size, 110 : 110 + size].astype(np.float64)  # size <= 400
    if gray16:
        img = img.mean(axis=2, keepdims=True)
    img += np.random.default_rng(seed).normal(0, sigma, img.shape)
    if gray16:
        return np.clip(img * 257, 0, 65535).astype(np.uint16)
    return np.clip(img, 0, 255).astype(np.uint8)


def inset_left(clip: str) -> float:
    """The left inset of a computed `inset(…)` clip path (CSS shorthand: 1 to 4 lengths)."""
    values = [float(v) for v in re.findall(r"(-?[\d.]+)px", clip)]
    assert clip.startswith("inset(") and 1 <= len(values) <= 4, clip
    return values[{1: 0, 2: 1, 3: 1, 4: 3}[len(values)]]


def start_browser(downloads: Path, window: tuple[int, int] = WINDOW):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={window[0]},{window[1]}", "--force-device-scale-factor=1",
                "--hide-scrollbars"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": str(downloads)})
    return driver


def wait(predicate, timeout: float, what: str):
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)


def downloaded(folder: Path, name: str, timeout: float = 30.0) -> bytes:
    path = folder / name
    wait(lambda: path.is_file() and not list(folder.glob("*.crdownload")), timeout,
         f"the download {name}")
    return path.read_bytes()


def upload_and_wait(driver, url: str, files: list[Path], model: str | None = None,
                    timeout: float = 300.0) -> list:
    """Open the page, pick `model`, upload `files` through the file input, wait until every row
    is done; the rows' elements."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.get(url)
    wait(lambda: driver.find_elements(By.CSS_SELECTOR, "#model option"), 30, "the models")
    if model:
        Select(driver.find_element(By.ID, "model")).select_by_value(model)
    driver.find_element(By.ID, "files").send_keys("\n".join(str(f) for f in files))

    def rows():
        found = driver.find_elements(By.CSS_SELECTOR, "#jobs li")
        states = [r.get_attribute("data-status") for r in found]
        assert "failed" not in states, [r.text for r in found]
        return found if len(found) == len(files) and set(states) == {"done"} else None

    return wait(rows, timeout, "the results")


@pytest.mark.skipif(CHROMIUM is None or DRIVER is None,
                    reason="Chromium and chromedriver are not installed "
                           "(Debian: apt-get install chromium chromium-driver)")
def test_page_in_headless_chromium(tmp_path, tiny):
    pytest.importorskip("selenium", reason="the browser test needs selenium (dev extra)")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    photo, gray = tmp_path / "astronaut noisy.png", tmp_path / "gray16.tif"
    write_image(photo, noisy_photo(160, 25))
    write_image(gray, noisy_photo(96, 25, seed=1, gray16=True))
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with running_server(["--checkpoint", str(tiny[1])], tmp_path / "srv") as (url, _p, _log):
        driver = start_browser(downloads)
        try:
            rows = upload_and_wait(driver, url, [photo, gray], model="tiny")
            assert "noise σ ≈" in rows[0].text and "160×160 8-bit PNG" in rows[0].text
            assert "96×96 16-bit TIF" in rows[1].text
            bar = rows[0].find_element(By.TAG_NAME, "progress")
            assert bar.get_attribute("value") == bar.get_attribute("max") == "1"

            viewer = driver.find_element(By.ID, "viewer")
            wait(viewer.is_displayed, 10, "the result panel")
            rows[0].click()  # the first to finish is shown; show the photo
            wait(lambda: driver.execute_script(
                "return document.getElementById('after').naturalWidth") == 160, 10,
                "the previews")
            info = driver.find_element(By.ID, "viewer-info").text
            assert "Estimated noise σ ≈" in info and "parameters" in info and " s with" in info
            assert "with “tiny” (" in info and "160×160 RGB, 8-bit PNG" in info

            # the slider: keyboard moves it; the clip of the denoised layer and the divider follow
            slider = driver.find_element(By.ID, "slider")
            stage_w = driver.find_element(By.ID, "stage").rect["width"]

            def clip_left() -> float:  # where the denoised layer starts, in CSS px
                return inset_left(driver.execute_script(
                    "return getComputedStyle(document.getElementById('after')).clipPath"))

            assert clip_left() == pytest.approx(stage_w / 2, abs=1)
            slider.send_keys(Keys.HOME)
            assert clip_left() == 0
            slider.send_keys(Keys.END)
            assert clip_left() == pytest.approx(stage_w, abs=1)
            for _ in range(40):
                slider.send_keys(Keys.LEFT)  # 20 steps of 0.5: back to 80 %
            assert slider.get_attribute("value") == "80"

            # zoom on a region: a click zooms 4x around it, "fit" goes back
            driver.find_element(By.ID, "stage").click()
            frame = driver.find_element(By.ID, "frame")
            assert "scale(4)" in frame.get_attribute("style")
            driver.find_element(By.CSS_SELECTOR, "#toolbar button[data-zoom='1']").click()
            assert "scale(1)" in frame.get_attribute("style")

            # downloads: the shown result in its own format, then both as a zip
            job_id = driver.find_element(By.ID, "download").get_attribute("href").split("/")[-2]
            with urllib.request.urlopen(f"{url}api/jobs/{job_id}/result") as r:
                result = r.read()
            driver.find_element(By.ID, "download").click()
            data = downloaded(downloads, "astronaut_noisy-denoised.png")
            assert data == result
            (tmp_path / "d.png").write_bytes(data)
            out = read_image(tmp_path / "d.png")
            assert out.shape == (160, 160, 3) and out.dtype == np.uint8
            zip_link = driver.find_element(By.ID, "zip")
            assert zip_link.is_displayed() and "all 2" in zip_link.text
            zip_link.click()
            with zipfile.ZipFile(io.BytesIO(downloaded(downloads, "invdn-denoised.zip"))) as zf:
                assert zf.namelist() == ["astronaut_noisy-denoised.png", "gray16-denoised.tif"]
                assert zf.read("astronaut_noisy-denoised.png") == result

            # drag and drop: a file dropped on the zone is queued like a picked one
            driver.execute_async_script("""
                const done = arguments[arguments.length - 1];
                const blob = await (await fetch(arguments[0])).blob();
                const dt = new DataTransfer();
                dt.items.add(new File([blob], "dropped.png", {type: "image/png"}));
                for (const type of ["dragenter", "dragover", "drop"]) {
                  document.getElementById("drop").dispatchEvent(
                    new DragEvent(type, {dataTransfer: dt, bubbles: true, cancelable: true}));
                }
                done();""", f"{url}api/jobs/{job_id}/preview/noisy")
            wait(lambda: [r.get_attribute("data-status") for r in driver.find_elements(
                By.CSS_SELECTOR, "#jobs li")] == ["done"] * 3, 60, "the dropped image")
            assert "dropped.png" in driver.find_elements(By.CSS_SELECTOR, "#jobs li")[2].text
            assert "all 3" in zip_link.text

            shot = tmp_path / "page.png"
            assert driver.save_screenshot(str(shot))
            panel = viewer.rect
            stage = driver.find_element(By.ID, "stage").rect
        finally:
            driver.quit()
    inspect_screenshot(read_image(shot), panel, stage)


HOLD_UPLOADS = """
    // uploads wait until window.releaseUploads() is called: rows stay uploading / waiting
    const release = new Promise((resolve) => { window.releaseUploads = resolve; });
    const realFetch = window.fetch;
    window.fetch = async (url, options) => {
      if (options && options.method === "POST") await release;
      return realFetch(url, options);
    };"""


@pytest.mark.skipif(CHROMIUM is None or DRIVER is None,
                    reason="Chromium and chromedriver are not installed "
                           "(Debian: apt-get install chromium chromium-driver)")
def test_rows_on_a_390_px_phone(tmp_path, tiny):
    """Issue 26: Download only on done rows (not waiting, uploading or failed ones), nothing
    wider than a 390-px viewport, failures worded for web users and shown whole, a rotated
    photo's displayed size, and the API docs link saying it needs the internet."""
    pytest.importorskip("selenium", reason="the browser test needs selenium (dev extra)")
    from PIL import Image
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    good, bad, big = tmp_path / "good.png", tmp_path / "bad.png", tmp_path / "big.png"
    write_image(good, noisy_photo(64, 25))
    bad.write_bytes(b"this is text, not an image " * 4)
    write_image(big, noisy_photo(200, 25))  # 0.04 MP: over the server's 0.01 MP
    rotated = tmp_path / "a-rather-long-file-name-of-a-portrait-photo-from-a-phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 48 wide and 32 high, displayed 32 wide and 48 high
    Image.fromarray(noisy_photo(48, 25)[:32]).save(rotated, exif=exif.tobytes())
    files = [good, bad, big, rotated]
    with running_server(["--checkpoint", str(tiny[1]), "--max-megapixels", "0.01"],
                        tmp_path / "srv") as (url, _p, _log):
        driver = start_browser(tmp_path)
        try:
            # a phone's viewport (Chromium's windows are at least 500 px wide)
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                "width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
            driver.get(url)
            wait(lambda: driver.find_elements(By.CSS_SELECTOR, "#model option"), 30, "models")
            Select(driver.find_element(By.ID, "model")).select_by_value("tiny")
            assert driver.execute_script("return window.innerWidth") == 390
            nav = driver.find_element(By.TAG_NAME, "nav").text
            assert "needs the internet" in nav and "works offline" in nav
            assert driver.find_element(By.ID, "schema").get_attribute("href").endswith(
                "/openapi.json")

            driver.execute_script(HOLD_UPLOADS)
            driver.find_element(By.ID, "files").send_keys("\n".join(map(str, files)))

            def rows():
                found = driver.find_elements(By.CSS_SELECTOR, "#jobs li")
                return [(r.get_attribute("data-status"),
                         r.find_element(By.CSS_SELECTOR, ".download").is_displayed())
                        for r in found]

            wait(lambda: len(rows()) == 4, 10, "four rows")
            held = rows()
            assert {s for s, _ in held} == {"uploading", "waiting"}, held
            assert not any(shown for _, shown in held), held  # no Download before a result

            driver.execute_script("window.releaseUploads()")
            wait(lambda: all(s in ("done", "failed") for s, _ in rows()), 120, "the results")
            assert rows() == [("done", True), ("failed", False), ("failed", False),
                              ("done", True)]

            li = driver.find_elements(By.CSS_SELECTOR, "#jobs li")
            assert "32×48 8-bit JPG" in li[3].text  # as the photo displays
            for row in li[1:3]:  # failures: worded for a web user, wrapped, not cut
                state = row.find_element(By.CSS_SELECTOR, ".state")
                assert "--" not in state.text and state.text
                assert driver.execute_script(
                    "return arguments[0].scrollWidth <= arguments[0].clientWidth", state)
            assert "send a smaller image" in li[2].text
            assert driver.execute_script(
                "return document.documentElement.scrollWidth") <= 390
            for element in li + [driver.find_element(By.ID, "drop"),
                                 driver.find_element(By.ID, "controls")]:
                rect = element.rect
                assert rect["x"] >= 0 and rect["x"] + rect["width"] <= 390, rect
        finally:
            driver.quit()


def inspect_screenshot(img: np.ndarray, panel: dict, stage: dict) -> None:
    """The screenshot is not blank, the result panel lies inside it, and the before/after stage
    shows an image (varied pixels, not the page background)."""
    rgb = img[..., :3].astype(np.float64)
    assert rgb.std() > 20, "blank screenshot"
    h, w = img.shape[:2]
    assert panel["y"] + panel["height"] <= h and panel["x"] + panel["width"] <= w, \
        "the result panel is outside the screenshot"
    y, x = int(stage["y"]), int(stage["x"])
    region = rgb[y : y + int(stage["height"]), x : x + int(stage["width"])]
    assert region.size and region.std() > 20, "the before/after stage shows no image"
    assert len(np.unique(region.reshape(-1, 3), axis=0)) > 1000


def make_readme_screenshot(target: Path) -> None:
    """Serve the default weights, denoise two noisy photos on the page, screenshot it."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        photo, gray = tmp / "astronaut-noisy.png", tmp / "astronaut-gray16.tif"
        write_image(photo, noisy_photo(384, 25))
        write_image(gray, noisy_photo(192, 15, seed=1, gray16=True))
        with running_server([], tmp / "srv", threads=2) as (url, _p, _log):
            driver = start_browser(tmp, window=(1200, 1200))
            try:
                from selenium.webdriver.common.by import By

                upload_and_wait(driver, url, [photo, gray])[0].click()

                wait(lambda: driver.execute_script(
                    "return document.getElementById('after').naturalWidth") == 384, 10,
                    "the previews")
                driver.find_element(By.CSS_SELECTOR, "#toolbar button[data-zoom='2']").click()
                driver.save_screenshot(str(tmp / "page.png"))
                inspect_screenshot(read_image(tmp / "page.png"),
                                   driver.find_element(By.ID, "viewer").rect,
                                   driver.find_element(By.ID, "stage").rect)
            finally:
                driver.quit()
        shutil.copyfile(tmp / "page.png", target)
    print(f"wrote {target}")


if __name__ == "__main__":
    make_readme_screenshot(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/figures/serve.png"))
