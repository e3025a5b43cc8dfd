// The portal's add-the-app page: polls whether the app has activated and
// says so (an aria-live status), then offers Continue. Without script the
// "I activated the app, continue" button checks once.
"use strict";
(function () {
  var status = document.getElementById("activation-status");
  if (!status) return;
  var url = status.getAttribute("data-status-url");
  var tries = 0;
  function poll() {
    if (tries++ > 450) { status.textContent = "Still waiting. When the app is active, press Continue."; return; }
    fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.json();
    }).then(function (s) {
      if (s.active) {
        status.textContent = "The twostep app is active. You can now approve logins with it.";
        status.classList.add("status-success");
        var b = document.getElementById("activation-continue");
        if (b) { b.textContent = "Continue"; b.focus(); }
        return;
      }
      setTimeout(poll, 2000);
    }).catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
})();
