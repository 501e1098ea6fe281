"""The chat page in a real browser against real vLLM, over HTTP and over gRPC: what a person
sees, and what actually leaves for vLLM (recorded at the transport, not taken from the page)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.chat_page import ChatPage, text
from tests.browser.conftest import ENDLESS_TOKENS, Pages, wait_for_running
from vllm_integrations.testing import SERVED_MODEL_NAME, script

CAPITAL = script("capital")
STORY = script("long_story_no_thinking")
MARKUP = script("html_reply")


def prompt_of(name: str) -> str:
    return str(script(name).messages[-1]["content"])


def test_a_scripted_reply_streams_into_the_page(page: Page, pages: Pages) -> None:
    chat = ChatPage(page, pages.url)
    chat.configure(temperature=0)
    chat.watch()
    reply = chat.send(prompt_of("capital"))
    stats = chat.finished(reply)

    assert text(reply.locator(".answer")) == CAPITAL.content
    assert text(reply.locator(".reasoning")) == CAPITAL.reasoning
    expect(reply.locator(".thinking")).to_be_visible()
    seen = chat.seen()
    answers = [a for a in dict.fromkeys(answer for _, answer in seen) if a != CAPITAL.content]
    thoughts = [r for r in dict.fromkeys(r for r, _ in seen) if r != CAPITAL.reasoning]
    # Token by token: several partial answers and partial reasoning before the final ones.
    assert len([a for a in answers if a]) >= 3, answers
    assert all(CAPITAL.content.startswith(answer) for answer in answers)
    assert len([r for r in thoughts if r]) >= 3, thoughts
    assert all(CAPITAL.reasoning.startswith(r) for r in thoughts)
    assert re.fullmatch(
        r"\d+ prompt \+ \d+ reply tokens · first token after \d+\.\d\d s · \d+\.\d\d s in all",
        text(stats),
    )
    sent = pages.sent.requests[-1]
    assert sent.model == SERVED_MODEL_NAME
    assert sent.messages == CAPITAL.chat_messages()


def test_the_settings_in_the_page_reach_vllm(page: Page, pages: Pages) -> None:
    chat = ChatPage(page, pages.url)
    expect(chat.model).to_have_value(SERVED_MODEL_NAME)  # the server's list
    chat.configure(temperature=0, max_tokens=5, thinking=False)
    reply = chat.send(prompt_of("long_story_no_thinking"))
    stats = chat.finished(reply)

    sent = pages.sent.requests[-1]
    assert sent.sampling == {"temperature": 0.0, "max_tokens": 5}
    assert sent.chat_template_kwargs == {"enable_thinking": False}
    # vLLM obeyed: five tokens of the scripted story, no reasoning.
    assert "+ 5 reply tokens" in text(stats)
    assert "cut at max tokens" in text(stats)
    answer = text(reply.locator(".answer"))
    assert answer
    assert STORY.content.startswith(answer)
    assert len(answer) < len(STORY.content)
    expect(reply.locator(".thinking")).to_be_hidden()

    page.get_by_role("button", name="New chat").click()
    chat.configure(temperature=1.35)
    chat.finished(chat.send(prompt_of("capital")))
    assert pages.sent.requests[-1].sampling == {"temperature": 1.35, "max_tokens": 5}


def test_a_second_turn_carries_the_first(page: Page, pages: Pages) -> None:
    chat = ChatPage(page, pages.url)
    chat.configure(temperature=0)
    chat.finished(chat.send(prompt_of("capital")))
    second = chat.send("What is 2 + 2?")
    chat.finished(second)

    assert pages.sent.requests[-1].messages == [
        {"role": "user", "content": prompt_of("capital")},
        {"role": "assistant", "content": CAPITAL.content, "reasoning": CAPITAL.reasoning},
        {"role": "user", "content": "What is 2 + 2?"},
    ]
    assert text(second.locator(".answer"))
    expect(chat.replies()).to_have_count(2)


def test_a_server_error_is_shown_and_the_page_stays_usable(page: Page, pages: Pages) -> None:
    chat = ChatPage(page, pages.url)
    chat.configure(temperature=0)
    too_long = "word " * 3000
    failed = chat.send(too_long)
    error = failed.locator(".error")
    expect(error).to_have_text(re.compile("maximum context length|maximum model length"))
    expect(chat.prompt).to_have_value(too_long)  # given back, to edit and send again
    expect(chat.send_button).to_be_enabled()

    reply = chat.send(prompt_of("capital"))
    chat.finished(reply)
    assert text(reply.locator(".answer")) == CAPITAL.content
    # The failed turn is not part of the conversation.
    assert pages.sent.requests[-1].messages == CAPITAL.chat_messages()


def test_markup_in_a_reply_is_shown_as_text_and_runs_nothing(page: Page, pages: Pages) -> None:
    chat = ChatPage(page, pages.url)
    chat.configure(temperature=0)
    reply = chat.send(prompt_of("html_reply"))
    chat.finished(reply)

    assert "<img" in MARKUP.content
    assert text(reply.locator(".answer")) == MARKUP.content
    expect(page.locator("img")).to_have_count(0)
    assert page.evaluate("document.querySelectorAll('[onerror]').length") == 0
    # and the page fixture fails the test if a dialog (the alert) ever opened


def test_stop_aborts_the_request_on_vllm(page: Page, pages: Pages) -> None:
    chat = ChatPage(page, pages.endless_url)
    chat.configure(temperature=0, max_tokens=ENDLESS_TOKENS)
    reply = chat.send(prompt_of("long_story"))
    chat.streaming(reply)
    assert wait_for_running(pages.vllm, 1, seconds=5) == 1
    chat.stop_button.click()

    expect(chat.status).to_have_text("Stopped.")
    assert wait_for_running(pages.vllm, 0, seconds=3) == 0  # not the six seconds to the end
    stats = chat.finished(reply)
    assert text(stats).endswith("stopped")
    expect(chat.send_button).to_be_enabled()
    expect(chat.stop_button).to_be_disabled()
    expect(chat.prompt).to_be_focused()


def test_a_closed_tab_aborts_the_request_on_vllm(page: Page, pages: Pages) -> None:
    chat = ChatPage(page, pages.endless_url)
    chat.configure(temperature=0, max_tokens=ENDLESS_TOKENS)
    chat.streaming(chat.send(prompt_of("long_story")))
    assert wait_for_running(pages.vllm, 1, seconds=5) == 1
    page.close()
    assert wait_for_running(pages.vllm, 0, seconds=3) == 0
