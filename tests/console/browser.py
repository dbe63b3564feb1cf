"""The browser side of the console tests: Debian's chromium driven by Playwright, one tab per test.

A :class:`Tab` is a page of a fresh browser context (its own cookies and session storage) that
records what the browser logged: uncaught errors, Content-Security-Policy violations and other
console errors, so a test can assert that a page ran clean.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Page,
    Playwright,
    Request,
    ViewportSize,
    expect,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT: ViewportSize = {"width": 1440, "height": 900}
#: How long a locator waits by default: a page's data comes from a local server in milliseconds.
TIMEOUT_MS = 10_000


def launch(playwright: Playwright) -> Browser:
    """Debian's chromium (never a downloaded browser), headless."""
    expect.set_options(timeout=TIMEOUT_MS)
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium package")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@dataclass
class Tab:
    """One page in its own context, and what its browser logged."""

    base_url: str
    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)  # uncaught exceptions
    console_errors: list[str] = field(default_factory=list)  # console.error and CSP reports
    in_flight: set[Request] = field(default_factory=set)  # requests not answered yet

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def goto(self, path: str) -> None:
        self.page.goto(self.url(path))

    def path(self) -> str:
        """The current path and query, without the origin."""
        url = self.page.url
        return url[len(self.base_url) :] if url.startswith(self.base_url) else url

    def csp_violations(self) -> list[str]:
        return [text for text in self.console_errors if "Content Security Policy" in text]

    def failed_requests(self) -> list[str]:
        return [text for text in self.console_errors if text.startswith("Failed to load resource")]

    def clean(self) -> list[str]:
        """What went wrong in the browser (uncaught errors, CSP violations, other console errors),
        4xx answers left aside: a page may ask for something the caller may not see."""
        others = [text for text in self.console_errors if not text.startswith("Failed to load resource")]
        return [*(f"uncaught: {text}" for text in self.errors), *others]

    def quiet(self, timeout: float = 10.0, calm: float = 0.15) -> None:
        """Until no request has been in flight for ``calm`` seconds (Playwright's "networkidle"
        waits a fixed 500 ms; pages here load from a local server)."""
        deadline = time.monotonic() + timeout
        calm_since = time.monotonic()
        while time.monotonic() < deadline:
            self.page.wait_for_timeout(25)
            if self.in_flight:
                calm_since = time.monotonic()
            elif time.monotonic() - calm_since >= calm:
                return
        raise AssertionError(f"requests still in flight after {timeout}s: {[r.url for r in self.in_flight]}")

    def screenshot(self, path: Path) -> None:
        """A PNG of the whole page at the viewport's width. PatternFly's page scrolls inside its main
        container, not the document, so the viewport is made as tall as that content first."""
        hidden = int(
            self.page.evaluate(
                """() => {
                    const main = document.querySelector('main.pf-v6-c-page__main');
                    return main ? Math.max(0, main.scrollHeight - main.clientHeight) : 0;
                }"""
            )
        )
        if hidden:
            self.page.set_viewport_size({"width": VIEWPORT["width"], "height": VIEWPORT["height"] + hidden})
            self.page.wait_for_timeout(300)  # charts redraw at the new size
        self.page.screenshot(path=path, full_page=True)
        if hidden:
            self.page.set_viewport_size(VIEWPORT)

    def forget_logs(self) -> None:
        self.errors.clear()
        self.console_errors.clear()


def open_tab(browser: Browser, base_url: str) -> Tab:
    context = browser.new_context(viewport=VIEWPORT, base_url=base_url)
    context.set_default_timeout(TIMEOUT_MS)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    page = context.new_page()
    tab = Tab(base_url, context, page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            location = message.location.get("url", "")
            tab.console_errors.append(f"{message.text} ({location})" if location else message.text)

    def on_error(error: Error) -> None:
        tab.errors.append(f"{error.name}: {error.message}")

    page.on("console", on_console)
    page.on("pageerror", on_error)

    def started(request: Request) -> None:
        tab.in_flight.add(request)

    def ended(request: Request) -> None:
        tab.in_flight.discard(request)

    page.on("request", started)
    page.on("requestfinished", ended)
    page.on("requestfailed", ended)
    return tab
