"""Every page of the console, on real data, checked with axe-core: no serious or critical violation,
one h1, nothing failing in the browser (uncaught errors, Content-Security-Policy violations, console
errors, failed requests). With HEADWATER_SCREENSHOT_DIR set, a full-page PNG of each page is saved
there (`make screenshots` writes docs/console/)::

    HEADWATER_SCREENSHOT_DIR=docs/console .venv/bin/python -m pytest tests/console -k accessibility
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from tests.console.axe import blocking, describe, run_axe
from tests.console.browser import Tab
from tests.console.pages import dialog
from tests.console.seed import chat, create_key, wait_for_usage
from tests.console.signin import sign_in_with_sso, sign_in_with_token
from tests.support import Server

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Stop:
    """A page of the walk: its screenshot's name, its address, and what to do there first."""

    name: str
    path: str
    then: Callable[[Page], None] | None = None


def modal(title: str) -> Callable[[Page], None]:
    return lambda page: expect(dialog(page, title)).to_be_visible()


def click_then_modal(button: str, title: str) -> Callable[[Page], None]:
    def act(page: Page) -> None:
        page.get_by_role("button", name=button).first.click()
        expect(dialog(page, title)).to_be_visible()

    return act


def menu_exposed(title: str, combobox: str) -> Callable[[Page], None]:
    """In the open modal ``title``, the options of the typeahead ``combobox`` reach assistive
    technology: a menu rendered outside the modal is hidden by it (aria-hidden) from screen readers."""

    def act(page: Page) -> None:
        modal = dialog(page, title)
        field = modal.get_by_role("combobox", name=combobox, exact=True)
        field.click()
        field.press_sequentially("a")  # typing re-renders the modal, as choosing does
        expect(field).to_have_attribute("aria-expanded", "true")
        listbox = page.get_by_role("listbox")
        if not listbox.count() and page.get_by_role("listbox", include_hidden=True).count():
            raise AssertionError(
                f"the options of {combobox!r} are hidden from assistive technology (aria-hidden)"
            )
        expect(listbox.first).to_be_visible()
        field.fill("")
        modal.get_by_role("heading").first.click()  # close it again, as a person clicks away
        modal.locator(".pf-v6-c-modal-box__body").evaluate("body => body.scrollTo(0, 0)")

    return act


def steps(*actions: Callable[[Page], None]) -> Callable[[Page], None]:
    def act(page: Page) -> None:
        for action in actions:
            action(page)

    return act


def admin_walk(showcase: dict[str, Any]) -> list[Stop]:
    key = showcase["keys"]["notebook"]["id"]
    model = showcase["models"][0]
    return [
        Stop("home", "/"),
        Stop("api-keys", "/settings/api-keys"),
        Stop(
            "create-api-key",
            "/settings/api-keys?create=1",
            steps(modal("Create API key"), menu_exposed("Create API key", "User name")),
        ),
        *(
            Stop(f"key-details-{tab}", f"/settings/api-keys/{key}/{tab}")
            for tab in ("details", "assets", "metrics", "policies", "settings")
        ),
        Stop("policies", "/settings/policies"),
        Stop(
            "create-policy",
            "/settings/policies",
            steps(
                click_then_modal("Create policy", "Create policy"), menu_exposed("Create policy", "Groups")
            ),
        ),
        Stop("policy-details", "/settings/policies/data-science-standard"),
        Stop("models", "/ai-assets/models"),
        Stop("add-asset", "/ai-assets/models?add=1", modal("Add asset")),
        Stop("model-details", f"/ai-assets/models/{model}"),
        Stop("usage-admin-token", "/usage"),
        Stop("admin-usage", "/admin/usage"),
        Stop("users", "/settings/users"),
        Stop("groups", "/settings/groups"),
        Stop("service-accounts", "/settings/service-accounts"),
        Stop("credentials", "/settings/credentials"),
        Stop("set-credential", "/settings/credentials", click_then_modal("Set credential", "Set credential")),
        Stop("audit", "/settings/audit"),
        Stop("not-found", "/no-such-page"),
    ]


USER_WALK = [Stop("usage", "/usage"), Stop("home-user", "/"), Stop("api-keys-user", "/settings/api-keys")]


def screenshot_dir() -> Path | None:
    configured = os.environ.get("HEADWATER_SCREENSHOT_DIR")
    if not configured:
        return None
    directory = Path(configured)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def settle(tab: Tab) -> None:
    """The page has drawn its title and finished loading what it shows."""
    page = tab.page
    expect(page.get_by_role("heading", level=1).first).to_be_visible()
    expect(page.locator(".pf-v6-c-spinner")).to_have_count(0)
    tab.quiet()
    expect(page.locator(".pf-v6-c-spinner")).to_have_count(0)


def check(tab: Tab, stop: Stop, screenshots: Path | None) -> list[str]:
    """Visit one stop; what is wrong there (empty: nothing)."""
    page = tab.page
    tab.forget_logs()
    if stop.path != "/signin" or not tab.path().startswith("/signin"):
        tab.goto(stop.path)
    problems = []
    try:
        settle(tab)
    except AssertionError as error:
        problems.append(f"did not load: {str(error).splitlines()[0]}")
    if stop.then is not None and not problems:
        try:
            stop.then(page)
            settle(tab)
        except (AssertionError, PlaywrightError) as error:
            problems.append(f"failed: {str(error).splitlines()[0]}")
    headings = page.get_by_role("heading", level=1).count()
    if headings != 1 and not page.get_by_role("dialog").count():
        problems.append(f"{headings} h1 headings (one expected)")
    found = blocking(run_axe(page))
    if found:
        problems.append("axe:\n" + describe(found))
    problems += [f"browser: {text}" for text in (*tab.clean(), *tab.failed_requests())]
    if screenshots is not None:
        tab.screenshot(screenshots / f"{stop.name}.png")
    return problems


def report(results: dict[str, list[str]]) -> str:
    return "\n".join(
        f"{name} ({len(problems)}):\n  " + "\n  ".join(problems) for name, problems in results.items()
    )


def test_accessibility_of_every_page_on_real_data(
    tab: Tab, second_tab: Tab, console_server: Server, showcase: dict[str, Any]
) -> None:
    screenshots = screenshot_dir()
    results: dict[str, list[str]] = {}

    response = tab.page.goto(tab.url("/signin"))
    assert response is not None
    policy = dict(
        part.strip().partition(" ")[::2] for part in response.headers["content-security-policy"].split(";")
    )
    assert policy["script-src"] == "'self'", policy  # kept on: axe runs through DevTools, not a <script>
    results["signin"] = check(tab, Stop("signin", "/signin"), screenshots)
    sign_in_with_token(tab, console_server.token)
    for stop in admin_walk(showcase):
        results[stop.name] = check(tab, stop, screenshots)

    # a user's own pages, with their own traffic
    sign_in_with_sso(second_tab, "alice", "alice-pw")
    own = create_key(console_server, "alice-walkthrough", "user:alice", description="Alice's notebook")
    for turn in range(3):
        chat(console_server, own["key"], showcase["models"][turn % 2], f"Question {turn}")
    wait_for_usage(console_server, 3, key_id=own["id"])
    for stop in USER_WALK:
        results[stop.name] = check(second_tab, stop, screenshots)

    failing = {name: problems for name, problems in results.items() if problems}
    assert not failing, f"{len(failing)} of {len(results)} pages have problems:\n{report(failing)}"
