// The exam view's player: every <audio class="player"> goes through one Web Audio chain,
// source -> band filter (BiquadFilterNode) -> volume (GainNode) -> speakers, driven by the
// #volume slider and the #band choice. The bands come from the page (data-heart, data-lung:
// the analysis' own bands, stetho_signal.filters), so the ear hears what the picture shows.
(function () {
  "use strict";
  var controls = document.getElementById("player-controls");
  if (!controls) return;
  var volume = document.getElementById("volume");
  var shown = document.getElementById("volume-value");
  var band = document.getElementById("band");
  var context = null;
  var chains = [];

  function bandOf(name) {
    var text = controls.getAttribute("data-" + name);
    if (!text) return null;
    var parts = text.split(",");
    return [Number(parts[0]), Number(parts[1])];
  }

  // A second-order band-pass centred on the band's geometric middle with Q = f0 / width has
  // its -3 dB points at the band's edges (W3C Audio EQ Cookbook note, BPF with constant 0 dB
  // peak gain, which the Web Audio "bandpass" type follows). "off" is an all-pass: flat.
  function tune(filter, name) {
    var edges = bandOf(name);
    if (!edges) { filter.type = "allpass"; return; }
    var centre = Math.sqrt(edges[0] * edges[1]);
    filter.type = "bandpass";
    filter.frequency.value = centre;
    filter.Q.value = centre / (edges[1] - edges[0]);
  }

  function filterFor(ctx, name) {
    var filter = ctx.createBiquadFilter();
    tune(filter, name);
    return filter;
  }

  function wire(audio) {
    if (audio.stethoChain) return;
    if (!context) context = new (window.AudioContext || window.webkitAudioContext)();
    var source = context.createMediaElementSource(audio);
    var filter = filterFor(context, band.value);
    var gain = context.createGain();
    gain.gain.value = Number(volume.value);
    source.connect(filter).connect(gain).connect(context.destination);
    audio.stethoChain = { filter: filter, gain: gain };
    chains.push(audio.stethoChain);
  }

  // One decimal with the page's decimal mark (a comma in French), as the server writes it.
  function decimal(x) {
    return x.toLocaleString(document.documentElement.lang || "en",
      { minimumFractionDigits: 1, maximumFractionDigits: 1, useGrouping: false });
  }

  function apply() {
    chains.forEach(function (c) {
      c.gain.gain.value = Number(volume.value);
      tune(c.filter, band.value);
    });
    shown.textContent = decimal(Number(volume.value)) + "\u00d7";
    controls.setAttribute("data-active-band", band.value);
    controls.setAttribute("data-active-volume", volume.value);
  }

  Array.prototype.forEach.call(document.querySelectorAll("audio.player"), function (audio) {
    audio.addEventListener("play", function () {
      wire(audio);
      if (context.state === "suspended") context.resume();
    });
  });
  volume.addEventListener("input", apply);
  band.addEventListener("change", apply);
  apply();
  // For the browser tests: the same filter, to measure its response offline.
  window.stethoPlayer = { filterFor: filterFor, tune: tune, chains: chains };
})();
