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
