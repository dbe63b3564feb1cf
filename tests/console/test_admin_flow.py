"""An admin's day in the console, end to end in a real browser: sign in with the admin token, add a
model (testing the connection to it), create a policy, create a key for a user, copy its secret, call
the model with it through the OpenAI SDK, see the call on the key's Metrics tab, rotate the key (the
old secret keeps working within the grace), and delete it by typing its name."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.console.browser import Tab
from tests.console.pages import (
    card_text,
    choose_owner,
    dialog,
    heading,
    open_secret,
    row,
    select_option,
    textbox,
    until,
)
from tests.console.seed import admin_call, chat, ensure, get, key_works
from tests.console.signin import sign_in_with_token
from tests.support import Server, Sim

pytestmark = pytest.mark.e2e


def add_model(tab: Tab, sim: Sim, name: str) -> None:
    page = tab.page
    tab.goto("/ai-assets/models")
    expect(heading(page)).to_have_text("AI assets")
    page.get_by_role("button", name="Add asset").first.click()
    modal = dialog(page, "Add asset")
    modal.get_by_role("radio", name=re.compile("^Internal server")).check()
    textbox(modal, "Name").fill(name)
    textbox(modal, "Base URL").fill(sim.url)
    textbox(modal, "Upstream model").fill(name)
    modal.get_by_role("button", name="Test connection").click()
    expect(modal.get_by_text(re.compile(r"Connected in \d+ ms"))).to_be_visible()
    modal.get_by_role("button", name="Add", exact=True).click()
    expect(modal).to_be_hidden()
    expect(row(page, "Models", name)).to_have_count(1)


def create_policy(tab: Tab, name: str, user: str) -> None:
    """A policy giving ``user`` 600 requests a minute."""
    page = tab.page
    tab.goto("/settings/policies")
    expect(heading(page)).to_have_text("Policies")
    page.get_by_role("button", name="Create policy").first.click()
    modal = dialog(page, "Create policy")
    textbox(modal, "Name").fill(name)
    textbox(modal, "Description").fill("Made in the console by the end-to-end test")
    modal.get_by_role("button", name="Add rate limit").click()
    textbox(modal, "Rate limit 1 amount").fill("600")
    select_option(page, modal, "Users", user)
    modal.get_by_role("button", name="Create", exact=True).click()
    expect(modal).to_be_hidden()
    expect(row(page, "Policies", name)).to_have_count(1)


def create_key_for_user(tab: Tab, name: str, user: str) -> tuple[str, str]:
    """Create the key in the modal; returns (secret copied from the page, key id from the URL)."""
    page = tab.page
    tab.goto("/settings/api-keys")
    expect(heading(page)).to_have_text("API keys")
    page.get_by_role("button", name="Create API key").first.click()
    modal = dialog(page, "Create API key")
    textbox(modal, "Name").fill(name)
    textbox(modal, "Description").fill("Priya's laptop")
    choose_owner(page, modal, "User", user)
    modal.get_by_role("button", name="Create", exact=True).click()
    created = dialog(page, "API key created")
    secret = open_secret(page)
    created.get_by_role("button", name="Go to key details").click()
    page.wait_for_url(re.compile(r"/settings/api-keys/[^/]+/details$"))
    key_id = tab.path().split("/")[3]
    return secret, key_id


def test_an_admin_adds_a_model_and_a_policy_and_runs_a_key_through_its_life(
    tab: Tab, console_server: Server, sim: Sim
) -> None:
    suffix = uuid.uuid4().hex[:6]
    model, policy, key_name = f"ui-model-{suffix}", f"ui-policy-{suffix}", f"priya-laptop-{suffix}"
    ensure(console_server, "/users", "priya", {"email": "priya@example.com"})
    page = tab.page

    sign_in_with_token(tab, console_server.token)
    expect(heading(page)).to_have_text(re.compile("^Welcome"))

    add_model(tab, sim, model)
    stored = get(console_server, f"/models/{model}")
    assert stored["deployments"][0]["base_url"] == sim.url

    create_policy(tab, policy, "priya")
    stored = get(console_server, f"/policies/{policy}")
    assert stored["description"].startswith("Made in the console")
    assert stored["targets"]["users"] == ["priya"]
    limits = [(limit["requests"], limit["window"]) for limit in stored["limits"]]
    assert limits == [(600, "1m")], stored["limits"]

    secret, key_id = create_key_for_user(tab, key_name, "priya")
    key = get(console_server, f"/keys/{key_id}")
    assert key["name"] == key_name and key["owner"] == "user:priya" and key["status"] == "active"
    expect(heading(page)).to_contain_text(key_name)

    # the secret copied from the page calls the new model through the OpenAI SDK
    assert chat(console_server, secret, model)

    page.get_by_role("tab", name="Metrics").click()
    expect(page).to_have_url(re.compile(r"/metrics$"))
    until(
        page.reload, lambda: re.search(r"Total requests\s*1\b", card_text(page, "Total requests")) is not None
    )

    # rotate with a grace: the new secret works, and the old one still does until the grace ends
    page.get_by_role("tab", name="Settings").click()
    expect(page).to_have_url(re.compile(r"/settings$"))
    select_option(page, page.get_by_role("main"), "Grace period", "1 hour")
    page.get_by_role("button", name="Rotate key").click()
    rotated = open_secret(page)
    assert rotated != secret
    assert key_works(console_server, rotated, model)
    assert key_works(console_server, secret, model), "the old secret stopped before the grace ended"

    # delete by typing the exact name: the key is revoked, the list says so, no secret works
    page.get_by_role("button", name="Delete API key").click()
    confirm = dialog(page, "Delete API key?")
    delete = confirm.get_by_role("button", name="Delete", exact=True)
    expect(delete).to_be_disabled()
    confirm.get_by_label(f"Type {key_name} to confirm").fill(key_name[:-1])
    expect(delete).to_be_disabled()
    confirm.get_by_label(f"Type {key_name} to confirm").fill(key_name)
    delete.click()
    page.wait_for_url(re.compile(r"/settings/api-keys$"))
    expect(row(page, "API keys", key_name)).to_contain_text("Revoked")
    assert get(console_server, f"/keys/{key_id}")["status"] == "revoked"
    assert not key_works(console_server, rotated, model)
    assert not key_works(console_server, secret, model)
    trail = admin_call(console_server, "GET", "/audit/events", params={"action": "key.revoke", "limit": 100})
    assert any(event["target_id"] == key_id for event in trail["items"])
