"""Fixtures of the console's end-to-end tests: ONE simulator, ONE OIDC provider and ONE
`headwater serve` (SQLite, an admin token, single sign-on) for every test of this folder, ONE
browser (Debian's chromium), and a fresh browser context per test.

The console must have been built (`make console`) into src/headwater/console: these tests drive
what `headwater serve` really serves.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.console.browser import Tab, launch, open_tab
from tests.console.seed import seed_showcase
from tests.oidc_provider import OidcProvider, oidc_env
from tests.support import Server, Sim, start_server, start_sim, stop

CONSOLE_DIR = Path(__file__).resolve().parents[2] / "src" / "headwater" / "console"


@pytest.fixture(scope="package")
def built_console() -> Path:
    if not (CONSOLE_DIR / "index.html").exists():
        pytest.fail(
            f"The console is not built ({CONSOLE_DIR / 'index.html'} is missing): run `make console` "
            "(or `cd ui && npx vite build`) first.",
            pytrace=False,
        )
    return CONSOLE_DIR


@pytest.fixture(scope="package")
def sim_starting() -> Iterator[Future[Sim]]:
    """The simulator, started in the background while the server starts (both take seconds)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(start_sim)
        yield future
        if future.exception() is None:
            stop(future.result().process)


@pytest.fixture(scope="package")
def sim(sim_starting: Future[Sim]) -> Sim:
    """This folder's one simulator (no delays, any model name)."""
    return sim_starting.result(timeout=60)


@pytest.fixture(scope="package")
def console_server(
    built_console: Path,
    sim_starting: Future[Sim],
    oidc: OidcProvider,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    """`headwater serve` on SQLite, with the admin token and sign-in through the test provider."""
    database = tmp_path_factory.mktemp("console-db") / "headwater.db"
    started = start_server(f"sqlite+aiosqlite:///{database}", extra_env=oidc_env(oidc))
    oidc.add_redirect_uris([f"{started.url}/auth/callback"])
    yield started
    stop(started.process)


# Package scope, not session: while sync_playwright() is open it holds a running asyncio loop in
# this thread, and every later test that runs a loop of its own (asyncio.run) would fail.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()


@pytest.fixture
def tab(browser: Browser, console_server: Server) -> Iterator[Tab]:
    """A page in a fresh browser context (no cookies, no session storage); after the test, nothing
    the browser ran may have failed uncaught or broken the Content-Security-Policy."""
    opened = open_tab(browser, console_server.url)
    yield opened
    problems = [*(f"uncaught: {text}" for text in opened.errors), *opened.csp_violations()]
    opened.context.close()
    assert not problems, "the browser logged:\n" + "\n".join(problems)


@pytest.fixture
def second_tab(browser: Browser, console_server: Server) -> Iterator[Tab]:
    """Another person's browser (its own context) in the same test."""
    opened = open_tab(browser, console_server.url)
    yield opened
    opened.context.close()


@pytest.fixture(scope="package")
def showcase(console_server: Server, sim: Sim) -> dict[str, Any]:
    """A small organisation with real traffic (see :func:`tests.console.seed.seed_showcase`)."""
    return seed_showcase(console_server, sim)
