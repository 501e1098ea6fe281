"""The chat page on a desktop and on a phone-sized screen, driven by the keyboard alone, with
screenshots of it mid-stream and finished (left in the folder the README names)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.chat_page import ChatPage, text
from tests.browser.conftest import ENDLESS_TOKENS, SCREENSHOTS, Pages, wait_for_running
from vllm_integrations.testing import script

SCREENS = {"desktop": (1280, 800), "phone": (390, 844)}


def assert_fits(page: Page, chat: ChatPage) -> None:
    """Nothing scrolls sideways, and the message box and its buttons are on screen."""
    size = page.viewport_size
    assert size is not None
    assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
    for control in (chat.prompt, chat.send_button, chat.stop_button):
        box = control.bounding_box()
        assert box is not None
        assert 0 <= box["x"] <= box["x"] + box["width"] <= size["width"]
        assert 0 <= box["y"] <= box["y"] + box["height"] <= size["height"]


@pytest.mark.parametrize("screen", SCREENS)
def test_by_keyboard_on_each_screen_with_screenshots(page: Page, pages: Pages, screen: str) -> None:
    width, height = SCREENS[screen]
    page.set_viewport_size({"width": width, "height": height})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = f"chat-{pages.transport}-{screen}"

    chat = ChatPage(page, pages.url)
    settings_open = page.locator("#settings-panel").evaluate("details => details.open")
    assert settings_open == (screen == "desktop")  # folded away on a phone
    chat.configure(temperature=0)
    markup = script("html_reply")
    chat.prompt.focus()
    page.keyboard.type(str(markup.messages[-1]["content"]))
    page.keyboard.press("Enter")  # Enter sends
    chat.finished(chat.replies().last)
    assert text(chat.replies().last.locator(".answer")) == markup.content
    expect(chat.prompt).to_be_focused()
    page.keyboard.press("Tab")
    expect(chat.send_button).to_be_focused()
    assert_fits(page, chat)
    page.screenshot(path=SCREENSHOTS / f"{shot}-finished.png")

    chat = ChatPage(page, pages.endless_url)
    chat.configure(temperature=0, max_tokens=ENDLESS_TOKENS)
    chat.prompt.focus()
    page.keyboard.type(str(script("long_story").messages[-1]["content"]))
    page.keyboard.press("Enter")
    reply = chat.replies().last
    chat.streaming(reply, characters=300)
    page.screenshot(path=SCREENSHOTS / f"{shot}-streaming.png")
    expect(reply.locator(".stats")).to_be_hidden()  # the screenshot was mid-stream
    assert_fits(page, chat)
    page.keyboard.press("Escape")  # Escape stops
    expect(chat.status).to_have_text("Stopped.")
    assert wait_for_running(pages.vllm, 0, seconds=3) == 0
