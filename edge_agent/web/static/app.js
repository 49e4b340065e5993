// The nurse's page: live waveform (Server-Sent Events), the exam panel kept current, and
// forms posted without a page reload. Plain JavaScript, no library, served by the Pi.
"use strict";

(function () {
  const csrf = document.body.dataset.csrf;

  document.querySelectorAll("[data-back]").forEach((a) => {
    a.addEventListener("click", (e) => { if (history.length > 1) { e.preventDefault(); history.back(); } });
  });

  const exam = document.querySelector(".exam");
  if (!exam) return;
  const examId = exam.dataset.exam;
  const picker = document.getElementById("device");
  const panel = document.getElementById("panel");
  let version = exam.dataset.version;

  // Live waveform -----------------------------------------------------------------------
  const canvas = document.getElementById("wave");
  const g = canvas.getContext("2d");
  const levelBar = document.getElementById("level-bar");
  const contact = document.getElementById("contact");
  const clip = document.getElementById("clip");
  const pointsShown = 400; // 4 s at 100 min/max pairs per second
  let trace = [];
  let source = null;
  window.stethoLive = { frames: 0, lastLatencyMs: null };

  function draw() {
    g.clearRect(0, 0, canvas.width, canvas.height);
    g.strokeStyle = "#0b5";
    g.lineWidth = 2;
    g.beginPath();
    const mid = canvas.height / 2;
    const step = canvas.width / pointsShown;
    for (let i = 0; i < trace.length; i += 2) {
      const x = (i / 2) * step;
      g.moveTo(x, mid - trace[i + 1] * mid);
      g.lineTo(x, mid - trace[i] * mid);
    }
    g.stroke();
  }

  let listening = "";
  function listen(device) {
    if (source) source.close();
    source = null;
    listening = device;
    trace = [];
    if (!device) return;
    source = new EventSource("/live/" + encodeURIComponent(device));
    source.onmessage = (event) => {
      const frames = JSON.parse(event.data);
      for (const f of frames) trace.push(...f.p);
      if (trace.length > pointsShown * 2) trace = trace.slice(trace.length - pointsShown * 2);
      const last = frames[frames.length - 1];
      // -60 dBFS (nothing) to 0 dBFS (full scale) across the meter.
      levelBar.style.width = Math.max(0, Math.min(100, (last.db + 60) * 100 / 60)) + "%";
      // In contact, faintly (a loose hold or a low volume), or not at all.
      const state = !last.contact ? "no" : last.faint ? "faint" : "yes";
      contact.textContent = contact.dataset[state];
      contact.className = "pill " + { yes: "ok", faint: "warn", no: "bad" }[state];
      contact.dataset.state = state;
      clip.hidden = !last.clip;
      window.stethoLive.frames += frames.length;
      window.stethoLive.lastLatencyMs = Date.now() - last.t * 1000;
      requestAnimationFrame(draw);
    };
  }
  if (picker) {
    picker.addEventListener("change", () => { listen(picker.value); sayUnusable(); });
    if (picker.value) listen(picker.value);
  }

  // The picker kept current ---------------------------------------------------------------
  // Each panel carries the picker as the server draws it now (a <template>). Its options'
  // states and words are copied into the page's own picker, never replaced: her choice, the
  // focus and an open list stay. Her choice taken meanwhile stays chosen, and she is told.
  function syncPicker() {
    const next = document.getElementById("picker-next");
    if (!picker || !next) return;
    const fresh = next.content.getElementById("device");
    const chosen = picker.value;
    const chosenText = picker.selectedOptions.length ? picker.selectedOptions[0].text : chosen;
    const have = new Map([...picker.options].map((o) => [o.value, o]));
    let at = 0;
    for (const w of fresh.options) {
      let o = have.get(w.value);
      have.delete(w.value);
      if (!o) { o = document.createElement("option"); o.value = w.value; }
      if (o.disabled !== w.disabled) o.disabled = w.disabled;
      if (o.textContent !== w.textContent) o.textContent = w.textContent;
      if (picker.options[at] !== o) picker.insertBefore(o, picker.options[at] || null);
      at++;
    }
    for (const o of have.values()) o.remove();
    const kept = [...picker.options].find((o) => o.value === chosen && chosen !== "");
    const first = [...picker.options].find((o) => !o.disabled);
    const choice = kept ? chosen : first ? first.value : "";
    if (picker.value !== choice) picker.value = choice;
    const held = document.getElementById("all-held");
    const heldNext = next.content.getElementById("all-held");
    if (held && !heldNext) held.remove();
    else if (heldNext && (!held || held.textContent !== heldNext.textContent)) {
      if (held) held.remove();
      (document.getElementById("picker-note") || picker).after(heldNext.cloneNode(true));
    }
    sayUnusable(kept || !chosen ? null : chosenText);
  }

  // A message read out at once by a screen reader: the page's one, made where `place` puts it.
  function alertBox(id, place) {
    let box = document.getElementById(id);
    if (!box) {
      box = document.createElement("p");
      box.id = id;
      box.className = "alert";
      box.setAttribute("role", "alert");
      place(box);
    }
    return box;
  }

  // Her chosen stethoscope no longer usable (held, disconnected) or gone from the list: said
  // by the picker (an alert, read out once), its sound no longer shown; unsaid once usable.
  function sayUnusable(gone = null) {
    const option = picker.selectedOptions[0];
    const unusable = gone || (option && option.value && option.disabled ? option.text : null);
    if (unusable) {
      const text = picker.closest(".listen").dataset.unusable.replace("{stethoscope}", unusable);
      const note = alertBox("picker-note", (box) => picker.after(box));
      if (note.textContent !== text) note.textContent = text;
    } else {
      document.getElementById("picker-note")?.remove();
    }
    const describedBy = ["picker-note", "all-held"].filter((id) => document.getElementById(id));
    if (describedBy.length) picker.setAttribute("aria-describedby", describedBy.join(" "));
    else picker.removeAttribute("aria-describedby");
    const wanted = option && !option.disabled ? option.value : "";
    if (wanted !== listening) listen(wanted);
  }

  // Panel ---------------------------------------------------------------------------------
  // What the panel says now, in a few words: recording, the site's verdict, finished. A
  // change is written to a status line outside the panel, so that a screen reader says it
  // without moving the focus (WCAG 4.1.3); the panel itself is redrawn too often to be one.
  const said = document.getElementById("panel-said");
  function panelSays() {
    const now = document.getElementById("recording-now");
    const shown = document.getElementById("verdict") || document.getElementById("finished");
    return now ? now.dataset.say : shown ? shown.innerText.replace(/\s+/g, " ").trim() : "";
  }
  let lastSaid = panelSays();
  function sayPanel() {
    const text = panelSays();
    if (said && text !== lastSaid) said.textContent = text;
    lastSaid = text;
  }

  async function refresh() {
    const inner = document.getElementById("panel-inner");
    const recording = inner && inner.dataset.recording === "1";
    try {
      const r = await fetch(`/exams/${examId}/panel?since=${recording ? -1 : version}`,
                            { credentials: "same-origin" });
      if (r.ok) {
        panel.innerHTML = await r.text();
        version = r.headers.get("X-Version") || version;
      } else if (r.status === 401) {
        location.href = "/login";
        return;
      }
    } catch (e) {
      await new Promise((ok) => setTimeout(ok, 2000));
    }
    syncPicker();
    sayPanel();
    const now = document.getElementById("panel-inner");
    setTimeout(refresh, now && now.dataset.recording === "1" ? 250 : 50);
  }
  setTimeout(refresh, 250);

  panel.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.classList.contains("js-post")) return;
    event.preventDefault();
    const allHeld = document.getElementById("all-held");
    if (form.classList.contains("record") && picker && !picker.value && allHeld) {
      showError(allHeld.textContent); // nothing to record with: say why here, by the button
      return;
    }
    const data = new FormData(form);
    if (form.classList.contains("record") && picker) data.set("device", picker.value);
    const r = await fetch(form.action, {
      method: "POST", body: new URLSearchParams(data), credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf },
    });
    if (!r.ok) {
      const body = await r.json().catch(() => ({ error: r.statusText }));
      showError(body.error);
    }
  });

  // A refusal is said just above the panel that holds the buttons, and scrolled into view:
  // at the top of the exam it was out of sight once the nurse had scrolled down to a button
  // (a tablet held upright). Outside the panel, the panel's next refresh keeps it.
  let errorTimer = null;
  function showError(text) {
    const box = alertBox("page-error", (box) => panel.before(box));
    box.textContent = text;
    box.scrollIntoView({ block: "nearest" });
    clearTimeout(errorTimer);
    errorTimer = setTimeout(() => box.remove(), 15000);
  }
})();
