// The Mobile Plans app's JavaScript bridge, injected before any portal script runs
// (spec 2.2: "The app injects the global objects named below into the WebView").
// Placeholders filled by browser_mode.py: __MP_ALLOWED_ORIGINS__, __MP_ENUMS__.
// Every bridge function records the call and hands it to the app (Python) through the
// binding window.__mobilePlansBridge; the app answers later by calling the portal's
// registered script functions by name (InvokeScriptAsync).
(() => {
  "use strict";
  const allowed = __MP_ALLOWED_ORIGINS__;
  const enums = __MP_ENUMS__;
  if (window.top !== window) return;
  if (allowed.length && !allowed.includes(window.location.origin)) return;

  let counter = 0;
  const scripts = { registrationChangedScript: null, profileActivationCompleteScript: null };

  const send = (objectName, fn, args) => {
    const id = "mp-op-" + Date.now() + "-" + ++counter;
    const registered = {};
    for (const key of Object.keys(scripts)) {
      if (typeof scripts[key] === "string" && scripts[key]) registered[key] = scripts[key];
    }
    const call = {
      object: objectName, function: fn, scripts: registered,
      origin: window.location.origin, operationId: id,
    };
    let payload;
    try {
      payload = JSON.stringify({ ...call, args: Array.from(args) });
    } catch (error) {
      payload = JSON.stringify({ ...call, args: [], error: "arguments not serializable: " + error });
    }
    window.__mobilePlansBridge(payload);
    return { Id: id };
  };

  const withScripts = (target) => {
    const property = (name, key) => Object.defineProperty(target, name, {
      get: () => scripts[key],
      set: (value) => { scripts[key] = value; },
      enumerable: true,
    });
    property("registrationChangedScript", "registrationChangedScript");
    property("RegistrationCompleteScript", "registrationChangedScript");
    property("profileActivationCompleteScript", "profileActivationCompleteScript");
    return target;
  };

  const functions = (objectName, names) => {
    const target = {};
    for (const name of names) {
      target[name] = function () { return send(objectName, name, arguments); };
    }
    return target;
  };

  const define = (name, value) => Object.defineProperty(window, name, {
    value: Object.freeze(value), writable: false, configurable: false, enumerable: true,
  });

  const inlineNames = [
    "notifyProfileDownload", "notifyInlineProfileDownload",
    "notifyBalanceAddition", "notifyOperationCancel",
  ];
  for (const name of ["MobilePlansInlineOperations", "MobilePlansInlineProfile",
                      "MobilePlansInlineProfileDownload"]) {
    window[name] = withScripts(functions(name, inlineNames));
  }
  const legacyNames = [
    "notifyPurchaseWithProfileDownload", "notifyPurchaseDelayedProfile",
    "notifyBalanceAddition", "notifyCancelledPurchase", "notifyPurchaseResult",
  ];
  const createPurchaseMetaData = () => ({
    userAccount: null, purchaseInstrument: null, line: null, moDirectStatus: null, planName: null,
  });
  for (const name of ["MobilePlans", "DataMart"]) {
    const target = withScripts(functions(name, legacyNames));
    target.createPurchaseMetaData = createPurchaseMetaData;
    window[name] = target;
  }
  for (const [name, members] of Object.entries(enums)) define(name, { ...members });
})();
