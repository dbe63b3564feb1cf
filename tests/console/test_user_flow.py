"""A user signed in through single sign-on (the test OIDC provider's own login page) sees and manages
only their own keys, and the organisation's pages are neither in their navigation nor reachable."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.console.browser import Tab
from tests.console.pages import (
    dialog,
    expect_not_found,
    heading,
    nav_labels,
    open_secret,
    row,
    table,
    textbox,
)
from tests.console.seed import chat, create_key, get
from tests.console.signin import expect_signed_in_as, sign_in_with_sso
from tests.support import Server

pytestmark = pytest.mark.e2e

ADMIN_PAGES = (
    "/admin/usage",
    "/settings/users",
    "/settings/groups",
    "/settings/service-accounts",
    "/settings/credentials",
    "/settings/audit",
)
ADMIN_NAVIGATION = {"Organization usage", "Users", "Groups", "Service accounts", "Credentials", "Audit log"}


def test_a_user_manages_only_their_own_keys_and_never_sees_the_admin_pages(
    tab: Tab, console_server: Server, showcase: dict[str, Any]
) -> None:
    suffix = uuid.uuid4().hex[:6]
    others = create_key(console_server, f"maria-private-{suffix}", "user:maria")
    page = tab.page

    # an address opened before signing in is where single sign-on lands
    tab.goto("/settings/api-keys")
    page.wait_for_url(re.compile(r"/signin\?"))
    sign_in_with_sso(tab, "alice", "alice-pw")
    expect(page).to_have_url(re.compile(r"/settings/api-keys$"))
    expect_signed_in_as(tab, "alice")
    expect(heading(page)).to_have_text("API keys")

    labels = set(nav_labels(page))
    assert {"Home", "Models", "My usage", "API keys", "Policies"} <= labels, labels
    assert not labels & ADMIN_NAVIGATION, f"admin pages in a user's navigation: {labels & ADMIN_NAVIGATION}"

    # a key of their own, owned by them whatever they do
    name = f"alice-notebook-{suffix}"
    page.get_by_role("button", name="Create API key").first.click()
    modal = dialog(page, "Create API key")
    textbox(modal, "Name").fill(name)
    modal.get_by_role("button", name="Create", exact=True).click()
    dialog(page, "API key created")
    secret = open_secret(page)
    page.get_by_role("button", name="Go to key details").click()
    page.wait_for_url(re.compile(r"/settings/api-keys/[^/]+/details$"))
    key_id = tab.path().split("/")[3]
    assert get(console_server, f"/keys/{key_id}")["owner"] == "user:alice"
    assert chat(console_server, secret, showcase["models"][0])

    page.get_by_role("navigation", name="Headwater").get_by_role("link", name="API keys").click()
    expect(row(page, "API keys", name)).to_have_count(1)
    keys = table(page, "API keys")
    expect(keys.get_by_text(others["name"])).to_have_count(0)
    for seeded in showcase["keys"].values():
        expect(keys.get_by_text(seeded["name"], exact=True)).to_have_count(0)
    # the other user's key is not even reachable by its address
    tab.goto(f"/settings/api-keys/{others['id']}/details")
    expect(page.get_by_text(re.compile("not found|does not exist", re.IGNORECASE)).first).to_be_visible()

    # their own key: deleted from the list's kebab, by typing its name
    tab.goto("/settings/api-keys")
    row(page, "API keys", name).get_by_role("button", name=re.compile("actions", re.IGNORECASE)).click()
    page.get_by_role("menuitem", name="Delete API key").click()
    confirm = dialog(page, "Delete API key?")
    confirm.get_by_label(f"Type {name} to confirm").fill(name)
    confirm.get_by_role("button", name="Delete", exact=True).click()
    expect(confirm).to_be_hidden()
    expect(row(page, "API keys", name)).to_contain_text("Revoked")
    assert get(console_server, f"/keys/{key_id}")["status"] == "revoked"
    assert get(console_server, f"/keys/{others['id']}")["status"] == "active"

    for path in ADMIN_PAGES:
        tab.goto(path)
        expect_not_found(page)
        assert not set(nav_labels(page)) & ADMIN_NAVIGATION
