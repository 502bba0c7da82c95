/* Copy buttons, without inline JavaScript (the pages run under a Content-Security-Policy;
 * data-print and data-confirm are behaviour.js's).
 *
 *   <button data-copy="text to copy">复制</button>
 *   <button data-copy-target="#element-id">复制</button>   (a textarea/input's value, else its text)
 *
 * navigator.clipboard exists only in a secure context (HTTPS or localhost); on a plain-HTTP LAN
 * address (http://192.168.x.x) it is undefined, so the text is put in a hidden textarea, selected
 * and copied with document.execCommand("copy"). After the click "已复制" (or, when both ways
 * fail, "请长按选择复制" and the text selected) shows next to the button for two seconds. The
 * labels come from the button's data-copied / data-copy-failed attributes when present
 * (translated by the template), else the Chinese defaults.
 */
(function () {
  "use strict";

  function textOf(button) {
    if (button.hasAttribute("data-copy")) return button.getAttribute("data-copy");
    var target = document.querySelector(button.getAttribute("data-copy-target"));
    if (!target) return "";
    return "value" in target && typeof target.value === "string" ? target.value : target.textContent;
  }

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.top = "0";
    area.style.left = "0";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.focus();
    area.select();
    area.setSelectionRange(0, text.length);
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (e) {
      ok = false;
    }
    document.body.removeChild(area);
    return ok;
  }

  function selectForHand(button) {
    // Both ways failed: select the visible text so a long press offers "copy".
    var target = button.hasAttribute("data-copy-target")
      ? document.querySelector(button.getAttribute("data-copy-target"))
      : null;
    if (!target) return;
    if (typeof target.select === "function") {
      target.focus();
      target.select();
    } else if (window.getSelection) {
      var range = document.createRange();
      range.selectNodeContents(target);
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    }
  }

  function show(button, ok) {
    var status = button.nextElementSibling;
    if (!status || !status.classList.contains("copy-status")) {
      status = document.createElement("span");
      status.className = "copy-status";
      status.setAttribute("role", "status");
      status.setAttribute("aria-live", "polite");
      button.insertAdjacentElement("afterend", status);
    }
    status.textContent = ok
      ? button.getAttribute("data-copied") || "已复制"
      : button.getAttribute("data-copy-failed") || "请长按选择复制";
    status.classList.toggle("bad", !ok);
    status.hidden = false;
    clearTimeout(status._timer);
    status._timer = setTimeout(function () {
      status.hidden = true;
    }, 2000);
    if (!ok) selectForHand(button);
  }

  function copy(button) {
    var text = textOf(button);
    if (navigator.clipboard && typeof navigator.clipboard.writeText === "function") {
      navigator.clipboard.writeText(text).then(
        function () {
          show(button, true);
        },
        function () {
          show(button, fallbackCopy(text));
        }
      );
    } else {
      show(button, fallbackCopy(text));
    }
  }

  document.addEventListener("click", function (event) {
    var el = event.target instanceof Element ? event.target : null;
    if (!el) return;
    var button = el.closest("[data-copy], [data-copy-target]");
    if (button) {
      event.preventDefault();
      copy(button);
    }
  });
})();
