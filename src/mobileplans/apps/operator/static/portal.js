/* Reference operator portal: hands the page's mp-callback block to the Mobile Plans app
   (spec 2.2; docs/activation.md "Portal contract") and shows what the app reports back
   through the two script names it registers. No third-party code, no pop-ups. */
(function () {
  "use strict";

  function text(el, key, fields) {
    var template = (el && el.getAttribute("data-" + key)) || "";
    return template.replace(/\{(\w+)\}/g, function (_, name) {
      return fields && fields[name] !== undefined ? String(fields[name]) : "";
    });
  }

  function parse(args) {
    if (typeof args !== "string") { return args || {}; }
    try { return JSON.parse(args); } catch (e) { return {}; }
  }

  /* profileActivationCompleteScript: f(activationArgs: JSON string) (spec 2.2.4) */
  window.mpActivationComplete = function (args) {
    var data = parse(args), el = document.getElementById("mp-activation-result");
    if (!el) { return; }
    var ok = data.activationResult === "success";
    el.textContent = text(el, ok ? "ok" : "failed", { result: data.activationResult || "", iccid: data.iccid || "" });
    el.className = ok ? "mp-ok" : "mp-error";
    el.setAttribute("data-mp-result", data.activationResult || "");
  };

  /* registrationChangedScript: f(registrationArgs: JSON string) (spec 2.2.4) */
  window.mpRegistrationChanged = function (args) {
    var data = parse(args), el = document.getElementById("mp-registration-result");
    if (!el) { return; }
    var state = data.networkRegistrationState || "";
    var ok = state === "home" || state === "roaming" || state === "partner";
    el.textContent = text(el, ok ? "ok" : "wait", { state: state });
    el.className = ok ? "mp-ok" : "";
    el.setAttribute("data-mp-result", state);
  };

  function callback() {
    var block = document.getElementById("mp-callback");
    if (!block) { return null; }
    try { return JSON.parse(block.textContent); } catch (e) { return null; }
  }

  function perform(call) {
    var target = window[call.object];
    if (!target || typeof target[call["function"]] !== "function") {
      document.documentElement.setAttribute("data-mp-bridge", "missing");
      return false;
    }
    var scripts = call.scripts || {};
    Object.keys(scripts).forEach(function (name) { target[name] = scripts[name]; });
    target[call["function"]].apply(target, call.args || []);
    document.documentElement.setAttribute("data-mp-bridge", "called");
    return true;
  }

  function start() {
    var brand = document.documentElement.getAttribute("data-brand");
    if (brand) { document.documentElement.style.setProperty("--brand", brand); }
    var call = callback();
    if (call) { perform(call); }
    Array.prototype.forEach.call(document.querySelectorAll("[data-mp-close]"), function (button) {
      button.addEventListener("click", function () { if (call) { perform(call); } });
    });
    forms().forEach(function (form) {
      form.addEventListener("submit", function (event) {
        /* a second press while the first is on its way would only be answered the same */
        if (form.getAttribute("data-mp-sent")) { event.preventDefault(); return; }
        form.setAttribute("data-mp-sent", "1");
      });
    });
    window.addEventListener("pageshow", function () {
      forms().forEach(function (form) { form.removeAttribute("data-mp-sent"); });
    });
  }

  function forms() {
    return Array.prototype.slice.call(document.querySelectorAll("form[data-mp-form]"));
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
