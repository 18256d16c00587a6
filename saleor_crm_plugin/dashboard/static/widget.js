// The customer widget's one script: tell Dashboard how tall the widget is (its `widgetResize`
// action), which Dashboard applies to the frame; until then the frame is 200 px high. Again
// whenever the height changes (a form opened, a notice shown).
(function () {
  "use strict";
  if (window.parent === window) { return; }
  var main = document.querySelector("main"), last = 0, sent = 0;
  function report() {
    var height = Math.ceil(main.getBoundingClientRect().bottom + window.scrollY + 8);
    if (height === last) { return; }
    last = height;
    sent += 1;
    window.parent.postMessage({ type: "widgetResize", payload: { actionId: "crm-widget-" + sent, height: height } }, "*");
  }
  report();
  if (window.ResizeObserver) { new ResizeObserver(report).observe(main); }
  document.addEventListener("toggle", report, true);
})();
