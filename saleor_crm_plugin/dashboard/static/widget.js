// The customer widget's one script.
//
// Height: tell Dashboard how tall the widget is (its `widgetResize` action), which Dashboard
// applies to the frame; until then the frame is 200 px high. Again whenever the height changes
// (a form opened, a notice shown).
//
// Language: Dashboard 3.23 posts this widget's form without the language and sends a POST
// widget no `localeChanged` either (only pages and popups get it). The server renders it in the
// language Dashboard last told a CRM page or the popup (their cookie, views.LOCALE_COOKIE), and
// its own forms post the language back. A Dashboard served from our own origin is read here
// directly: its setting (its localStorage "locale"), switched to without a reload.
(function () {
  "use strict";
  var main = document.querySelector("main"), last = 0, sent = 0;

  function report() {
    if (window.parent === window) { return; }
    var height = Math.ceil(main.getBoundingClientRect().bottom + window.scrollY + 8);
    if (height === last) { return; }
    last = height;
    sent += 1;
    window.parent.postMessage({ type: "widgetResize", payload: { actionId: "crm-widget-" + sent, height: height } }, "*");
  }

  function ours(locale) {
    // Dashboard's "ja", "pt-BR", "zh-Hans"... to a language of ours; else the store's
    var code = String(locale || "").toLowerCase().replace("_", "-").split("-")[0];
    var languages = (main.getAttribute("data-languages") || "").split(" ");
    return languages.indexOf(code) >= 0 ? code : main.getAttribute("data-store-lang");
  }

  function switchTo(locale) {
    var lang = ours(locale), catalogue = main.getAttribute("data-catalogue");
    if (!lang || !catalogue || lang === document.documentElement.lang) { return; }
    fetch(catalogue + lang + ".json").then(function (response) { return response.json(); }).then(function (answer) {
      document.querySelectorAll("[data-t]").forEach(function (node) {
        var word = answer.text[node.getAttribute("data-t")];
        if (word !== undefined) { node.textContent = word; }
      });
      document.querySelectorAll("input[name=locale]").forEach(function (input) { input.value = lang; });
      document.documentElement.lang = lang;
      report();
    });
  }

  function dashboardsOwn() {
    try {
      if (window.parent !== window && window.parent.location.origin === window.location.origin) {
        return window.localStorage.getItem("locale");
      }
    } catch (error) { /* Dashboard elsewhere: its window is not ours to read */ }
    return null;
  }

  // The date picker of "State on a date": a day picked shows its state at once.
  var picker = document.querySelector("#crm-state-form input[name=stateOn]");
  if (picker) {
    picker.addEventListener("change", function () {
      if (picker.value && picker.checkValidity()) { picker.form.submit(); }
    });
  }

  report();
  if (window.ResizeObserver) { new ResizeObserver(report).observe(main); }
  document.addEventListener("toggle", report, true);
  if (dashboardsOwn()) { switchTo(dashboardsOwn()); }
})();
