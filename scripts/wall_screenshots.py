"""Screenshots of a wall display, every screen, at 1920x1080 and 3840x2160, for looking at what we build.

Usage: .venv/bin/python scripts/wall_screenshots.py http://127.0.0.1:8000/wall/<token>/ [--stale]
Writes screenshots/wall-<n>-<screen>-<width>x<height>.png (and wall-stale-... with --stale: the
server answering 500, as the TV shows it). Needs Chromium (CHROMIUM_PATH or `chromium` on PATH).
"""

import os
import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

SIZES = [(1920, 1080), (3840, 2160)]
SHOW = """n => ['.wall-screen', '.wall-dots li'].forEach(
    (selector) => document.querySelectorAll(selector).forEach((s, i) => s.classList.toggle('is-current', i === n)))"""


def main() -> None:
    url, *flags = sys.argv[1:]
    out = Path("screenshots")
    out.mkdir(exist_ok=True)
    chromium = os.getenv("CHROMIUM_PATH") or shutil.which("chromium")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        for width, height in SIZES:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(url)
            page.wait_for_load_state("networkidle")
            keys = page.eval_on_selector_all(".wall-screen", "all => all.map(s => s.dataset.key)")
            for n, key in enumerate(keys):
                page.evaluate(SHOW, n)
                page.screenshot(path=out / f"wall-{n + 1}-{key.replace(':', '')}-{width}x{height}.png")
            if "--stale" in flags:
                page.route("**/screens/", lambda route: route.fulfill(status=500, body="Server Error"))
                page.wait_for_selector("#wall-conn", state="visible")
                page.screenshot(path=out / f"wall-stale-{width}x{height}.png")
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
