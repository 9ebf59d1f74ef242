"""Headless Chromium (Debian's /usr/bin/chromium, driven by Playwright; no browser download) on a local page.

    python tests/browser.py PAGE.html [--screenshot OUT.png] [--full-page]   # makes the README's screenshot
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise FileNotFoundError("Chromium is not installed (Debian: apt-get install chromium; "
                                "infra/local/system-packages.sh does it)")
    return found


@dataclass
class PageVisit:
    """What a page did when opened: console messages, uncaught errors, requests beyond the page itself."""

    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    title: str = ""
    svg_count: int = 0
    section_ids: list[str] = field(default_factory=list)
    height: int = 0


def visit(page_path: Path, screenshot: Path | None = None, width: int = 1280, full_page: bool = False) -> PageVisit:
    from playwright.sync_api import sync_playwright

    url = page_path.resolve().as_uri()
    seen = PageVisit()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.on("console", lambda m: seen.console.append((m.type, m.text)))
            page.on("pageerror", lambda e: seen.errors.append(str(e)))

            def route(r) -> None:
                if r.request.url != url:
                    seen.requests.append(r.request.url)
                    r.abort()
                else:
                    r.continue_()

            page.route("**/*", route)
            page.goto(url, wait_until="load")
            seen.title = page.title()
            seen.svg_count = page.locator("figure svg").count()
            seen.section_ids = page.eval_on_selector_all("section", "els => els.map(e => e.id)")
            seen.height = page.evaluate("document.body.scrollHeight")
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=full_page)
        finally:
            browser.close()
    return seen


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path)
    parser.add_argument("--screenshot", type=Path)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--full-page", action="store_true")
    a = parser.parse_args()
    seen = visit(a.page, a.screenshot, a.width, a.full_page)
    print(seen)
    if seen.errors or seen.console or seen.requests:
        raise SystemExit("the page had console messages, errors or requests")
