// Progressive touches only: every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Sign-up suggests the browser's own time zone instead of UTC.
  const zone = document.querySelector("input#timezone");
  if (zone && zone.value === "UTC" && window.Intl) {
    zone.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  }
});
