"""Signing in to the console the way people do: the admin token form, or single sign-on through the
test OIDC provider's own login page."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.console.browser import Tab


def sign_in_with_token(tab: Tab, token: str, *, path: str = "/signin") -> None:
    """Sign in on /signin (or ``path``, a /signin?next=... address) with an admin token."""
    if not tab.path().startswith("/signin"):
        tab.goto(path)
    page = tab.page
    page.get_by_label("Admin token").fill(token)
    page.get_by_role("button", name="Sign in with token").click()
    expect(page).not_to_have_url(re.compile(r"/signin"))


def sign_in_with_sso(tab: Tab, username: str, password: str, *, path: str = "/signin") -> None:
    """ "Sign in with single sign-on" → the provider's login form → back to the console. A provider
    that still has a session of its own for this browser sends it straight back, without the form."""
    if not tab.path().startswith("/signin"):
        tab.goto(path)
    page = tab.page
    page.get_by_role("link", name="Sign in with single sign-on").click()
    page.wait_for_url(lambda url: not url.startswith(tab.url("/signin")))
    username_field = page.get_by_label("Username")
    back = re.compile(re.escape(tab.base_url) + r"/(?!signin|auth/)")
    expect(username_field.or_(page.get_by_role("navigation", name="Headwater"))).to_be_visible()
    if not back.match(page.url):
        username_field.fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(back)


def expect_signed_in_as(tab: Tab, name: str) -> None:
    """The masthead's user menu names the caller."""
    expect(tab.page.get_by_role("banner").get_by_text(name, exact=False).first).to_be_visible()
