"""The HTML report opened in a real browser: headless Chromium (Debian's ``chromium``, which ``.ci/run``
installs when missing) driven by Playwright. The page must render from disk alone: every image loaded,
no console error, no request for anything but the file itself, and a screenshot that is not blank.

Skipped, with the reason, only where Chromium or Playwright cannot be had (``pytest -rs`` shows it)."""

import shutil
from pathlib import Path

import numpy as np
import pytest

import simroute
from simroute.report.html import write_report

from ..paths import ROOT, SCENARIOS

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium; .ci/run installs it)")
    return path


def test_report_renders_in_headless_chromium(tmp_path):
    chromium = _chromium()
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright's Python package is not installed"
    )
    result = simroute.simulate(SCENARIOS / "quickstart.yaml", duration="2h", replications=3)
    page_path = write_report(result, tmp_path / "report.html")
    url = page_path.resolve().as_uri()
    shot = tmp_path / "report.png"
    requests, console, page_errors = [], [], []
    with sync_api.sync_playwright() as p:
        # Playwright launches with a fresh temporary profile (its own --user-data-dir) every time
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.on("console", lambda m: console.append((m.type, m.text)))
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.goto(url, wait_until="load")
            images = page.evaluate(
                "Array.from(document.images).map(i => ({alt: i.alt, ok: i.complete && i.naturalWidth > 0}))"
            )
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert len(images) == 6 and all(i["ok"] for i in images), images
    assert not [c for c in console if c[0] in ("error", "warning")], console
    assert not page_errors, page_errors
    leaving = [u for u in requests if u != url and not u.startswith("data:")]
    assert not leaving, leaving
    _assert_not_blank(shot)
    keep = ROOT / "reports" / "out"
    keep.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, keep / "browser-check.png")  # for a person to look at (reports/out is ignored by git)


def _assert_not_blank(png: Path) -> None:
    from matplotlib.image import imread

    pixels = imread(str(png))[..., :3]
    assert pixels.shape[0] > 1000  # the full page: tables and six plots, not one screen of nothing
    inked = (pixels.min(axis=2) < 0.9).mean()
    assert inked > 0.02, f"only {inked:.1%} of the screenshot is not white"
    assert len(np.unique((pixels * 15).astype(int).reshape(-1, 3), axis=0)) > 20  # text, lines and colours
