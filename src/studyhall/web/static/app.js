// Progressive touches only: every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Sign-up suggests the browser's own time zone instead of UTC.
  const zone = document.querySelector("input#timezone");
  if (zone && zone.value === "UTC" && window.Intl) {
    zone.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  }

  // The bell: the unread count, live. EventSource sends the session cookie (it cannot send
  // an Authorization header), and the server's stream starts with the count, then each new one.
  const count = document.getElementById("unread-count");
  if (count && window.EventSource) {
    let unread = 0;
    const show = () => {
      count.textContent = String(unread);
      count.hidden = unread === 0;
      count.setAttribute("aria-label", `${unread} ${count.dataset.label}`);
    };
    const events = new EventSource(count.dataset.stream);
    events.addEventListener("ready", (event) => { unread = JSON.parse(event.data).unread; show(); });
    events.addEventListener("notification", () => { unread += 1; show(); });
  }

  // Asking about notes: the answer streams in (server-sent events read from a fetch, which
  // sends the session cookie and the form's CSRF field); without this the form posts as usual.
  for (const form of document.querySelectorAll("form[data-stream]")) {
    form.addEventListener("submit", (event) => {
      if (!window.fetch || !window.TextDecoder || !window.DOMParser) return;
      event.preventDefault();
      streamAnswer(form);
    });
  }

  // Flashcard review: keys 1-4 press the rating buttons (Again, Hard, Good, Easy).
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.target.closest && event.target.closest("input, textarea, select")) return;
    const button = document.querySelector(`button[data-shortcut="${event.key}"]`);
    if (button) { event.preventDefault(); button.click(); }
  });
});

// One server-sent event block ("event: x" and "data: ..." lines) as {event, data}.
function parseEvent(block) {
  let name = "message";
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  return data.length ? { event: name, data: JSON.parse(data.join("\n")) } : null;
}

async function streamAnswer(form) {
  const answer = document.getElementById(form.dataset.answer);
  const streaming = answer.querySelector(".streaming");
  const final = answer.querySelector(".final");
  const button = form.querySelector("button[type=submit]");
  let text = "";
  const show = () => { streaming.textContent = text; };
  const handle = (item) => {
    if (item.event === "token") { text += item.data.text; show(); }
    // The checked text differs from what was sent: the final text takes its place.
    else if (item.event === "replace") { text = item.data.text; show(); }
    // The model failed midway: what was sent is withdrawn, the offline answer follows.
    else if (item.event === "reset") { text = ""; show(); }
    else if (item.event === "done") {
      streaming.textContent = "";
      streaming.hidden = true;
      final.innerHTML = item.data.html;
    }
  };
  button.disabled = true;
  answer.hidden = false;
  answer.setAttribute("aria-busy", "true");
  streaming.hidden = false;
  streaming.textContent = "";
  final.textContent = "";
  try {
    const response = await fetch(form.dataset.stream, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      headers: { Accept: "text/event-stream" },
      credentials: "same-origin",
    });
    const type = response.headers.get("content-type") || "";
    if (!response.ok || !type.startsWith("text/event-stream")) {
      // A refusal is an error page: show its message.
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const message = page.querySelector("[role=alert]");
      final.textContent = message ? message.textContent : answer.dataset.failed;
      return;
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      const blocks = buffer.split(/\r?\n\r?\n/);
      buffer = blocks.pop();
      for (const block of blocks) {
        const item = parseEvent(block);
        if (item) handle(item);
      }
    }
  } catch (error) {
    final.textContent = answer.dataset.failed;
  } finally {
    button.disabled = false;
    answer.removeAttribute("aria-busy");
  }
}
