"""A session that ends on the server (signed out in another tab) sends the next navigation to the
sign-in page with a "session has ended" message, and signing in again returns to that page."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from tests.console.browser import Tab
from tests.console.pages import heading
from tests.console.seed import client_with_cookies
from tests.console.signin import expect_signed_in_as, sign_in_with_sso
from tests.support import Server

pytestmark = pytest.mark.e2e


def test_an_ended_session_leads_to_sign_in_and_back_to_the_page(tab: Tab, console_server: Server) -> None:
    page = tab.page
    sign_in_with_sso(tab, "bob", "bob-pw")
    expect_signed_in_as(tab, "bob")
    tab.goto("/settings/policies")
    expect(heading(page)).to_have_text("Policies")

    # the session ends on the server: signed out from another tab of the same browser
    with client_with_cookies(console_server, tab.context.cookies()) as other_tab:
        ended = other_tab.post("/auth/logout", headers={"X-CSRF-Token": other_tab.cookies["hw_csrf"]})
        assert ended.status_code == 200, ended.text
        assert other_tab.get("/api/v1/me").status_code == 401

    page.get_by_role("navigation", name="Headwater").get_by_role("link", name="API keys").click()
    page.wait_for_url(re.compile(r"/signin\?"))
    query = parse_qs(urlsplit(page.url).query)
    assert query["next"] == ["/settings/api-keys"], page.url
    expect(page.get_by_text(re.compile("Your session has ended"))).to_be_visible()

    tab.forget_logs()  # the 401 that ended the session is expected
    sign_in_with_sso(tab, "bob", "bob-pw")
    expect(page).to_have_url(re.compile(r"/settings/api-keys$"))
    expect(heading(page)).to_have_text("API keys")
    expect_signed_in_as(tab, "bob")
