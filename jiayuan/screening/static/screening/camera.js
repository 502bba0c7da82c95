// Sampler page: scan QR codes and tube barcodes with the phone's camera.
//
// The camera button opens the back camera in a box above the scan form (outside the htmx panel,
// so it stays open from scan to scan). Each code read is put in the scan field and the form is
// submitted, exactly as a USB scanner or the keyboard would; while an answer is on its way, or for
// a moment after the same code, nothing more is sent. The browser's own BarcodeDetector is used
// where it exists (Android Chrome); elsewhere the vendored ZXing library (QR, Code 128, Code 39,
// EAN, ITF), loaded only when the camera is first opened.
(function () {
  var FORMATS = ["qr_code", "code_128", "code_39", "ean_13", "ean_8", "itf"];
  var box, video, toggle, label, note, canvas, stream = null, timer = null, busy = false;
  var last = { text: "", at: 0 }, detector = null, zxing = null, zxingLoading = null;

  function say(text) { if (note) { note.textContent = text || ""; note.hidden = !text; } }

  function loadZxing() {
    if (zxing) return Promise.resolve(zxing);
    if (!zxingLoading) {
      zxingLoading = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = toggle.getAttribute("data-lib");
        s.onload = function () {
          var Z = window.ZXing;
          var hints = new Map();
          hints.set(Z.DecodeHintType.POSSIBLE_FORMATS, [
            Z.BarcodeFormat.QR_CODE, Z.BarcodeFormat.CODE_128, Z.BarcodeFormat.CODE_39,
            Z.BarcodeFormat.EAN_13, Z.BarcodeFormat.EAN_8, Z.BarcodeFormat.ITF
          ]);
          hints.set(Z.DecodeHintType.TRY_HARDER, true);
          var reader = new Z.MultiFormatReader();
          reader.setHints(hints);
          zxing = { Z: Z, reader: reader };
          resolve(zxing);
        };
        s.onerror = function () { zxingLoading = null; reject(new Error("zxing")); };
        document.head.appendChild(s);
      });
    }
    return zxingLoading;
  }

  function makeDetector() {
    if (!("BarcodeDetector" in window)) return Promise.resolve(null);
    return window.BarcodeDetector.getSupportedFormats().then(function (supported) {
      var wanted = FORMATS.filter(function (f) { return supported.indexOf(f) >= 0; });
      return wanted.length ? new window.BarcodeDetector({ formats: wanted }) : null;
    }).catch(function () { return null; });
  }

  function readFrame() {
    if (!stream || video.readyState < 2 || !video.videoWidth) return Promise.resolve(null);
    if (detector) {
      return detector.detect(video).then(function (codes) { return codes.length ? codes[0].rawValue : null; });
    }
    // ZXing reads a canvas: at most 800 px wide is enough for a code that fills a third of the view.
    var scale = Math.min(1, 800 / video.videoWidth);
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext("2d", { willReadFrequently: true }).drawImage(video, 0, 0, canvas.width, canvas.height);
    try {
      var Z = zxing.Z;
      var bitmap = new Z.BinaryBitmap(new Z.HybridBinarizer(new Z.HTMLCanvasElementLuminanceSource(canvas)));
      return Promise.resolve(zxing.reader.decodeWithState(bitmap).getText());
    } catch (e) {
      return Promise.resolve(null); // nothing readable in this frame
    } finally {
      zxing.reader.reset();
    }
  }

  function submit(text) {
    var input = document.getElementById("scan-code");
    var form = input && input.form;
    if (!form) return;
    input.value = text;
    busy = true;
    if (form.requestSubmit) form.requestSubmit(); else form.dispatchEvent(new Event("submit", { cancelable: true, bubbles: true }));
  }

  function tick() {
    timer = null;
    if (!stream) return;
    var next = function () { if (stream) timer = setTimeout(tick, 150); };
    if (busy || document.hidden) { next(); return; }
    readFrame().then(function (text) {
      text = (text || "").trim();
      var now = Date.now();
      // The same code stays in view after it was sent: wait before sending it again.
      if (text && !(text === last.text && now - last.at < 3000)) {
        last = { text: text, at: now };
        submit(text);
      }
    }).catch(function () {}).then(next);
  }

  function stop() {
    if (timer) { clearTimeout(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    video.srcObject = null;
    box.hidden = true;
    document.body.classList.remove("camera-on");
    label.textContent = toggle.getAttribute("data-open");
    toggle.setAttribute("aria-pressed", "false");
  }

  function start() {
    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say(toggle.getAttribute("data-insecure"));
      return;
    }
    say(toggle.getAttribute("data-starting"));
    var decoder = makeDetector().then(function (d) { detector = d; return d ? null : loadZxing(); });
    var camera = navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } }
    });
    Promise.all([camera, decoder]).then(function (got) {
      stream = got[0];
      video.srcObject = stream;
      box.hidden = false;
      document.body.classList.add("camera-on");
      label.textContent = toggle.getAttribute("data-close");
      toggle.setAttribute("aria-pressed", "true");
      say("");
      var input = document.getElementById("scan-code");
      if (input) input.blur(); // no on-screen keyboard over the camera
      return video.play();
    }).then(function () { tick(); }).catch(function (err) {
      if (stream) stop();
      var denied = err && (err.name === "NotAllowedError" || err.name === "SecurityError");
      say(toggle.getAttribute(denied ? "data-denied" : "data-failed"));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    toggle = document.getElementById("camera-toggle");
    box = document.getElementById("camera");
    video = document.getElementById("camera-video");
    note = document.getElementById("camera-note");
    if (!toggle || !box || !video) return;
    label = toggle.querySelector(".label") || toggle;
    canvas = document.createElement("canvas");
    toggle.hidden = false;
    toggle.addEventListener("click", function () { if (stream) stop(); else start(); });
    document.body.addEventListener("htmx:afterSettle", function () { busy = false; });
    document.body.addEventListener("htmx:responseError", function () { busy = false; });
    document.body.addEventListener("htmx:sendError", function () { busy = false; });
    window.addEventListener("pagehide", function () { if (stream) stop(); });
  });
})();
