"""The chat page as a person drives it: by its labels, buttons and keys."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

REPLY_SECONDS = 60
"""The longest a reply may take to finish (a loaded two-core machine, a browser and vLLM)."""

_WATCH = """() => {
  window.__seen = [];
  const transcript = document.getElementById("transcript");
  new MutationObserver(() => {
    const turns = transcript.querySelectorAll(".turn.assistant");
    const last = turns[turns.length - 1];
    if (last) {
      window.__seen.push([
        last.querySelector(".reasoning").textContent,
        last.querySelector(".answer").textContent,
      ]);
    }
  }).observe(transcript, { subtree: true, childList: true, characterData: true });
}"""


class ChatPage:
    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        page.goto(url)
        self.prompt = page.get_by_label("Message")
        self.send_button = page.get_by_role("button", name="Send")
        self.stop_button = page.get_by_role("button", name="Stop")
        self.model = page.get_by_label("Model")
        self.status = page.locator("#status")

    def configure(
        self,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        thinking: bool | None = None,
    ) -> None:
        """Set what is given in the settings panel (opened first on a narrow screen)."""
        panel = self.page.locator("#settings-panel")
        if not panel.evaluate("details => details.open"):
            panel.locator("summary").click()
        if temperature is not None:
            self.page.get_by_label("Temperature").fill(str(temperature))
        if max_tokens is not None:
            self.page.get_by_label("Max tokens").fill(str(max_tokens))
        if thinking is not None:
            self.page.get_by_label("Thinking").set_checked(thinking)

    def send(self, text: str) -> Locator:
        """Type ``text`` and press Enter; the reply it starts."""
        count = self.replies().count()
        self.prompt.fill(text)
        self.prompt.press("Enter")
        reply = self.replies().nth(count)
        expect(reply).to_be_attached()
        return reply

    def replies(self) -> Locator:
        return self.page.locator(".turn.assistant")

    def finished(self, reply: Locator) -> Locator:
        """Wait until ``reply`` has ended (its stats line shows); the stats line."""
        stats = reply.locator(".stats")
        expect(stats).to_be_visible(timeout=REPLY_SECONDS * 1000)
        return stats

    def streaming(self, reply: Locator, *, characters: int = 1) -> None:
        """Wait until ``reply``'s answer has at least ``characters`` characters."""
        self.page.wait_for_function(
            "([reply, n]) => reply.querySelector('.answer').textContent.length >= n",
            arg=[reply.element_handle(), characters],
            timeout=REPLY_SECONDS * 1000,
        )

    def watch(self) -> None:
        """Record the last reply's reasoning and answer at every change from now on."""
        self.page.evaluate(_WATCH)

    def seen(self) -> list[tuple[str, str]]:
        """(reasoning, answer) of the last reply at every change since ``watch``."""
        return [tuple(pair) for pair in self.page.evaluate("window.__seen")]


def text(locator: Locator) -> str:
    """The exact text of an element (expect's matchers normalise white space)."""
    return locator.text_content() or ""
