"""Screenshots of dashboard pages at laptop and wall size, light and dark, for looking at what we build.

Usage: .venv/bin/python scripts/screenshots.py URL USER PASSWORD [PATH ...]
Without paths: every page, and the first row's detail page of each list.
Writes screenshots/<name>-<width>x<height>[-dark].png. Needs Chromium (CHROMIUM_PATH or `chromium` on PATH).
"""

import os
import shutil
import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

SIZES = [(1366, 768), (1920, 1080)]
PAGES = ["/", "/clusters/", "/profiles/", "/edge-hosts/", "/edge-hosts/sites/", "/timeline/", "/sync/"]
DETAILS = {"/clusters/": "#table td.name a", "/profiles/": "#table td a", "/edge-hosts/": "#table td.name a"}


def log_in(page: Page, base: str, user: str, password: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", user)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def detail_paths(page: Page, base: str) -> list[str]:
    """The first row's detail page of each list."""
    found = []
    for path, link in DETAILS.items():
        page.goto(f"{base}{path}")
        first = page.locator(link).first
        if first.count():
            found.append(first.get_attribute("href"))
    return found


def main() -> None:
    base, user, password, *paths = sys.argv[1:]
    out = Path("screenshots")
    out.mkdir(exist_ok=True)
    chromium = os.getenv("CHROMIUM_PATH") or shutil.which("chromium")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        for scheme in ("light", "dark"):
            for width, height in SIZES:
                page = browser.new_page(viewport={"width": width, "height": height}, color_scheme=scheme)
                suffix = f"-{width}x{height}" + ("-dark" if scheme == "dark" else "")
                page.goto(f"{base}/login/")
                page.screenshot(path=out / f"login{suffix}.png")
                log_in(page, base, user, password)
                for path in paths or [*PAGES, *detail_paths(page, base)]:
                    page.goto(f"{base}{path}")
                    page.wait_for_load_state("networkidle")
                    name = path.strip("/").replace("/", "_").replace("?", "_") or "home"
                    page.screenshot(path=out / f"{name}{suffix}.png")
                page.close()
        browser.close()


if __name__ == "__main__":
    main()
