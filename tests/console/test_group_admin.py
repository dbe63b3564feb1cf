"""A group admin (an OIDC user made admin of their group through the admin API) manages their group's
service accounts and those accounts' keys, and nothing of another group."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.console.browser import Tab
from tests.console.pages import (
    choose_owner,
    dialog,
    heading,
    nav_labels,
    offered_options,
    open_secret,
    row,
    select_option,
    textbox,
)
from tests.console.seed import admin_call, client_with_cookies, ensure, get
from tests.console.signin import sign_in_with_sso
from tests.oidc_provider import OidcProvider
from tests.support import Server

pytestmark = pytest.mark.e2e


def test_a_group_admin_manages_their_groups_service_account_keys(
    tab: Tab, console_server: Server, oidc: OidcProvider
) -> None:
    suffix = uuid.uuid4().hex[:6]
    team, other = f"platform-{suffix}", f"finance-{suffix}"
    lead = f"gina-{suffix}"
    oidc.set_user(lead, password="gina-pw", email=f"{lead}@example.com", groups=[team])
    ensure(console_server, "/groups", other, {"description": "Another team"})
    foreign = ensure(console_server, "/service-accounts", f"ledger-{suffix}", {"group": other})
    page = tab.page

    sign_in_with_sso(tab, lead, "gina-pw")  # creates the user and their group, as the provider says
    admin_call(
        console_server, "PUT", f"/groups/{team}", json={"description": "Platform team", "admins": [lead]}
    )
    tab.goto("/settings/service-accounts")
    expect(heading(page)).to_have_text("Service accounts")
    labels = set(nav_labels(page))
    assert "Service accounts" in labels and "Audit log" not in labels, labels
    expect(page.get_by_role("main").get_by_text(foreign["name"])).to_have_count(0)

    # a service account in their group: the only group offered is theirs
    account = f"deploy-bot-{suffix}"
    page.get_by_role("button", name="Create service account").first.click()
    modal = dialog(page, "Create service account")
    textbox(modal, "Name").fill(account)
    groups = offered_options(page, modal, "Group")
    assert team in groups and other not in groups, groups
    select_option(page, modal, "Group", team)
    textbox(modal, "Description").fill("Deploys the platform")
    modal.get_by_role("contentinfo").get_by_role("button", name=re.compile("^Create")).click()
    expect(modal).to_be_hidden()
    expect(row(page, "Service accounts", account)).to_have_count(1)
    assert get(console_server, f"/service-accounts/{account}")["group"] == team

    # a key owned by that service account
    key_name = f"deploy-{suffix}"
    tab.goto("/settings/api-keys")
    page.get_by_role("button", name="Create API key").first.click()
    modal = dialog(page, "Create API key")
    textbox(modal, "Name").fill(key_name)
    choose_owner(page, modal, "Service account", account)
    modal.get_by_role("button", name="Create", exact=True).click()
    dialog(page, "API key created")
    open_secret(page)
    page.get_by_role("button", name="Go to key details").click()
    page.wait_for_url(re.compile(r"/settings/api-keys/[^/]+/details$"))
    key_id = tab.path().split("/")[3]
    assert get(console_server, f"/keys/{key_id}")["owner"] == f"serviceaccount:{account}"
    tab.goto("/settings/api-keys")
    expect(row(page, "API keys", key_name)).to_have_count(1)

    # what the page does not offer, the API refuses too: another group's service account
    with client_with_cookies(console_server, tab.context.cookies()) as browser_session:
        refused = browser_session.post(
            "/api/v1/service-accounts",
            json={"name": f"sneaky-{suffix}", "group": other},
            headers={"X-CSRF-Token": browser_session.cookies["hw_csrf"]},
        )
    assert refused.status_code in (403, 404, 422), refused.text
