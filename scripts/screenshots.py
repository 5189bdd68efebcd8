"""Screenshots of dashboard pages at laptop and wall size, for looking at what we build.

Usage: .venv/bin/python scripts/screenshots.py URL USER PASSWORD [PATH ...]
Writes screenshots/<name>-<width>x<height>.png. Needs Chromium (CHROMIUM_PATH or `chromium` on PATH).
"""

import os
import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

SIZES = [(1366, 768), (1920, 1080)]


def main() -> None:
    base, user, password, *paths = sys.argv[1:]
    out = Path("screenshots")
    out.mkdir(exist_ok=True)
    chromium = os.getenv("CHROMIUM_PATH") or shutil.which("chromium")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        for width, height in SIZES:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(f"{base}/login/")
            page.screenshot(path=out / f"login-{width}x{height}.png")
            page.fill("#id_username", user)
            page.fill("#id_password", password)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            for path in paths or ["/"]:
                page.goto(f"{base}{path}")
                page.wait_for_load_state("networkidle")
                name = path.strip("/").replace("/", "_").replace("?", "_") or "home"
                page.screenshot(path=out / f"{name}-{width}x{height}.png")
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
