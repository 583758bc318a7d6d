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

  // Flashcard review: keys 1-4 press the rating buttons (Again, Hard, Good, Easy).
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.target.closest && event.target.closest("input, textarea, select")) return;
    const button = document.querySelector(`button[data-shortcut="${event.key}"]`);
    if (button) { event.preventDefault(); button.click(); }
  });
});
