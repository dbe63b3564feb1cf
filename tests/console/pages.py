"""What the console tests do on its pages, found the way a person (and a screen reader) finds them:
by role and accessible name, as the pages' briefs name them."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect

KEY_FORMAT = re.compile(r"hwk_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}")


def heading(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


def dialog(page: Page, title: str) -> Locator:
    """The open modal titled ``title``."""
    found = page.get_by_role("dialog", name=title)
    expect(found).to_be_visible()
    return found


def table(page: Page, label: str) -> Locator:
    found = page.get_by_role("grid", name=label).or_(page.get_by_role("table", name=label))
    expect(found).to_be_visible()
    return found


def row(page: Page, table_label: str, text: str) -> Locator:
    """The body row of table ``table_label`` holding a cell with exactly ``text``."""
    rows = (
        table(page, table_label)
        .get_by_role("row")
        .filter(has=page.get_by_role("cell", name=text, exact=True))
    )
    return rows.or_(
        table(page, table_label)
        .get_by_role("row")
        .filter(has=page.get_by_role("gridcell", name=text, exact=True))
    )


def nav_labels(page: Page) -> list[str]:
    """The link texts of the console's navigation."""
    navigation = page.get_by_role("navigation", name="Headwater")
    expect(navigation).to_be_visible()
    return [text.strip() for text in navigation.get_by_role("link").all_inner_texts()]


def expect_not_found(page: Page) -> None:
    expect(heading(page)).to_have_text(re.compile("404"))


def textbox(container: Locator, name: str) -> Locator:
    """The text field named ``name`` (its label, as a screen reader reads it: no required marker)."""
    return container.get_by_role("textbox", name=name, exact=True)


def select_option(page: Page, container: Locator, label: str, option: str) -> None:
    """Pick ``option`` of the select labelled ``label``: a native one, or PatternFly's typeahead."""
    field = container.get_by_role("combobox", name=label, exact=True)
    if field.evaluate("element => element.tagName") == "SELECT":
        field.select_option(label=option)
        return
    field.fill(option)
    page.get_by_role("option", name=re.compile(rf"^{re.escape(option)}(\s|$)")).first.click()
    if field.get_attribute("aria-expanded") == "true":  # a multi-select stays open: click away
        container.get_by_role("heading").first.click()
        expect(field).not_to_have_attribute("aria-expanded", "true")


def open_secret(page: Page) -> str:
    """The secret shown once in the "API key secret" ClipboardCopy, copied with its copy button
    and read back from the clipboard (what a person pastes is what the page holds)."""
    field = page.get_by_role("textbox", name="API key secret", exact=True)
    expect(field).to_be_visible()
    shown = field.input_value()
    clipboard = field.locator("xpath=ancestor::div[contains(@class, 'pf-v6-c-clipboard-copy')][1]")
    clipboard.get_by_role("button", name=re.compile("copy", re.IGNORECASE)).click()
    copied = str(page.evaluate("navigator.clipboard.readText()"))
    assert copied == shown, f"the copy button copied {copied[:6]}…, the field shows {shown[:6]}…"
    assert KEY_FORMAT.fullmatch(shown), "the secret shown does not look like a Headwater key"
    return shown


def until(reload: Callable[[], object], check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Reload until ``check()`` (data written in the background, e.g. usage batches)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not seen within {timeout}s")
        time.sleep(0.5)
        reload()


def card_text(page: Page, title: str) -> str:
    """The whole text of the PatternFly card titled ``title``."""
    card = page.locator(".pf-v6-c-card").filter(has_text=title).first
    expect(card).to_be_visible()
    return card.inner_text()


def choose_owner(page: Page, modal: Locator, owner_type: str, name: str) -> None:
    """In the Create API key modal: the owner type, then the owner picked among what is offered."""
    select_option(page, modal, "Owner type", owner_type)
    select_option(page, modal, f"{owner_type} name", name)


def offered_options(page: Page, container: Locator, label: str) -> list[str]:
    """The options a select labelled ``label`` offers (a typeahead is opened, read, and closed)."""
    field = container.get_by_role("combobox", name=label, exact=True)
    if field.evaluate("element => element.tagName") == "SELECT":
        return [text.strip() for text in field.locator("option").all_inner_texts()]
    field.click()
    options = page.get_by_role("option")
    expect(options.first).to_be_visible()
    texts = [text.strip() for text in options.all_inner_texts()]
    page.keyboard.press("Escape")
    return texts
