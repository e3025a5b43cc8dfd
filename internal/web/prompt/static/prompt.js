// twostep prompt: live status of a push or call. The waiting page works
// without this script (its Continue button checks once); with it, the page
// long-polls the status route and, once the request is approved, denied or
// timed out, submits Continue by itself. The status is announced through
// the page's role="status" region.
"use strict";
(function () {
  var box = document.querySelector("[data-status-url]");
  var form = document.getElementById("continue");
  var button = document.getElementById("continue-button");
  var live = document.getElementById("status-text");
  if (!box || !form || !live || !window.fetch) return;
  var url = box.getAttribute("data-status-url");
  if (button) button.hidden = true;
  function show(text) { if (text && live.textContent !== text) live.textContent = text; }
  function lost(text) {
    show(text || box.getAttribute("data-lost"));
    if (button) button.hidden = false;
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (r) {
        if (r.redirected || (r.headers.get("Content-Type") || "").indexOf("application/json") !== 0) {
          window.location.reload(); // the login ended or completed: the page says what next
          return null;
        }
        return r.json().then(function (s) { return { ok: r.ok, s: s }; });
      })
      .then(function (a) {
        if (!a) return;
        if (!a.ok) { lost(a.s && a.s.message); return; }
        show(a.s.message);
        if (a.s.result === "waiting") { poll(); return; }
        form.submit();
      })
      .catch(function () { lost(); });
  }
  poll();
})();
