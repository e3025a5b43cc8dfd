// twostep pages: progressive enhancement only; every flow works without it.
// Copy buttons: <button type="button" data-copy="ID" hidden> copies the
// value (or text) of element ID and says so in its aria-live status.
// Print buttons: <button type="button" data-print hidden> print the page.
"use strict";
document.querySelectorAll("[data-copy],[data-print]").forEach(function (b) { b.hidden = false; });
document.addEventListener("click", function (e) {
  var b = e.target.closest("[data-copy],[data-print]");
  if (!b) return;
  if (b.hasAttribute("data-print")) { window.print(); return; }
  var el = document.getElementById(b.getAttribute("data-copy"));
  if (!el || !navigator.clipboard) return;
  var status = document.getElementById(b.getAttribute("data-copy") + "-status");
  navigator.clipboard.writeText(el.value !== undefined ? el.value : el.textContent).then(function () {
    if (status) status.textContent = "Copied.";
  }, function () {
    if (status) status.textContent = "Could not copy: select the text and copy it yourself.";
  });
});
// Progress: <div data-poll="SECONDS"> around a <progress> and a count is
// refreshed from the same address every SECONDS; when the answer no longer
// has that element (the work is done), the page loads it. Without this
// script the page's "Check again" link does the same by hand.
(function () {
  var box = document.querySelector("[data-poll]");
  if (!box || !window.fetch || !window.DOMParser) return;
  var every = Math.max(1, parseInt(box.getAttribute("data-poll"), 10) || 2) * 1000;
  function tick() {
    fetch(location.href, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (!r.ok) throw new Error("status " + r.status);
      return r.text();
    }).then(function (html) {
      var next = new DOMParser().parseFromString(html, "text/html").querySelector("[data-poll]");
      if (!next) { location.replace(location.href); return; }
      var p = box.querySelector("progress"), np = next.querySelector("progress");
      if (p && np) { p.max = np.max; p.value = np.value; p.textContent = np.textContent; }
      var c = box.querySelector("[data-count]"), nc = next.querySelector("[data-count]");
      if (c && nc && c.textContent !== nc.textContent) c.textContent = nc.textContent;
      setTimeout(tick, every);
    }).catch(function () { setTimeout(tick, every * 2); });
  }
  setTimeout(tick, every);
})();
