// Live listening: binary WebSocket messages from the hub, each a live chunk exactly as the
// agent publishes it (docs/mqtt.md §5: "<4sIdI" header STL1, seq, captured_at, rate; then
// PCM16 LE), scheduled back to back into Web Audio through the player's band filter and gain.
(function () {
  "use strict";
  var box = document.getElementById("live");
  if (!box || !window.stethoPlayer) return;
  var LEAD_S = 0.06;      // jitter buffer: chunks arrive about every 100 ms, not exactly
  var MAX_AHEAD_S = 0.3;  // further behind than this and we skip ahead: late sound is useless
  var status = document.getElementById("live-status");
  var startButton = document.getElementById("live-start");
  var stopButton = document.getElementById("live-stop");
  var volume = document.getElementById("volume");
  var band = document.getElementById("band");
  var state = { chunks: 0, seconds: 0, lost: 0, skipped: 0, latencies: [], ahead: [], error: null };
  // The page's words (the reader's language) come from the server, in data attributes.
  function say(name, values) {
    return (box.getAttribute("data-" + name) || "").replace(/\{(\w+)\}/g, function (_m, key) {
      return String(values[key]);
    });
  }
  var context = null, socket = null, filter = null, gain = null, next = 0, expected = null;
  window.stethoLive = state;

  function now_s() { return (performance.timeOrigin + performance.now()) / 1000; }

  function play(buffer) {
    var view = new DataView(buffer);
    if (buffer.byteLength < 20 || view.getUint32(0, true) !== 0x314c5453) return; // "STL1"
    var seq = view.getUint32(4, true);
    var captured = view.getFloat64(8, true);
    var rate = view.getUint32(16, true);
    state.latencies.push(now_s() - captured);
    if (state.latencies.length > 600) state.latencies.shift();
    if (expected !== null && seq > expected) state.lost += seq - expected;
    expected = seq + 1;
    var pcm = new Int16Array(buffer, 20, (buffer.byteLength - 20) >> 1);
    var audio = context.createBuffer(1, pcm.length, rate);
    var out = audio.getChannelData(0);
    for (var i = 0; i < pcm.length; i++) out[i] = pcm[i] / 32768;
    var source = context.createBufferSource();
    source.buffer = audio;
    source.connect(filter);
    var t = context.currentTime;
    if (next < t + LEAD_S / 2 || next > t + MAX_AHEAD_S) {
      if (next > t + MAX_AHEAD_S) state.skipped++;
      next = t + LEAD_S;
    }
    source.start(next);
    // How long after its arrival this chunk is heard: the jitter buffer plus the output's own.
    state.ahead.push(next - t + (context.baseLatency || 0) + (context.outputLatency || 0));
    if (state.ahead.length > 600) state.ahead.shift();
    next += audio.duration;
    state.chunks++;
    state.seconds += audio.duration;
    var seconds = state.seconds.toLocaleString(document.documentElement.lang || "en",
      { minimumFractionDigits: 1, maximumFractionDigits: 1, useGrouping: false });
    status.textContent = say("heard", { seconds: seconds, lost: state.lost });
  }

  function apply() {
    if (!gain) return;
    gain.gain.value = Number(volume.value);
    window.stethoPlayer.tune(filter, band.value);
  }

  function start() {
    if (!context) {
      context = new (window.AudioContext || window.webkitAudioContext)();
      filter = window.stethoPlayer.filterFor(context, band.value);
      gain = context.createGain();
      filter.connect(gain).connect(context.destination);
    }
    context.resume();
    apply();
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + box.getAttribute("data-socket"));
    socket.binaryType = "arraybuffer";
    socket.onmessage = function (event) {
      if (typeof event.data === "string") {  // the hub cannot reach the broker
        state.error = event.data;
        status.textContent = say("unreachable", {});
        return;
      }
      play(event.data);
    };
    socket.onclose = function () { startButton.disabled = false; stopButton.disabled = true; };
    startButton.disabled = true;
    stopButton.disabled = false;
  }

  function stop() { if (socket) socket.close(); }

  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", stop);
  volume.addEventListener("input", apply);
  band.addEventListener("change", apply);
  window.addEventListener("pagehide", stop);
})();
