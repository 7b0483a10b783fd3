"""Test helper: open a page in Debian's headless Chromium (``/usr/bin/chromium``) through Playwright, and
record what it did: console messages, page errors, every request, and whether anything was blocked.

Only the system browser is used (never one downloaded by ``playwright install``); when it or Playwright is
missing, :func:`require_chromium` skips the test with the reason. Requests to anything other than ``file:``
and ``data:`` URLs are aborted and recorded, so a page that reaches for the network fails its test instead
of waiting for a timeout.

    from browser import open_page

    with open_page(path) as visit:
        assert not visit.console_errors
        png = visit.page.locator("#map").screenshot()
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

#: Debian's chromium package installs its launcher here (apt-get install chromium).
CHROMIUM = Path("/usr/bin/chromium")
#: URL schemes a self-contained page may load.
LOCAL_SCHEMES = ("file:", "data:", "about:")
#: Default viewport, CSS pixels.
VIEWPORT = {"width": 1280, "height": 900}
#: Time allowed for a local page to load, milliseconds (a big report on a busy 2-core machine).
LOAD_TIMEOUT_MS = 60_000


def require_chromium(executable: Path | None = None) -> Path:
    """The system Chromium's path; skip the calling test, saying why, when it or Playwright is missing."""
    executable = CHROMIUM if executable is None else executable
    if not executable.exists():
        pytest.skip(f"headless browser test needs Debian's Chromium at {executable} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("headless browser test needs Playwright for Python (pip install playwright); "
                    "it drives the system Chromium, no 'playwright install' needed")
    return executable


@dataclass
class PageVisit:
    """What happened while a page was open."""

    page: object
    console: list[tuple[str, str]] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def console_errors(self) -> list[str]:
        """Console messages of type error or warning, and uncaught page errors."""
        return [text for kind, text in self.console if kind in ("error", "warning")] + self.page_errors

    @property
    def non_local_requests(self) -> list[str]:
        return [url for url in self.requests if not url.startswith(LOCAL_SCHEMES)]


@contextlib.contextmanager
def open_page(target: Path | str, *, viewport: dict | None = None, executable: Path | None = None):
    """Open a local file (or URL) in headless Chromium and yield a :class:`PageVisit` after the load event.

    Non-local requests are aborted and listed in ``visit.blocked``.
    """
    executable = require_chromium(executable)
    from playwright.sync_api import sync_playwright

    url = target.resolve().as_uri() if isinstance(target, Path) else str(target)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), headless=True)
        try:
            context = browser.new_context(viewport=viewport or VIEWPORT, device_scale_factor=1,
                                          service_workers="block")
            page = context.new_page()
            visit = PageVisit(page=page)
            page.on("console", lambda message: visit.console.append((message.type, message.text)))
            page.on("pageerror", lambda error: visit.page_errors.append(str(error)))
            page.on("request", lambda request: visit.requests.append(request.url))
            page.on("requestfailed", lambda request: visit.failed.append(request.url))

            def guard(route):
                if route.request.url.startswith(LOCAL_SCHEMES):
                    route.continue_()
                else:
                    visit.blocked.append(route.request.url)
                    route.abort()

            context.route("**/*", guard)
            page.goto(url, wait_until="load", timeout=LOAD_TIMEOUT_MS)
            yield visit
        finally:
            browser.close()
