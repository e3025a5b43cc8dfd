// twostep security keys: the WebAuthn ceremony in the page, for the
// prompt's "Use a security key", the portal's keys and the console's. The
// page carries the server's options (data-options); this script converts
// their base64url fields, asks the browser (navigator.credentials.create
// for a new key, .get to log in), writes the answer as JSON into the
// form's hidden field and submits it. Failures are announced through the
// role="status" region and the button lets the person try again. Without
// JavaScript the page says so.
"use strict";
(function () {
  var box = document.querySelector("[data-webauthn]");
  var form = box && document.getElementById(box.getAttribute("data-form"));
  var field = form && form.querySelector("input[name=credential]");
  var live = document.getElementById("key-status");
  var button = form && form.querySelector("button[type=submit]");
  if (!box || !form || !field || !live) return;
  function say(text) { live.textContent = text; }
  if (!window.PublicKeyCredential || !navigator.credentials) {
    say(box.getAttribute("data-unsupported"));
    if (button) button.disabled = true;
    return;
  }
  function fromB64(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function toB64(buf) {
    if (!buf) return null;
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  var kind = box.getAttribute("data-webauthn"); // "get" or "create"
  var running = false;
  function start() {
    if (running) return;
    running = true;
    var opts = JSON.parse(box.getAttribute("data-options")).publicKey;
    opts.challenge = fromB64(opts.challenge);
    if (opts.user) opts.user.id = fromB64(opts.user.id);
    (opts.allowCredentials || []).forEach(function (c) { c.id = fromB64(c.id); });
    (opts.excludeCredentials || []).forEach(function (c) { c.id = fromB64(c.id); });
    say(box.getAttribute("data-waiting"));
    var call = kind === "create" ? navigator.credentials.create({ publicKey: opts }) : navigator.credentials.get({ publicKey: opts });
    call.then(function (cred) {
      var r = cred.response, out = {
        id: cred.id, rawId: toB64(cred.rawId), type: cred.type,
        authenticatorAttachment: cred.authenticatorAttachment || undefined,
        clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
        response: { clientDataJSON: toB64(r.clientDataJSON) }
      };
      if (kind === "create") {
        out.response.attestationObject = toB64(r.attestationObject);
        if (r.getTransports) out.response.transports = r.getTransports();
      } else {
        out.response.authenticatorData = toB64(r.authenticatorData);
        out.response.signature = toB64(r.signature);
        out.response.userHandle = toB64(r.userHandle);
      }
      field.value = JSON.stringify(out);
      say(box.getAttribute("data-done"));
      form.submit();
    }).catch(function () {
      running = false;
      say(box.getAttribute("data-failed"));
      if (button) button.focus();
    });
  }
  form.addEventListener("submit", function (e) {
    if (!field.value) { e.preventDefault(); start(); }
  });
  if (box.hasAttribute("data-autostart")) start();
})();
