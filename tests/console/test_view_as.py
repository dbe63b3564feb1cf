"""An admin "views as" a user: a banner says so, the console is the user's and read-only (no create
or delete actions), and the audit trail records it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.console.browser import Tab
from tests.console.pages import heading, nav_labels, row, table
from tests.console.seed import admin_call
from tests.console.signin import sign_in_with_token
from tests.support import Server

pytestmark = pytest.mark.e2e


def test_an_admin_views_the_console_as_a_user_read_only(
    tab: Tab, console_server: Server, showcase: dict[str, Any]
) -> None:
    page = tab.page
    sign_in_with_token(tab, console_server.token)
    before = {
        e["seq"]
        for e in admin_call(console_server, "GET", "/audit/events", params={"action": "user.view_as"})[
            "items"
        ]
    }

    page.get_by_role("banner").get_by_role("button", name=re.compile("Administrator")).click()
    page.get_by_role("menuitem", name=re.compile("View as user")).click()
    modal = page.get_by_role("dialog", name="View as user")
    modal.get_by_label("Find a user").fill("maria")
    modal.get_by_text("maria", exact=True).click()
    modal.get_by_role("button", name="View as maria").click()

    banner = page.get_by_text(re.compile(r"Viewing as\s*maria, read-only"))
    expect(banner).to_be_visible()
    expect(heading(page)).to_have_text("Welcome, maria")
    assert not {"Users", "Groups", "Audit log", "Organization usage"} & set(nav_labels(page))

    tab.goto("/settings/api-keys")
    expect(banner).to_be_visible()
    expect(row(page, "API keys", showcase["keys"]["notebook"]["name"])).to_have_count(1)
    expect(
        table(page, "API keys").get_by_text(showcase["keys"]["ci-pipeline"]["name"], exact=True)
    ).to_have_count(0)
    expect(page.get_by_role("button", name="Create API key")).to_have_count(0)
    row(page, "API keys", "notebook").get_by_role("button", name=re.compile("actions", re.IGNORECASE)).click()
    expect(page.get_by_role("menuitem", name="View details")).to_be_visible()
    expect(page.get_by_role("menuitem", name="Delete API key")).to_have_count(0)
    page.keyboard.press("Escape")

    page.get_by_role("link", name="notebook").click()
    page.get_by_role("tab", name="Settings").click()
    for action in ("Rotate key", "Disable key", "Delete API key"):
        expect(page.get_by_role("button", name=action)).to_have_count(0)
    tab.goto("/settings/policies")
    expect(heading(page)).to_have_text("Policies")
    expect(page.get_by_role("button", name="Create policy")).to_have_count(0)
    tab.goto("/ai-assets/models")
    expect(page.get_by_role("button", name="Add asset")).to_have_count(0)

    events = admin_call(console_server, "GET", "/audit/events", params={"action": "user.view_as"})["items"]
    new = [event for event in events if event["seq"] not in before]
    assert len(new) == 1, new
    assert (
        new[0]["target_id"] == "maria"
        and new[0]["actor"] == "admin:bootstrap"
        and new[0]["outcome"] == "success"
    )

    page.get_by_role("button", name="Stop viewing as maria").click()
    expect(banner).to_have_count(0)
    expect(heading(page)).to_have_text(re.compile("^Welcome"))
    expect(
        page.get_by_role("navigation", name="Headwater").get_by_role("link", name="Audit log")
    ).to_be_visible()
