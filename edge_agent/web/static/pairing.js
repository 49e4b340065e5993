// The pairing status page: ask the Pi twice a second whether what the page shows changed (the
// passkey to type, then paired or why not) and reload it then. No library, no inline script.
"use strict";

(function () {
  const box = document.getElementById("pairing");
  if (!box || box.dataset.final === "1") return;

  async function poll() {
    try {
      const r = await fetch(box.dataset.state, { credentials: "same-origin", cache: "no-store" });
      if (r.status === 401) { location.href = "/login"; return; }
      if (r.ok) {
        const state = await r.json();
        if (state.version !== box.dataset.version) { location.reload(); return; }
      }
    } catch (e) {
      // The Wi-Fi dropped or the Pi is busy: ask again below.
    }
    setTimeout(poll, 500);
  }
  setTimeout(poll, 500);
})();
