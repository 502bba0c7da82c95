// Sampler page: keep the scan field focused, and give a sound for every answer (WebAudio,
// no files). Works with a USB/Bluetooth scanner (types + Enter) or the keyboard.
(function () {
  var ctx = null;
  function audio() {
    if (!ctx) {
      var AC = window.AudioContext || window.webkitAudioContext;
      if (!AC) return null;
      ctx = new AC();
    }
    return ctx;
  }
  function tone(freq, start, dur, type) {
    var a = audio(); if (!a) return;
    var o = a.createOscillator(), g = a.createGain();
    o.type = type || "sine"; o.frequency.value = freq;
    g.gain.value = 0.25;
    o.connect(g); g.connect(a.destination);
    o.start(a.currentTime + start); o.stop(a.currentTime + start + dur);
  }
  var sounds = {
    ok: function () { tone(880, 0, 0.12); },
    tube: function () { tone(660, 0, 0.1); tone(990, 0.13, 0.1); },
    full: function () { tone(660, 0, 0.12); tone(880, 0.15, 0.12); tone(1100, 0.3, 0.2); },
    error: function () { tone(200, 0, 0.45, "square"); }
  };
  function settle(clear) {
    var panel = document.getElementById("sampler-panel");
    if (!panel) return;
    var s = panel.getAttribute("data-sound");
    if (s && sounds[s]) { try { sounds[s](); } catch (e) {} }
    if (s && navigator.vibrate) { navigator.vibrate(s === "error" ? [200, 80, 200] : 60); }
    var input = document.getElementById("scan-code");
    // With the camera on, focusing the field would pull the phone's keyboard over the picture.
    if (input && document.body.classList.contains("camera-on")) {
      if (clear) input.value = "";
    } else if (input) {
      // After an answer the field is emptied for the next scan; on page load it is only focused,
      // so a code a fast scanner typed while the page was loading is not lost.
      if (clear) input.value = "";
      input.focus();
    }
  }
  // The undo button goes once its minute is over (the server refuses it then anyway).
  var undoTimer = null;
  function undoCountdown() {
    if (undoTimer) { clearInterval(undoTimer); undoTimer = null; }
    var form = document.getElementById("undo");
    if (!form) return;
    var left = parseInt(form.getAttribute("data-seconds"), 10) || 0;
    undoTimer = setInterval(function () {
      left -= 1;
      var shown = form.querySelector(".left");
      if (shown) shown.textContent = String(Math.max(left, 0));
      if (left <= 0 || !document.body.contains(form)) {
        clearInterval(undoTimer); undoTimer = null;
        if (document.body.contains(form)) form.remove();
      }
    }, 1000);
  }
  document.addEventListener("DOMContentLoaded", function () { settle(false); undoCountdown(); });
  document.body.addEventListener("htmx:afterSwap", function () { settle(true); undoCountdown(); });
  // The first tap unlocks audio on phones.
  document.addEventListener("pointerdown", function () { var a = audio(); if (a && a.state === "suspended") a.resume(); }, { once: true });
})();
