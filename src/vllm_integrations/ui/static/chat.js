// The chat page: sends the conversation and the settings to POST /chat and shows the reply's
// Server-Sent Events as they arrive. Model output is only ever inserted as text (Text nodes,
// textContent), never parsed as HTML. The SSE framing is read by eventsource-parser (vendored
// beside this file): EventSource itself cannot POST a conversation.
import { EventSourceParserStream } from "./vendor/eventsource-parser/stream.js";

const ui = Object.fromEntries(
  [
    "settings-panel", "settings", "model", "temperature", "temperature-value", "max-tokens",
    "thinking", "new-chat", "conversation", "empty", "transcript", "composer", "prompt", "send",
    "stop", "status",
  ].map((id) => [id, document.getElementById(id)]),
);

/** What the next request carries: every finished exchange (a failed one is left out). */
let history = [];
/** The AbortController of the reply being streamed, or null. */
let running = null;
/** Counts "New chat" presses, so a reply stopped by one is not added to the new history. */
let conversation = 0;

function settings() {
  const maxTokens = ui["max-tokens"].valueAsNumber;
  return {
    model: ui.model.value || null,
    temperature: Number(ui.temperature.value),
    max_tokens: Number.isNaN(maxTokens) ? null : maxTokens,
    thinking: ui.thinking.checked,
  };
}

function setStatus(text) {
  ui.status.textContent = text;
}

function setBusy(busy) {
  ui.send.disabled = busy;
  ui.stop.disabled = !busy;
  ui.conversation.setAttribute("aria-busy", String(busy));
  setStatus(busy ? "Generating… (Escape or Stop ends the reply)" : "");
}

/** Whether the reader is at the end of the conversation (then new text keeps it in view). */
let atEnd = true;
let followPending = false;

ui.conversation.addEventListener("scroll", () => {
  const box = ui.conversation;
  atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
});

/** Keeps the newest text in view, once per frame: measuring the page after every token would
 * lay it out again each time, work that grows with the reply. */
function follow() {
  if (followPending) return;
  followPending = true;
  requestAnimationFrame(() => {
    followPending = false;
    if (atEnd) ui.conversation.scrollTop = ui.conversation.scrollHeight;
  });
}

function fromTemplate(id) {
  return document.getElementById(id).content.firstElementChild.cloneNode(true);
}

/** One assistant turn on the page. Each piece of text becomes a Text node of its own: never
 * parsed as HTML, and appending costs the same however long the reply has grown. */
class ReplyView {
  constructor() {
    this.node = fromTemplate("assistant-turn");
    this.thinking = this.node.querySelector(".thinking");
    this.reasoning = this.node.querySelector(".reasoning");
    this.answer = this.node.querySelector(".answer");
    this.error = this.node.querySelector(".error");
    this.stats = this.node.querySelector(".stats");
  }

  addReasoning(text) {
    if (this.thinking.hidden) this.thinking.hidden = false;
    this.reasoning.append(text);
  }

  addContent(text) {
    this.answer.append(text);
  }

  showError(message) {
    this.error.textContent = message;
    this.error.hidden = false;
  }

  showStats(text) {
    this.stats.textContent = text;
    this.stats.hidden = false;
  }
}

/** A line about a finished reply: tokens used, time to first token, how it ended. */
function describe(reply, stopped) {
  const parts = [];
  if (reply.usage) {
    parts.push(`${reply.usage.input_tokens} prompt + ${reply.usage.output_tokens} reply tokens`);
  }
  const done = reply.done;
  if (done && done.time_to_first_token !== null) {
    parts.push(`first token after ${done.time_to_first_token.toFixed(2)} s`);
  }
  if (done) parts.push(`${done.elapsed.toFixed(2)} s in all`);
  if (done && done.finish_reason === "length") parts.push("cut at max tokens");
  if (stopped) parts.push("stopped");
  return parts.join(" · ");
}

async function failureMessage(response) {
  try {
    const body = await response.json();
    if (body && body.error) return body.error;
  } catch {
    // not JSON: fall back to the status line
  }
  return `the chat server answered ${response.status} ${response.statusText}`;
}

/** Streams one reply into `reply` and `view`; throws when the request or the stream fails. */
async function streamReply(request, reply, view, signal) {
  const response = await fetch("chat", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(request),
    signal,
  });
  if (!response.ok) throw new Error(await failureMessage(response));
  const events = response.body
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new EventSourceParserStream())
    .getReader();
  for (;;) {
    const { value: event, done } = await events.read();
    if (done) break;
    const data = JSON.parse(event.data);
    if (event.event === "reasoning") {
      reply.reasoning.push(data.text);
      view.addReasoning(data.text);
    } else if (event.event === "content") {
      reply.content.push(data.text);
      view.addContent(data.text);
    } else if (event.event === "usage") {
      reply.usage = data;
    } else if (event.event === "error") {
      reply.error = data.message;
      view.showError(data.message);
    } else if (event.event === "done") {
      reply.done = data;
    }
    follow();
  }
  if (!reply.done) throw new Error("the reply broke off: the chat server closed the stream");
}

async function send() {
  const text = ui.prompt.value;
  if (running || !text.trim()) return;
  if (!ui.settings.checkValidity()) {
    ui["settings-panel"].open = true;
    ui.settings.reportValidity();
    return;
  }
  const user = { role: "user", content: text };
  const reply = { content: [], reasoning: [], usage: null, done: null, error: null };
  const userNode = fromTemplate("user-turn");
  userNode.querySelector(".bubble").textContent = text;
  const view = new ReplyView();
  ui.empty.hidden = true;
  ui.transcript.append(userNode, view.node);
  atEnd = true;
  follow();
  ui.prompt.value = "";

  const controller = new AbortController();
  const ownConversation = conversation;
  running = controller;
  setBusy(true);
  let stopped = false;
  try {
    const request = { messages: [...history, user], ...settings() };
    await streamReply(request, reply, view, controller.signal);
  } catch (error) {
    stopped = controller.signal.aborted;
    if (!stopped) {
      reply.error = error.message;
      view.showError(`Could not get a reply: ${error.message}`);
    }
  } finally {
    if (running === controller) {
      running = null;
      setBusy(false);
    }
  }
  if (ownConversation !== conversation) return;
  view.showStats(describe(reply, stopped));
  const content = reply.content.join("");
  if (reply.error === null && (content || !stopped)) {
    const reasoning = reply.reasoning.join("") || null;
    history.push(user, { role: "assistant", content, reasoning });
  } else {
    userNode.classList.add("failed");
    if (reply.error !== null && !ui.prompt.value) ui.prompt.value = text; // ready to try again
  }
  if (stopped) setStatus("Stopped.");
  ui.prompt.focus();
}

function stop() {
  if (running) running.abort();
}

async function loadModels() {
  try {
    const response = await fetch("models");
    if (!response.ok) throw new Error(await failureMessage(response));
    const body = await response.json();
    ui.model.replaceChildren(...body.models.map((id) => new Option(id, id)));
    ui.model.value = body.default;
  } catch (error) {
    ui.model.replaceChildren(new Option("(the server's default)", ""));
    setStatus(`Could not list the models: ${error.message}`);
  }
}

ui.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  send();
});
ui.prompt.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    send();
  }
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && running) {
    event.preventDefault();
    stop();
  }
});
ui.stop.addEventListener("click", stop);
ui.temperature.addEventListener("input", () => {
  ui["temperature-value"].value = Number(ui.temperature.value).toFixed(2);
});
ui["new-chat"].addEventListener("click", () => {
  stop();
  conversation += 1;
  history = [];
  ui.transcript.replaceChildren();
  ui.empty.hidden = false;
  setStatus("");
  ui.prompt.focus();
});

ui["settings-panel"].open = window.matchMedia("(min-width: 601px)").matches;
ui["temperature-value"].value = Number(ui.temperature.value).toFixed(2);
loadModels();
