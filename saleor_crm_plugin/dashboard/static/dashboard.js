// The Dashboard's side of a CRM page: wait for the handshake (the staff token, in memory
// only), then read our GraphQL API with it. No token ever goes into a URL.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("crm-config").textContent);
  var t = config.text;  // the words of config.lang (views.py renders them; switchLanguage swaps)
  var token = null;
  var status = document.getElementById("crm-status");
  var content = document.getElementById("crm-content");
  var redraw = null;  // draws the page again from its last answer, in the words of now

  // --- Language: Dashboard 3.23 names it only in a `localeChanged` message after the
  // handshake ({type: "localeChanged", payload: {locale: "ja"}}, app-sdk's LocaleChangedEvent),
  // and again whenever staff switch it. The page switches its words without a reload, and
  // keeps the language in a cookie for the next page and the customer widget, which Dashboard
  // never tells (views.LOCALE_COOKIE).
  var wantedLang = config.lang;

  function ourLanguage(locale) {
    // Dashboard's "ja", "pt-BR", "zh-Hans"... to a language of ours; else the store's
    var code = String(locale || "").toLowerCase().replace("_", "-").split("-")[0];
    return config.languages.indexOf(code) >= 0 ? code : config.storeLanguage;
  }

  function rememberLocale(locale) {
    // partitioned (CHIPS): kept for our frames in this Dashboard even where third-party
    // cookies are blocked; those attributes need a secure context (https, localhost)
    var path = config.catalogue.replace(/\/i18n\/$/, "");
    var cookie = config.localeCookie + "=" + encodeURIComponent(locale) + "; Path=" + path + "; Max-Age=31536000";
    document.cookie = cookie + (window.isSecureContext ? "; SameSite=None; Secure; Partitioned" : "; SameSite=Lax");
  }

  function switchLanguage(lang) {
    wantedLang = lang;
    if (lang === config.lang) { return; }
    fetch(config.catalogue + lang + ".json").then(function (response) { return response.json(); }).then(function (answer) {
      if (wantedLang !== lang) { return; }  // staff switched again meanwhile
      t = answer.text;
      config.lang = lang;
      document.documentElement.lang = lang;
      document.querySelectorAll("[data-t]").forEach(function (node) {
        node.textContent = t[node.getAttribute("data-t")];
      });
      if (redraw) { redraw(); }
    });
  }

  function say(key, className) {
    // the status line: one of our words (kept in the language), or nothing
    status.textContent = key ? t[key] : "";
    if (key) { status.setAttribute("data-t", key); } else { status.removeAttribute("data-t"); }
    status.className = className || "muted";
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function number(value, decimals) {
    var options = decimals === undefined ? {} : { minimumFractionDigits: decimals, maximumFractionDigits: decimals };
    return Number(value).toLocaleString(config.lang === "ja" ? "ja-JP" : "en-US", options);
  }

  function graphql(query, variables) {
    return fetch(config.graphql, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
      body: JSON.stringify({ query: query, variables: variables || {} }),
    }).then(function (response) { return response.json(); });
  }

  function card(title, body, wide) {
    return el("section", { class: wide ? "card wide" : "card" }, [el("h2", {}, [title])].concat(body));
  }

  function table(headers, rows, numeric) {
    var head = el("tr", {}, headers.map(function (h, i) {
      return el("th", numeric[i] ? { class: "num" } : {}, [h]);
    }));
    return el("table", {}, [head].concat(rows.map(function (row) {
      return el("tr", {}, row.map(function (cell, i) {
        return el("td", numeric[i] ? { class: "num" } : {}, [cell]);
      }));
    })));
  }

  var QUERY = config.query;  // views.OVERVIEW_QUERY / SUBSCRIPTIONS_PAGE_QUERY

  function overview(data) {
    var cards = [];
    (data.crmRfm || []).forEach(function (group) {
      var scoring = el("p", { class: "muted crm-scoring", "data-group": group.group }, [t.scoring + ": " + (t["scoring_" + group.scoring] || group.scoring)]);
      cards.push(card(t.customers_by_segment + " (" + group.group + ")", [scoring, table(
        [t.segment, t.customers_count, t.share, t.revenue],
        group.segments.map(function (s) {
          return [s.name, number(s.customers), (100 * s.share).toFixed(1) + "%",
            number(s.revenue.amount) + " " + s.revenue.currency];
        }), [false, true, true, true])]));
      var max = 1;
      group.grid.forEach(function (row) { row.customersByF.forEach(function (n) { max = Math.max(max, n); }); });
      var grid = el("table", { class: "grid", "aria-label": t.rf_grid }, [el("tr", {}, [el("th", {}, ["R \\ F"])]
        .concat([1, 2, 3, 4, 5].map(function (f) { return el("th", {}, [String(f)]); })))]
        .concat(group.grid.slice().sort(function (a, b) { return b.r - a.r; }).map(function (row) {
          return el("tr", {}, [el("th", {}, [String(row.r)])].concat(row.customersByF.map(function (n) {
            var cell = el("td", {}, [number(n)]);
            cell.style.background = "rgba(var(--cell), " + (0.08 + 0.8 * n / max).toFixed(2) + ")";
            return cell;
          })));
        })));
      cards.push(card(t.rf_grid + " (" + group.group + ")", [grid]));
    });
    var total = 0;
    (data.crmRankDistribution || []).forEach(function (r) { total += r.customers; });
    cards.push(card(t.rank_distribution, [table([t.rank, t.customers_count, t.share],
      (data.crmRankDistribution || []).map(function (r) {
        var bar = el("div", { class: "bar" });
        bar.style.width = (total ? 100 * r.customers / total : 0).toFixed(1) + "%";
        return [r.name, number(r.customers), bar];
      }), [false, true, false])]));
    (data.crmRfm || []).forEach(function (group) {
      var names = [];
      group.history.forEach(function (point) {
        point.segments.forEach(function (s) { if (names.indexOf(s.name) < 0) { names.push(s.name); } });
      });
      var rows = group.history.slice().reverse().map(function (point) {
        var sizes = {};
        point.segments.forEach(function (s) { sizes[s.name] = s.customers; });
        return [point.computedAt.slice(0, 10)].concat(names.map(function (n) { return number(sizes[n] || 0); }));
      });
      cards.push(card(t.segments_over_time + " (" + group.group + ")",
        [table([""].concat(names), rows, [false].concat(names.map(function () { return true; })))]));
    });
    cards.push(card(t.outstanding_points, [table([t.points, t.available, t.pending],
      data.crmOverviewFigures.pointsLiability.map(function (p) {
        return [p.currency || "—", number(p.available), number(p.pending)];
      }), [false, true, true])]));
    cards.push(paidPointsCard(), freePointsCard());
    cards.push(card(t.subscription_figures, [table(
      ["", t.active, t.paused, t.attention, t.cancelled, t.churn, t.recurring_revenue],
      data.crmOverviewFigures.subscriptions.map(function (s) {
        return [s.channel, number(s.active), number(s.paused), number(s.attention),
          number(s.cancelledInPeriod), (100 * s.churnRate).toFixed(1) + "%",
          number(s.recurringRevenue.amount) + " " + s.recurringRevenue.currency];
      }), [false, true, true, true, true, true, true])], true));
    var at = data.crmOverviewFigures.subscriptionsComputedAt;
    content.replaceChildren(el("p", { id: "crm-notice", role: "status" }, []), el("div", { class: "cards" }, cards),
      el("p", { class: "muted" }, [t.computed_at + " " + new Date(at).toLocaleString(config.lang === "ja" ? "ja-JP" : "en-US")]));
  }

  // --- The points reports beside the outstanding points, kept across a language switch:
  // the base dates replayed from the ledger on request, the free points months as the
  // nightly computation stored them (staff may compute them now) ---
  var PAID_POINTS = "query($from: Int!, $to: Int!) { crmPaidPointsBaseDates(fromYear: $from, toYear: $to) {" +
    " baseDate currency unusedPoints unusedAmount { amount currency } issuedPoints issuedAmount { amount currency } exceedsThreshold } }";
  var FREE_POINTS = "query($from: String!, $to: String!) { crmFreePointsMonths(fromMonth: $from, toMonth: $to) {" +
    " computedAt months { month currency opening issued used expired reversed closing } } }";
  var COMPUTE_FREE_POINTS = "mutation { crmFreePointsMonthsCompute { queued computedAt errors { field message } } }";
  var today = new Date();
  var pointsReports = {
    paid: { from: String(today.getFullYear() - 1), to: String(today.getFullYear()), rows: null },
    free: { from: today.getFullYear() + "-01", to: today.getFullYear() + "-" + String(today.getMonth() + 1).padStart(2, "0"), rows: null },
  };

  function reportForm(kind, type, show) {
    var state = pointsReports[kind];
    var from = el("input", { id: "crm-" + kind + "-from", value: state.from, size: "8", "aria-label": t.report_from });
    var to = el("input", { id: "crm-" + kind + "-to", value: state.to, size: "8", "aria-label": t.report_to });
    var go = el("button", { type: "button", id: "crm-" + kind + "-show" }, [t.show]);
    function args() {
      state.from = from.value.trim();
      state.to = to.value.trim();
      return type === "year" ? { from: Number(state.from), to: Number(state.to) } : { from: state.from, to: state.to };
    }
    go.onclick = function () { show(args()); };
    var csv = el("button", { type: "button", class: "secondary", "data-csv": kind + "Points" }, [t.download_csv]);
    csv.onclick = function () {
      var range = args();
      downloadCsv(type === "year"
        ? { report: "paidPoints", fromYear: range.from, toYear: range.to }
        : { report: "freePoints", fromMonth: range.from, toMonth: range.to });
    };
    return el("div", { class: "toolbar" }, [
      el("label", {}, [t.report_from + " ", from]), el("label", {}, [t.report_to + " ", to]), go, csv]);
  }

  function reportAnswer(kind, field, answer) {
    if (answer.errors) { notice(answer.errors[0].message, true); return; }
    var report = answer.data[field];
    if (kind === "free") {
      pointsReports.free.computedAt = report.computedAt;
      report = report.months;
    }
    pointsReports[kind].rows = report;
    if (redraw) { redraw(); }
  }

  function computeFreePoints() {
    graphql(COMPUTE_FREE_POINTS, {}).then(function (answer) {
      var data = answer.data && answer.data.crmFreePointsMonthsCompute;
      var errors = (data && data.errors) || answer.errors || [];
      notice(errors.length ? errors[0].message : t.free_points_computing, errors.length > 0);
    });
  }

  function paidPointsCard() {
    var rows = pointsReports.paid.rows;
    var body = [el("p", { class: "muted" }, [t.paid_points_help]), reportForm("paid", "year", function (range) {
      graphql(PAID_POINTS, range).then(function (answer) { reportAnswer("paid", "crmPaidPointsBaseDates", answer); });
    })];
    if (rows && !rows.length) { body.push(el("p", { class: "muted" }, [t.no_paid_points])); }
    if (rows && rows.length) {
      body.push(el("div", { id: "crm-paid-points" }, [table(
        [t.base_date, t.points, t.unused_amount, t.issued_half_year, t.notification],
        rows.map(function (r) {
          var notify = r.exceedsThreshold === null ? "—" : (r.exceedsThreshold ? t.threshold_exceeded : t.threshold_below);
          return [r.baseDate, number(r.unusedPoints), number(r.unusedAmount.amount) + " " + r.currency,
            number(r.issuedAmount.amount) + " " + r.currency, notify];
        }), [false, true, true, true, false])]));
    }
    return card(t.paid_points_report, body, true);
  }

  function freePointsCard() {
    var rows = pointsReports.free.rows;
    var compute = el("button", { type: "button", class: "secondary", id: "crm-free-compute" }, [t.compute_now]);
    compute.onclick = computeFreePoints;
    var body = [el("p", { class: "muted" }, [t.free_points_help]), reportForm("free", "month", function (range) {
      graphql(FREE_POINTS, range).then(function (answer) { reportAnswer("free", "crmFreePointsMonths", answer); });
    }), el("div", { class: "toolbar" }, [compute])];
    if (rows) {
      body.push(el("div", { id: "crm-free-points" }, [table(
        [t.month, t.currency, t.opening, t.issued, t.used, t.expired, t.reversed, t.closing],
        rows.map(function (r) {
          return [r.month, r.currency || "—", number(r.opening), number(r.issued), number(r.used),
            number(r.expired), number(r.reversed), number(r.closing)];
        }), [false, false, true, true, true, true, true, true])]));
      body.push(el("p", { class: "muted", id: "crm-free-computed" }, [t.free_points_computed_at + " " +
        new Date(pointsReports.free.computedAt).toLocaleString(config.lang === "ja" ? "ja-JP" : "en-US")]));
    }
    return card(t.free_points_report, body, true);
  }

  // --- Subscriptions: search by status, and the failed renewals with staff actions ---
  var ACTIONS = {
    retry: "mutation($id: ID!) { crmSubscriptionRetryRenewal(id: $id) { orderId errors { field message } } }",
    skip: "mutation($id: ID!) { crmSubscriptionSkipFailed(id: $id) { errors { field message } } }",
    cancel: "mutation($id: ID!, $reason: String!) { crmSubscriptionCancel(id: $id, reason: $reason) { errors { field message } } }",
  };
  var filterStatus = "attention";

  function act(kind, node, reason) {
    return graphql(ACTIONS[kind], { id: node.id, reason: reason }).then(function (answer) {
      var data = answer.data && answer.data[Object.keys(answer.data)[0]];
      var errors = (data && data.errors) || answer.errors || [];
      notice(errors.length ? (errors[0].field ? errors[0].field + ": " : "") + errors[0].message
        : t.saved, errors.length > 0);
      load();
    });
  }

  function notice(message, error) {
    var box = document.getElementById("crm-notice");
    box.textContent = message;
    box.className = error ? "denied" : "ok";
  }

  function subscriptionRow(node) {
    var failed = node.failedRenewal;
    var actions = el("td", {}, []);
    if (failed) {
      var retry = el("button", { type: "button", "data-action": "retry" }, [t.retry]);
      retry.onclick = function () { act("retry", node); };
      var skip = el("button", { type: "button", "data-action": "skip", class: "secondary" }, [t.skip]);
      skip.onclick = function () { act("skip", node); };
      actions.append(retry, " ", skip);
    }
    if (node.status !== "cancelled") {
      var reason = el("input", { name: "reason", placeholder: t.reason, "aria-label": t.reason });
      var cancel = el("button", { type: "button", "data-action": "cancel", class: "secondary" }, [t.cancel]);
      cancel.onclick = function () { act("cancel", node, reason.value); };
      actions.append(" ", reason, " ", cancel);
    }
    return el("tr", { "data-id": node.id }, [
      el("td", {}, [node.customerEmail || node.customerId]),
      el("td", {}, [node.lines.map(function (l) { return (l.productName || l.variantId) + " × " + l.quantity; }).join(", ")]),
      el("td", {}, [node.interval]),
      el("td", {}, [t["status_" + node.status] || node.status]),
      el("td", {}, [node.nextDeliveryOn || "—"]),
      el("td", { class: "error-cell" }, [failed ? failed.deliveryOn + ": " + failed.lastError + " (" + failed.attempts + ")" : ""]),
      actions,
    ]);
  }

  function subscriptions(data) {
    var select = el("select", { id: "crm-status-filter", "aria-label": t.status }, ["attention", "active", "paused", "cancelled", ""].map(function (s) {
      var option = el("option", { value: s }, [s ? t["status_" + s] : t.all]);
      if (s === filterStatus) { option.setAttribute("selected", "selected"); }
      return option;
    }));
    select.onchange = function () { filterStatus = select.value; load(); };
    var connection = data.crmSubscriptions;
    var head = el("tr", {}, [t.customer, t.items, t.interval, t.status, t.next_delivery, t.failed_renewal, ""].map(function (h) { return el("th", {}, [h]); }));
    content.replaceChildren(
      el("p", {}, [el("label", {}, [t.status + " ", select]), " ", number(connection.totalCount)]),
      el("p", { id: "crm-notice", role: "status" }, []),
      el("table", { id: "crm-subscriptions" }, [head].concat(connection.edges.map(function (e) { return subscriptionRow(e.node); }))));
  }

  // --- Duplicates: candidate pairs with the evidence and each side's figures; staff pick
  // the profile that stays and confirm; the merges below can be undone.
  var MERGE = config.mutations.merge;  // views.MERGE
  var UNMERGE = config.mutations.unmerge;  // views.UNMERGE
  var pendingMerge = null;  // [candidate id, the customer id that stays] awaiting confirmation

  function sideCell(side) {
    var spend = side.spend.map(function (s) { return number(s.amount) + " " + s.currency; }).join(", ");
    return el("td", { class: "crm-side" }, [
      el("strong", {}, [side.email || side.customerId]), " ",
      el("span", { class: "muted" }, [side.isGuest ? t.guest : t.account]),
      el("br", {}, []),
      number(side.orders) + " " + t.orders_unit + (spend ? " · " + spend : "") +
        " · " + number(side.points) + " " + t.points_unit +
        (side.rank ? " · " + side.rank : "") +
        (side.lastOrderAt ? " · " + t.last_order + " " + side.lastOrderAt.slice(0, 10) : ""),
    ]);
  }

  function mergeAnswer(answer, field, okKey) {
    var errors = (answer.data && answer.data[field] && answer.data[field].errors) || answer.errors || [];
    notice(errors.length ? (errors[0].field ? errors[0].field + ": " : "") + errors[0].message : t[okKey], errors.length > 0);
    pendingMerge = null;
    load();
  }

  function keepButton(node, keep, absorbed) {
    var confirming = pendingMerge && pendingMerge[0] === node.id && pendingMerge[1] === keep.customerId;
    var button = el("button", { type: "button", "data-action": confirming ? "confirm-merge" : "keep", "data-keep": keep.customerId, class: confirming ? "" : "secondary" },
      [confirming ? t.confirm_merge : t.keep_this]);
    button.onclick = function () {
      if (!confirming) { pendingMerge = [node.id, keep.customerId]; redraw(); return; }
      graphql(MERGE, { customer: absorbed.customerId, into: keep.customerId, evidence: node.evidence })
        .then(function (answer) { mergeAnswer(answer, "crmCustomerMerge", "merged"); });
    };
    return button;
  }

  function duplicates(data) {
    var pairs = data.crmDuplicateCandidates;
    var head = el("tr", {}, [t.customer, "", t.customer, "", t.evidence].map(function (h) { return el("th", {}, [h]); }));
    var rows = pairs.edges.map(function (e) {
      var node = e.node;
      return el("tr", { "data-id": node.id }, [
        sideCell(node.customer), el("td", {}, [keepButton(node, node.customer, node.other)]),
        sideCell(node.other), el("td", {}, [keepButton(node, node.other, node.customer)]),
        el("td", { class: "crm-evidence" }, [node.evidence.map(function (kind) { return t["evidence_" + kind.toLowerCase()]; }).join(", ")]),
      ]);
    });
    var merges = data.crmCustomerMerges;
    var mergeHead = el("tr", {}, [t.merged_customer, t.into, t.when, t.who, t.status, ""].map(function (h) { return el("th", {}, [h]); }));
    var mergeRows = merges.edges.map(function (e) {
      var node = e.node;
      var action = el("td", {}, []);
      if (node.inForce) {
        var undo = el("button", { type: "button", "data-action": "unmerge", class: "secondary" }, [t.unmerge]);
        undo.onclick = function () {
          graphql(UNMERGE, { id: node.id }).then(function (answer) { mergeAnswer(answer, "crmCustomerUnmerge", "unmerged"); });
        };
        action.appendChild(undo);
      }
      return el("tr", { "data-merge": node.id }, [
        sideCell(node.absorbed), sideCell(node.survivor), el("td", {}, [node.mergedAt.slice(0, 16).replace("T", " ")]),
        el("td", {}, [node.mergedBy]), el("td", { class: "crm-merge-status" }, [node.inForce ? t.in_force : t.undone]), action,
      ]);
    });
    content.replaceChildren(
      el("p", { class: "muted" }, [t.duplicates_help]),
      el("p", { id: "crm-notice", role: "status" }, []),
      card(t.duplicates + " (" + number(pairs.totalCount) + ")", [rows.length
        ? el("table", { id: "crm-duplicates" }, [head].concat(rows))
        : el("p", { class: "muted" }, [t.no_duplicates])], true),
      card(t.merge_history + " (" + number(merges.totalCount) + ")", [
        el("table", { id: "crm-merges" }, [mergeHead].concat(mergeRows))], true));
  }

  // --- Segments: the saved ones (CSV export), and a rule builder with a live count ---
  // The fields, operators and choices come from the API (crmSegmentRuleFields): one list.
  var ruleFields = {};
  var NUMERIC = ["int", "number", "days", "score", "points", "money"];
  var previewTimer = null;

  function zoneOffset(day) {
    // the store's UTC offset on that day ("+09:00"), so a date means midnight in store time
    var parts = new Intl.DateTimeFormat("en-US", { timeZone: config.zone, timeZoneName: "longOffset" })
      .formatToParts(new Date(day + "T12:00:00Z"));
    var name = parts.filter(function (p) { return p.type === "timeZoneName"; })[0].value.replace("GMT", "");
    return name || "+00:00";
  }

  function valueInputs(spec, op) {
    var inputs = [];
    function one(name) {
      if (spec.kind === "datetime") { return el("input", { type: "date", name: name, "aria-label": t.value }); }
      if (NUMERIC.indexOf(spec.kind) >= 0) { return el("input", { name: name, inputmode: "decimal", size: "8", "aria-label": t.value }); }
      if (["segment", "rank"].indexOf(spec.kind) >= 0) {
        return el("select", { name: name, multiple: "multiple", size: String(Math.min(4, spec.choices.length)), "aria-label": t.value },
          spec.choices.map(function (c) { return el("option", { value: c }, [c]); }));
      }
      if (spec.kind === "status") {
        return el("select", { name: name, "aria-label": t.value }, spec.choices.map(function (c) { return el("option", { value: c }, [c]); }));
      }
      if (["flag", "consent", "subscription"].indexOf(spec.kind) >= 0) {
        return el("select", { name: name, "aria-label": t.value }, [el("option", { value: "true" }, [t.yes]), el("option", { value: "false" }, [t.no])]);
      }
      return el("input", { name: name, "aria-label": t.value, placeholder: spec.kind === "place" ? t.comma_separated : "" });
    }
    inputs.push(one("value"));
    if (op === "between") { inputs.push(document.createTextNode("–"), one("value2")); }
    // the store's main currency (views._main_currency); none known yet: empty, to be typed
    if (spec.needs.indexOf("currency") >= 0) { inputs.push(el("input", { name: "currency", value: config.currency, size: "4", required: "required", "aria-label": t.currency, title: t.currency })); }
    if (spec.needs.indexOf("group") >= 0) { inputs.push(el("input", { name: "group", value: config.currency, size: "4", required: "required", "aria-label": t.group, title: t.group })); }
    if (spec.withinDays) { inputs.push(el("input", { name: "within_days", size: "4", inputmode: "numeric", placeholder: t.within_days, "aria-label": t.within_days })); }
    return inputs;
  }

  function conditionRow() {
    var field = el("select", { name: "field", "aria-label": t.field }, Object.keys(ruleFields).map(function (f) {
      return el("option", { value: f }, [t["field_" + f] || f]);
    }));
    var op = el("select", { name: "op", "aria-label": t.operator }, []);
    var values = el("span", { class: "values" }, []);
    var negate = el("input", { type: "checkbox", name: "not" });
    var remove = el("button", { type: "button", class: "secondary" }, ["×"]);
    var row = el("div", { class: "condition" }, [el("label", {}, [negate, " " + t.not]), field, op, values, remove]);
    function watch() {
      values.querySelectorAll("input, select").forEach(function (input) { input.oninput = schedulePreview; input.onchange = schedulePreview; });
    }
    function redraw() {
      // a currency or an RFM group typed stays when the field or the operator changes
      var kept = {};
      values.querySelectorAll("[name=currency], [name=group]").forEach(function (input) { kept[input.name] = input.value; });
      values.replaceChildren.apply(values, valueInputs(ruleFields[field.value], op.value));
      Object.keys(kept).forEach(function (name) {
        var input = values.querySelector("[name=" + name + "]");
        if (input) { input.value = kept[name]; }
      });
      watch();
    }
    function ops() {
      op.replaceChildren.apply(op, ruleFields[field.value].operators.map(function (o) { return el("option", { value: o }, [t["op_" + o] || o]); }));
      redraw();
    }
    field.onchange = function () { ops(); schedulePreview(); };
    op.onchange = function () { redraw(); schedulePreview(); };
    negate.onchange = schedulePreview;
    remove.onclick = function () { row.remove(); schedulePreview(); };
    ops();
    return row;
  }

  function conditionValue(spec, input) {
    if (input.multiple) { return Array.prototype.map.call(input.selectedOptions, function (o) { return o.value; }); }
    var raw = input.value.trim();
    // what does not parse goes as typed, so the answer quotes it
    if (spec.kind === "datetime") { return raw ? raw + "T00:00:00" + zoneOffset(raw) : raw; }
    if (spec.kind === "money") { return raw; }
    if (NUMERIC.indexOf(spec.kind) >= 0) { return raw === "" ? null : isNaN(Number(raw)) ? raw : Number(raw); }
    if (["flag", "consent", "subscription"].indexOf(spec.kind) >= 0) { return raw === "true"; }
    if (spec.kind === "place") { return raw ? raw.split(",").map(function (v) { return v.trim(); }) : []; }
    return raw;
  }

  function ruleFromForm() {
    var rows = Array.prototype.slice.call(document.querySelectorAll("#crm-rule .condition"));
    var conditions = rows.map(function (row) {
      var get = function (name) { return row.querySelector("[name=" + name + "]"); };
      var name = get("field").value, spec = ruleFields[name];
      var node = { field: name, op: get("op").value, value: conditionValue(spec, get("value")) };
      if (node.op === "between") { node.value = [node.value, conditionValue(spec, get("value2"))]; }
      ["currency", "group"].forEach(function (key) { if (get(key)) { node[key] = get(key).value.trim(); } });
      var within = get("within_days");
      if (within && within.value.trim()) { node.within_days = isNaN(Number(within.value)) ? within.value : Number(within.value); }
      return get("not").checked ? { not: node } : node;
    });
    var combine = document.getElementById("crm-combine").value;
    var rule = {};
    rule[combine] = conditions;
    return rule;
  }

  function schedulePreview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(preview, 300);
  }

  function unfinished(node) {
    // a condition still being filled in: no count yet, rather than an error
    if (node.not) { return unfinished(node.not); }
    var value = node.value, parts = Array.isArray(value) && node.op === "between" ? value : [value];
    if (node.currency === "" || node.group === "") { return true; }
    return parts.some(function (v) { return v === null || v === "" || (Array.isArray(v) && !v.length); });
  }

  function preview() {
    var count = document.getElementById("crm-preview"), rule = ruleFromForm();
    if (rule[Object.keys(rule)[0]].some(unfinished)) {
      count.textContent = t.matching + ": —";
      count.className = "muted";
      return;
    }
    graphql("query($rule: JSONString!) { crmSegmentPreview(rule: $rule, first: 1) { customers } }",
      { rule: rule }).then(function (answer) {
      if (answer.errors) {
        count.textContent = answer.errors[0].message;
        count.className = "denied";
      } else {
        count.textContent = t.matching + ": " + number(answer.data.crmSegmentPreview.customers);
        count.className = "ok";
      }
    });
  }

  function save() {
    var name = document.getElementById("crm-segment-name").value.trim();
    graphql("mutation($input: CRMSegmentInput!) { crmSegmentCreate(input: $input) { segment { id } errors { field message } } }",
      { input: { name: name, rule: ruleFromForm() } }).then(function (answer) {
      var result = answer.data && answer.data.crmSegmentCreate;
      var errors = (result && result.errors) || answer.errors || [];
      notice(errors.length ? (errors[0].field ? errors[0].field + ": " : "") + errors[0].message : t.saved, errors.length > 0);
      if (!errors.length) { load(); }
    });
  }

  function exportCsv(segment) {
    fetch(config.export, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
      body: JSON.stringify({ segment: segment.name }),
    }).then(function (response) {
      if (!response.ok) { notice(t.no_access, true); return null; }
      return response.blob();
    }).then(function (blob) {
      if (!blob) { return; }
      var link = el("a", { href: URL.createObjectURL(blob), download: segment.name + ".csv" }, []);
      document.body.appendChild(link);
      link.click();
      link.remove();
    });
  }

  function segments(data) {
    ruleFields = {};
    data.crmSegmentRuleFields.forEach(function (f) { ruleFields[f.name] = f; });
    var rows = data.crmSegments.map(function (s) {
      var button = el("button", { type: "button", class: "secondary", "data-export": s.name }, [t.export_csv]);
      button.onclick = function () { exportCsv(s); };
      return [s.name + (s.builtIn ? "" : " *"), number(s.customers), button];
    });
    var combine = el("select", { id: "crm-combine", "aria-label": t.combine }, [
      el("option", { value: "all" }, [t.all_hold]), el("option", { value: "any" }, [t.any_holds])]);
    combine.onchange = schedulePreview;
    var add = el("button", { type: "button", class: "secondary", id: "crm-add-condition" }, [t.add_condition]);
    var builder = el("div", { id: "crm-rule" }, [conditionRow()]);
    add.onclick = function () { builder.appendChild(conditionRow()); schedulePreview(); };
    var saveButton = el("button", { type: "button", id: "crm-save-segment" }, [t.save]);
    saveButton.onclick = save;
    content.replaceChildren(
      el("p", { id: "crm-notice", role: "status" }, []),
      el("div", { class: "cards" }, [
        card(t.segments, [table([t.segment, t.customers_count, ""], rows, [false, true, false])]),
        card(t.new_segment, [
          el("p", {}, [combine]), builder, el("p", {}, [add]),
          el("p", { id: "crm-preview", role: "status", class: "muted" }, [""]),
          el("p", {}, [el("input", { id: "crm-segment-name", placeholder: t.segment_name, "aria-label": t.segment_name }), " ", saveButton]),
        ]),
      ]));
    schedulePreview();
  }

  // --- Loyalty: the rank table (what-if preview, then save), points adjustments, the audit trail ---
  var RANK_PREVIEW = "query($ranks: String!, $window: String, $months: Int) {" +
    " crmRankPreview(ranks: $ranks, window: $window, inactiveMonths: $months) {" +
    " code name customersNow customersDraft movingUp movingDown } }";
  var RANK_SAVE = "mutation($ranks: String!, $window: String, $months: Int, $version: String!) {" +
    " crmRankSettingsSave(ranks: $ranks, window: $window, inactiveMonths: $months, version: $version) {" +
    " rankSettings { version } errors { field message code } } }";
  var FIND_CUSTOMER = "query($search: String!) { crmCustomers(first: 5, filter: { search: $search }) {" +
    " edges { node { id email } } } }";
  var POINTS_ADJUST = config.mutations.adjust;  // views.ADJUST, as the widget's form sends it
  var RANK_PIN = config.mutations.pin;  // views.PIN
  var rankVersion = null, previewed = null, adjustRequest = null;  // `rank`: the editor's draft

  function firstError(answer, key) {
    var result = answer.data && answer.data[key];
    var errors = (result && result.errors) || answer.errors || [];
    return errors.length ? (errors[0].field ? errors[0].field + ": " : "") + errors[0].message : null;
  }

  // The rank table as a form, one row per rank, with the settings' text as the advanced view.
  // The text is what is previewed and saved (the server's parser and checks judge it, and their
  // messages are shown at the row and field they name); the form writes it, and reads it back
  // as far as it can (readLadder follows loyalty/ranks.py's parse_ladder, leniently).
  var rank = null;  // {version, text, rows, currencies, window, months}: kept across redraws
  var rankTimer = null, rankTextOpen = false;  // the advanced view stays open once opened

  function readLadder(text) {
    var rows = [];
    var readable = text.split("\n").every(function (raw) {
      var line = raw.trim();
      if (!line || line.charAt(0) === "#") { return true; }
      var colon = line.indexOf(":"), head = colon < 0 ? line : line.slice(0, colon), spec = colon < 0 ? "" : line.slice(colon + 1);
      var found = /^(.*?)\(([^()]*)\)\s*$/.exec(head);
      if (!found || !found[1].trim()) { return false; }
      var row = { name: found[1].trim(), code: found[2].trim(), orders: "", spend: {}, points: "", combine: "any", multiplier: "", discount: "", perks: "" };
      var perks = spec.indexOf("; perks ");
      if (perks >= 0) { row.perks = spec.slice(perks + 8).trim(); spec = spec.slice(0, perks); }
      var parts = spec.split(";").map(function (p) { return p.trim(); });
      var thresholds = parts.shift() || "";
      if (thresholds) {
        row.combine = / and /.test(" " + thresholds + " ") ? "all" : "any";
        var ok = thresholds.split(row.combine === "all" ? " and " : " or ").every(function (c) {
          var w = c.trim().split(/\s+/);
          if (w.length === 2 && w[0] === "orders") { row.orders = w[1]; return true; }
          if (w.length === 2 && w[0] === "points") { row.points = w[1]; return true; }
          if (w.length === 3 && w[0] === "spend") { row.spend[w[2]] = w[1]; return true; }
          return false;
        });
        if (!ok) { return false; }
      }
      var benefits = parts.every(function (b) {
        if (!b) { return true; }
        if (/^points x/.test(b)) { row.multiplier = b.slice(8); return true; }
        if (/^discount .*%$/.test(b)) { row.discount = b.slice(9, -1); return true; }
        return false;
      });
      rows.push(row);
      return benefits;
    });
    return readable ? rows : null;
  }

  function writeLadder(rows) {
    return rows.map(function (row) {
      var thresholds = [];
      if (row.orders.trim()) { thresholds.push("orders " + row.orders.trim()); }
      rank.currencies.forEach(function (c) {
        if ((row.spend[c] || "").trim()) { thresholds.push("spend " + row.spend[c].trim() + " " + c); }
      });
      if (row.points.trim()) { thresholds.push("points " + row.points.trim()); }
      var benefits = [];
      if (row.multiplier.trim()) { benefits.push("points x" + row.multiplier.trim()); }
      if (row.discount.trim()) { benefits.push("discount " + row.discount.trim() + "%"); }
      if (row.perks.trim()) { benefits.push("perks " + row.perks.trim()); }
      var line = row.name.trim() + " (" + row.code.trim() + ")";
      if (thresholds.length || benefits.length) {
        line += ": " + thresholds.join(row.combine === "all" ? " and " : " or ") + benefits.map(function (b) { return "; " + b; }).join("");
      }
      return line;
    }).join("\n");
  }

  function currenciesOf(rows, more) {
    var found = (more || []).slice();
    rows.forEach(function (row) { Object.keys(row.spend).forEach(function (c) { if (found.indexOf(c) < 0) { found.push(c); } }); });
    return found;
  }

  // Which row and field a message of the server names: "Silver.min_orders: …" (a check) or
  // "line 3 (Silver): 'orders x' is not …" (the reading of a line).
  var RANK_FIELDS = { name: "name", code: "code", combine: "combine", min_orders: "orders", min_points: "points",
    points_multiplier: "multiplier", discount_percent: "discount", min_spend: "spend" };

  function rankErrorPlace(message) {
    var byLine = /^line (\d+) \(([^)]*)\): (?:'(\w+)(?: (x?)[^' ]*(?: (\w+))?)?)?/.exec(message);
    var byName = /^([^:]+?)\.(\w+)(?:\.(\w+))?: /.exec(message);
    var name = byLine ? byLine[2] : byName ? byName[1] : null;
    var index = -1;
    rank.rows.forEach(function (row, i) { if (index < 0 && row.name.trim() === name) { index = i; } });
    if (index < 0 && byLine) { index = Number(byLine[1]) - 1; }
    var field = null;
    if (byName) {
      field = RANK_FIELDS[byName[2]] || null;
      if (field === "spend") { field = "spend-" + (byName[3] || rank.currencies[0]); }
    } else if (byLine && byLine[3]) {
      var word = byLine[3];
      field = word === "points" ? (byLine[4] === "x" ? "multiplier" : "points")
        : word === "spend" ? "spend-" + (byLine[5] || rank.currencies[0]) : word === "orders" || word === "discount" ? word : null;
    } else if (/joined by 'and' or by 'or'/.test(message)) {
      field = "combine";
    }
    return { row: index, field: field };
  }

  function showRankError(message) {
    var form = document.getElementById("crm-rank-form");
    if (!form) { return; }
    var place = rankErrorPlace(message);
    var row = form.querySelector("tr[data-row='" + place.row + "']");
    if (!row) { return; }
    // the field outlined, the message right under the row, spanning it
    row.classList.add("invalid");
    var input = place.field && row.querySelector("[name='" + place.field + "']");
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", "crm-rank-error");
    }
    row.after(el("tr", { class: "row-error" }, [el("td", { colspan: String(row.children.length) }, [
      el("div", { class: "field-error", id: "crm-rank-error", role: "alert", "data-field": place.field || "" }, [message])])]));
  }

  function clearRankErrors() {
    document.querySelectorAll("#crm-rank-form tr.row-error").forEach(function (n) { n.remove(); });
    document.querySelectorAll("#crm-rank-form [aria-describedby]").forEach(function (n) { n.removeAttribute("aria-describedby"); });
    document.querySelectorAll("#crm-rank-form [aria-invalid]").forEach(function (n) { n.removeAttribute("aria-invalid"); });
    document.querySelectorAll("#crm-rank-form tr.invalid").forEach(function (n) { n.classList.remove("invalid"); });
  }

  function rankChanged(fromText) {
    // the form wrote the text, or the text was typed: bring the other side along
    if (fromText) {
      var rows = readLadder(rank.text);
      document.getElementById("crm-rank-unreadable").hidden = rows !== null;
      if (rows) { rank.rows = rows; rank.currencies = currenciesOf(rows, rank.currencies); drawRankForm(); }
    } else {
      rank.text = writeLadder(rank.rows);
      document.getElementById("crm-ranks").value = rank.text;
      document.getElementById("crm-rank-unreadable").hidden = true;
    }
    document.getElementById("crm-rank-save").disabled = previewed !== JSON.stringify(rankDraft());
    clearTimeout(rankTimer);
    rankTimer = setTimeout(rankPreview, 400);
  }

  function drawRankForm() {
    var form = document.getElementById("crm-rank-form");
    var head = [t.rank_name, t.rank_code, t.threshold_orders].concat(rank.currencies.map(function (c) { return t.threshold_spend + " " + c; }))
      .concat([t.threshold_points, t.combine, t.multiplier, t.discount, t.perks, ""]);
    var rows = rank.rows.map(function (row, i) {
      function input(name, value, size, set) {
        var box = el("input", { name: name, size: String(size), "aria-label": name, value: value });
        box.oninput = function () { set(box.value); rankChanged(false); };
        return el("td", {}, [box]);
      }
      var combine = el("select", { name: "combine", "aria-label": t.combine }, [
        el("option", { value: "any" }, [t.combine_any]), el("option", { value: "all" }, [t.combine_all])]);
      combine.value = row.combine;
      combine.onchange = function () { row.combine = combine.value; rankChanged(false); };
      function button(label, title, action) {
        var b = el("button", { type: "button", class: "secondary", title: title, "aria-label": title, "data-rank-action": action }, [label]);
        b.onclick = function () {
          if (action === "remove") { rank.rows.splice(i, 1); }
          if (action === "up" && i > 0) { rank.rows.splice(i - 1, 0, rank.rows.splice(i, 1)[0]); }
          if (action === "down" && i < rank.rows.length - 1) { rank.rows.splice(i + 1, 0, rank.rows.splice(i, 1)[0]); }
          drawRankForm();
          rankChanged(false);
        };
        return b;
      }
      return el("tr", { "data-row": String(i) }, [
        input("name", row.name, 12, function (v) { row.name = v; }),
        input("code", row.code, 10, function (v) { row.code = v; }),
        input("orders", row.orders, 4, function (v) { row.orders = v; }),
      ].concat(rank.currencies.map(function (c) {
        return input("spend-" + c, row.spend[c] || "", 8, function (v) { row.spend[c] = v; });
      })).concat([
        input("points", row.points, 6, function (v) { row.points = v; }),
        el("td", {}, [combine]),
        input("multiplier", row.multiplier, 4, function (v) { row.multiplier = v; }),
        input("discount", row.discount, 4, function (v) { row.discount = v; }),
        input("perks", row.perks, 14, function (v) { row.perks = v; }),
        el("td", { class: "row-actions" }, [button("↑", t.move_up, "up"), button("↓", t.move_down, "down"), button("×", t.remove, "remove")]),
      ]));
    });
    form.replaceChildren(el("tr", {}, head.map(function (h) { return el("th", {}, [h]); })));
    rows.forEach(function (row) { form.appendChild(row); });
  }

  function rankEditor(settings) {
    if (!rank || rank.version !== settings.version) {
      var rows = readLadder(settings.ranks) || [];
      rank = { version: settings.version, text: settings.ranks, rows: rows, currencies: currenciesOf(rows),
        window: settings.window, months: String(settings.inactiveMonths) };
    }
    var text = el("textarea", { id: "crm-ranks", rows: "8", spellcheck: "false", "aria-label": t.rank_table }, []);
    text.value = rank.text;
    text.oninput = function () { rank.text = text.value; rankChanged(true); };
    var window_ = el("input", { id: "crm-window", size: "32", value: rank.window, "aria-label": t.window });
    var months = el("input", { id: "crm-inactive", size: "4", inputmode: "numeric", value: rank.months, "aria-label": t.inactive_months });
    window_.oninput = function () { rank.window = window_.value; rankChanged(false); };
    months.oninput = function () { rank.months = months.value; rankChanged(false); };
    var add = el("button", { type: "button", class: "secondary", id: "crm-rank-add" }, [t.add_rank]);
    add.onclick = function () {
      rank.rows.push({ name: "", code: "", orders: "", spend: {}, points: "", combine: "any", multiplier: "", discount: "", perks: "" });
      drawRankForm();
      rankChanged(false);
      var rows = document.querySelectorAll("#crm-rank-form tr[data-row]");
      rows[rows.length - 1].querySelector("input").focus();
    };
    var currency = el("input", { id: "crm-rank-currency", size: "4", maxlength: "3", placeholder: "JPY", "aria-label": t.add_currency });
    var addCurrency = el("button", { type: "button", class: "secondary", id: "crm-rank-add-currency" }, [t.add_currency]);
    addCurrency.onclick = function () {
      var code = currency.value.trim().toUpperCase();
      if (code && rank.currencies.indexOf(code) < 0) { rank.currencies.push(code); drawRankForm(); }
      currency.value = "";
    };
    var advanced = el("details", rankTextOpen ? { id: "crm-rank-advanced", open: "open" } : { id: "crm-rank-advanced" }, [
      el("summary", {}, [t.advanced]),
      el("p", { id: "crm-rank-unreadable", class: "denied", hidden: "hidden" }, [t.text_unreadable]), text]);
    advanced.ontoggle = function () { rankTextOpen = advanced.open; };
    var previewButton = el("button", { type: "button", id: "crm-rank-preview-go", class: "secondary" }, [t.preview]);
    previewButton.onclick = rankPreview;
    var saveButton = el("button", { type: "button", id: "crm-rank-save" }, [t.save_rank_table]);
    saveButton.disabled = previewed !== JSON.stringify(rankDraft());
    saveButton.onclick = rankSave;
    var editor = el("div", { class: "rank-editor" }, [
      el("div", {}, [
        el("p", { class: "muted" }, [t.rank_table_help]),
        el("div", { class: "scroll" }, [el("table", { id: "crm-rank-form" }, [])]),
        el("p", { class: "condition" }, [add, currency, addCurrency]),
        advanced,
        el("p", { class: "condition" }, [el("label", {}, [t.window + " ", window_]), el("label", {}, [t.inactive_months + " ", months])]),
        el("p", {}, [previewButton, " ", saveButton]),
      ]),
      el("div", { id: "crm-rank-moves", "aria-live": "polite" }, []),
    ]);
    return editor;
  }

  function rankDraft() {
    var months = rank.months.trim();
    return {
      ranks: rank.text,
      window: rank.window.trim(),
      // what is not a whole number goes as typed, so the answer names it
      months: months === "" ? null : Number(months),
    };
  }

  function rankPreview() {
    var draft = rankDraft(), moves = document.getElementById("crm-rank-moves");
    if (draft.months !== null && !Number.isInteger(draft.months)) {
      notice("inactiveMonths: " + t.not_whole, true);
      return;
    }
    clearTimeout(rankTimer);
    graphql(RANK_PREVIEW, draft).then(function (answer) {
      if (JSON.stringify(draft) !== JSON.stringify(rankDraft())) { return; }  // typed on since
      clearRankErrors();
      if (answer.errors) {
        var error = answer.errors[0], field = error.extensions && error.extensions.exception && error.extensions.exception.field;
        notice((field && error.message.indexOf(field) !== 0 ? field + ": " : "") + error.message, true);
        if (field === "ranks") { showRankError(error.message.replace(/^ranks: /, "")); }
        moves.replaceChildren();
        return;
      }
      previewed = JSON.stringify(draft);
      document.getElementById("crm-rank-save").disabled = false;
      notice("", false);
      moves.replaceChildren(table([t.rank, t.customers_now, t.customers_after, t.moving_up, t.moving_down],
        answer.data.crmRankPreview.map(function (m) {
          return [m.name + " (" + m.code + ")", number(m.customersNow), number(m.customersDraft),
            m.movingUp ? "+" + number(m.movingUp) : "0", m.movingDown ? "−" + number(m.movingDown) : "0"];
        }), [false, true, true, true, true]));
    });
  }

  function rankSave() {
    var draft = rankDraft();
    if (previewed !== JSON.stringify(draft)) { notice(t.preview_first, true); return; }
    graphql(RANK_SAVE, Object.assign({ version: rankVersion }, draft)).then(function (answer) {
      var error = firstError(answer, "crmRankSettingsSave");
      notice(error || t.saved, !!error);
      if (!error) { previewed = null; load(); }
    });
  }

  function newRequest() {
    return window.crypto && crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
  }

  function adjustPoints() {
    var email = document.getElementById("crm-adjust-email").value.trim();
    var raw = document.getElementById("crm-adjust-points").value.trim();
    var reason = document.getElementById("crm-adjust-reason").value;
    var currency = document.getElementById("crm-adjust-currency").value.trim();
    var points = Number(raw);
    if (!raw || !Number.isInteger(points)) { notice("points: " + t.not_whole, true); return; }
    graphql(FIND_CUSTOMER, { search: email }).then(function (answer) {
      var found = ((answer.data && answer.data.crmCustomers && answer.data.crmCustomers.edges) || [])
        .map(function (e) { return e.node; })
        .filter(function (c) { return (c.email || "").toLowerCase() === email.toLowerCase(); });
      if (!found.length) { notice(t.no_such_customer, true); return; }
      sendAdjust(found[0].id, points, reason, currency);
    });
  }

  // The adjustment itself (the Loyalty page's and the popup's): one request id per filled
  // form, so a retry after a lost answer adjusts once; the new balance, or the refusal.
  // An empty currency: the customer's only one (the API names the field when it is needed).
  function sendAdjust(customerId, points, reason, currency) {
    adjustRequest = adjustRequest || newRequest();
    var variables = { id: customerId, points: points, reason: reason, request: adjustRequest, currency: currency || null };
    return graphql(POINTS_ADJUST, variables).then(function (answer) {
      var error = firstError(answer, "crmPointsAdjust");
      if (error) { notice(error, true); return; }
      adjustRequest = null;
      notice(t.saved + " · " + t.balance_now + ": " + number(answer.data.crmPointsAdjust.points.available), false);
      load();
    });
  }

  function redirectTo(path) {
    window.parent.postMessage({ type: "redirect", payload: { to: path, newContext: false, actionId: "crm-" + Date.now() } }, "*");
  }

  function linkTo(label, path) {
    var link = el("a", { href: "#" }, [label]);
    link.onclick = function (event) { event.preventDefault(); redirectTo(path); };
    return link;
  }

  function loyalty(data) {
    var settings = data.crmRankSettings;
    rankVersion = settings.version;
    var total = 0;
    data.crmRankDistribution.forEach(function (r) { total += r.customers; });
    var adjust = el("button", { type: "button", id: "crm-adjust-go" }, [t.adjust]);
    adjust.onclick = adjustPoints;
    var trail = data.crmAuditTrail.edges.map(function (edge) {
      var e = edge.node;
      // as Saleor names staff: "Name <email>", or the email; `staff:21` once the user is gone
      var label = e.actorEmail ? (e.actorName ? e.actorName + " <" + e.actorEmail + ">" : e.actorEmail) : e.actor;
      var who = e.actorId ? linkTo(label, "/staff/" + e.actorId) : label;
      var whom = e.customerId ? linkTo(e.customerEmail || e.customerId, "/customers/" + e.customerId) : (e.customerEmail || t.store_wide);
      return [new Date(e.at).toLocaleString(config.lang === "ja" ? "ja-JP" : "en-US"), who,
        t["action_" + e.action] || e.action, whom,
        e.points === null ? "" : (e.points > 0 ? "+" : "") + number(e.points), e.rank || "", e.reason];
    });
    content.replaceChildren(
      el("p", { id: "crm-notice", role: "status" }, []),
      el("div", { class: "cards" }, [
        card(t.rank_table, [rankEditor(settings)], true),
        card(t.rank_distribution, [table([t.rank, t.customers_count, t.share],
          data.crmRankDistribution.map(function (r) {
            return [r.name, number(r.customers), (total ? 100 * r.customers / total : 0).toFixed(1) + "%"];
          }), [false, true, true])]),
        card(t.adjust_points, [el("p", { class: "condition" }, [
          el("input", { id: "crm-adjust-email", type: "email", placeholder: t.customer_email, "aria-label": t.customer_email }),
          el("input", { id: "crm-adjust-points", size: "16", inputmode: "numeric", placeholder: t.points_change, "aria-label": t.points_change }),
          el("input", { id: "crm-adjust-reason", placeholder: t.reason, "aria-label": t.reason }),
          el("input", { id: "crm-adjust-currency", size: "10", maxlength: "3", placeholder: t.currency_optional, "aria-label": t.currency_optional }),
          adjust])]),
      ]),
      card(t.audit_trail + " (" + number(data.crmAuditTrail.totalCount) + ")", [el("div", { id: "crm-audit" }, [
        table([t.when, t.who, t.action, t.customer, t.points, t.rank, t.reason], trail, [false, false, false, false, true, false, false])])]));
    drawRankForm();
    document.getElementById("crm-rank-unreadable").hidden = readLadder(rank.text) !== null;
  }

  // --- Actions: the popup from a customer's page (adjust points, pin a rank) ---
  function actions(data) {
    var c = data.crmCustomer;
    if (!c) { content.replaceChildren(el("p", { class: "muted" }, [t.not_known])); return; }
    var points = el("input", { id: "crm-adjust-points", size: "16", inputmode: "numeric", "aria-label": t.points_change, placeholder: t.points_change });
    var reason = el("input", { id: "crm-adjust-reason", maxlength: "255", "aria-label": t.reason, placeholder: t.reason });
    var currency = el("input", { id: "crm-adjust-currency", size: "10", maxlength: "3", "aria-label": t.currency_optional, placeholder: t.currency_optional });
    var give = el("button", { type: "button", id: "crm-adjust-save" }, [t.save]);
    give.onclick = function () {
      var raw = points.value.trim();
      if (!/^[+-]?\d{1,9}$/.test(raw)) { notice("points: '" + raw + "' " + t.not_whole, true); return; }
      sendAdjust(config.customerId, Number(raw), reason.value, currency.value.trim());
    };
    var code = el("select", { id: "crm-pin-code", "aria-label": t.rank }, [el("option", { value: "" }, [t.unpin])].concat(
      data.crmRanks.map(function (r) {
        var held = c.membership.pinned && r.code === c.membership.rank.code;
        return el("option", held ? { value: r.code, selected: "selected" } : { value: r.code }, [r.name]);
      })));
    var why = el("input", { id: "crm-pin-reason", maxlength: "255", "aria-label": t.reason, placeholder: t.reason });
    var pin = el("button", { type: "button", id: "crm-pin-save" }, [t.save]);
    pin.onclick = function () {
      graphql(RANK_PIN, { id: config.customerId, code: code.value || null, reason: why.value }).then(function (answer) {
        var error = firstError(answer, "crmRankPin");
        notice(error || t.saved, !!error);
        if (!error) { load(); }
      });
    };
    var rank = c.membership.rank.name + (c.membership.pinned ? " (" + t.pinned + ")" : "");
    content.replaceChildren(
      el("p", { id: "crm-notice", role: "status" }, []),
      el("dl", {}, [
        el("dt", {}, [t.customer]), el("dd", {}, [[c.name, c.email].filter(Boolean).join(" · ") || "—"]),
        el("dt", {}, [t.rank]), el("dd", { id: "crm-rank" }, [rank]),
        el("dt", {}, [t.available]), el("dd", { id: "crm-points-available" }, [number(c.points.available)]),
        el("dt", {}, [t.pending]), el("dd", {}, [number(c.points.pending)]),
      ]),
      card(t.adjust_points, [el("p", { class: "condition" }, [points, reason, currency, give])], true),
      card(t.pin_rank, [el("p", { class: "condition" }, [code, why, pin])], true));
  }

  // --- Customers: the search with the list columns, linking to Saleor's customer page ---
  var search = { text: "", segment: "", minOrders: "", sort: "LAST_ORDER_AT" };

  function openCustomer(userId) {
    redirectTo("/customers/" + userId);  // Dashboard's app bridge navigates its own window
  }

  function customers(data) {
    var text = el("input", { id: "crm-search", value: search.text, placeholder: t.search, "aria-label": t.search });
    var segment = el("select", { id: "crm-segment-filter", "aria-label": t.segment }, [el("option", { value: "" }, [t.all])].concat(
      data.crmSegments.map(function (s) {
        var option = el("option", { value: s.name }, [s.name]);
        if (s.name === search.segment) { option.setAttribute("selected", "selected"); }
        return option;
      })));
    var minOrders = el("input", { id: "crm-min-orders", value: search.minOrders, size: "4", inputmode: "numeric", "aria-label": t.min_orders });
    var sort = el("select", { id: "crm-sort", "aria-label": t.sort }, ["LAST_ORDER_AT", "ORDER_COUNT", "NAME"].map(function (f) {
      var option = el("option", { value: f }, [t["sort_" + f.toLowerCase()]]);
      if (f === search.sort) { option.setAttribute("selected", "selected"); }
      return option;
    }));
    var go = el("button", { type: "button", id: "crm-search-go" }, [t.search]);
    go.onclick = function () {
      search = { text: text.value.trim(), segment: segment.value, minOrders: minOrders.value.trim(), sort: sort.value };
      load();
    };
    var connection = data.crmCustomers;
    var head = el("tr", {}, [t.customer, t.name, t.orders, t.last_order, t.lifetime_spend, t.segment, t.field_p_alive, t.field_predicted_clv, t.rank, t.place].map(function (h) { return el("th", {}, [h]); }));
    var rows = connection.edges.map(function (edge) {
      var c = edge.node;
      var who = c.email || "—";
      var cell = el("td", {}, [who]);
      if (c.userId) {
        var link = el("a", { href: "#", "data-user": c.userId }, [who]);
        link.onclick = function (event) { event.preventDefault(); openCustomer(c.userId); };
        cell = el("td", {}, [link]);
      }
      return el("tr", {}, [cell,
        el("td", {}, [c.name || ""]),
        el("td", { class: "num" }, [number(c.orderCount)]),
        el("td", {}, [c.lastOrderAt ? c.lastOrderAt.slice(0, 10) : "—"]),
        el("td", { class: "num" }, [c.spends.map(function (s) { return number(s.totalSpent.amount) + " " + s.currency; }).join(", ")]),
        el("td", {}, [c.scores.map(function (s) { return s.segment; }).join(", ")]),
        // the predictions per currency (none before the first nightly fit)
        el("td", { class: "num" }, [(c.predictions || []).map(function (p) { return number(p.pAlive, 2) + " " + p.currency; }).join(", ")]),
        el("td", { class: "num" }, [(c.predictions || []).filter(function (p) { return p.predictedClv; }).map(function (p) { return number(p.predictedClv.amount) + " " + p.currency; }).join(", ")]),
        el("td", {}, [c.rank || ""]),
        el("td", {}, [[c.countryArea, c.country].filter(Boolean).join(", ")]),
      ]);
    });
    content.replaceChildren(
      el("p", { class: "condition" }, [text, segment, el("label", {}, [t.min_orders + " ", minOrders]), el("label", {}, [t.sort + " ", sort]), go]),
      el("p", { class: "muted", id: "crm-total" }, [t.matching + ": " + totalText(connection)]),
      el("table", { id: "crm-customers" }, [head].concat(rows)));
    if (!connection.totalCountIsExact) { countExactly(connection.totalCount); }
  }

  // totalCount stops counting at 10,000: the page shows "10,000+", then asks for the exact
  // number (a separate query, slower on a broad search) and shows it when it answers.
  var CUSTOMER_COUNT = "query($filter: CRMCustomerFilterInput) { crmCustomerCount(filter: $filter) }";
  var exactCount = { key: null, count: null, failed: false };  // the last search counted

  function totalText(connection) {
    if (connection.totalCountIsExact) { return number(connection.totalCount); }
    var asked = exactCount.key === JSON.stringify(customerVariables().filter);
    if (asked && exactCount.count !== null) { return number(exactCount.count); }
    return number(connection.totalCount) + "+" + (asked && exactCount.failed ? "" : " (" + t.counting + ")");
  }

  function countExactly(atLeast) {
    var filter = customerVariables().filter;
    var key = JSON.stringify(filter);
    if (exactCount.key === key) { return; }  // asked already: answered, or on its way
    var asking = exactCount = { key: key, count: null, failed: false };
    function show(text) {
      var box = document.getElementById("crm-total");
      if (box && JSON.stringify(customerVariables().filter) === key) { box.textContent = t.matching + ": " + text; }
    }
    graphql(CUSTOMER_COUNT, { filter: filter }).then(function (answer) {
      var count = answer.data ? answer.data.crmCustomerCount : null;
      if (exactCount !== asking) { return; }  // another search since
      if (count === null || count === undefined) {
        asking.failed = true;
        show(number(atLeast) + "+");
        return;
      }
      asking.count = count;
      show(number(count));
    }, function () {
      if (exactCount === asking) { asking.failed = true; show(number(atLeast) + "+"); }
    });
  }

  function customerVariables() {
    var filter = {};
    if (search.text) { filter.search = search.text; }
    if (search.segment) { filter.segment = search.segment; }
    if (search.minOrders) { filter.numberOfOrders = { gte: Number(search.minOrders) }; }
    return { filter: filter, sort: { field: search.sort, direction: search.sort === "NAME" ? "ASC" : "DESC" } };
  }

  // --- Analytics: the prediction model per currency (fit, back-test), the cohorts, F2, the
  // repeat rate per product, the pairs bought together and LTV; stored results only, each
  // section asking again for its own when a selector changes. Charts: Chart.js (vendored).
  var ANALYTICS = config.page === "analytics" ? config.query : null;  // views.ANALYTICS_QUERIES
  var ana = {
    currency: null, measure: "retention", f2Channel: "",
    repeat: { level: "PRODUCT", channel: "", firstMonth: "", sortBy: { field: "REPEAT_RATE", direction: "DESC" } },
    pairs: { channel: null, kind: "ORDER", sortBy: "LIFT" },
  };
  var anaData = {};  // the last answer of each section
  var charts = [];   // Chart.js instances drawn now (destroyed before a redraw)
  var pendingCharts = [];

  function locale() { return config.lang === "ja" ? "ja-JP" : "en-US"; }

  function share(value) {
    // a share 0..1; null while nothing is observed yet
    if (value === null || value === undefined) { return "—"; }
    return new Intl.NumberFormat(locale(), { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(value);
  }

  function decimal(value, digits) {
    if (value === null || value === undefined) { return "—"; }
    return Number(value).toLocaleString(locale(), { maximumFractionDigits: digits === undefined ? 2 : digits });
  }

  function money(m) {
    if (!m) { return "—"; }
    try {
      return new Intl.NumberFormat(locale(), { style: "currency", currency: m.currency }).format(Number(m.amount));
    } catch (error) {
      return number(m.amount) + " " + m.currency;
    }
  }

  function day(value) {
    return value ? new Date(value).toLocaleDateString(locale(), { timeZone: config.zone }) : "—";
  }

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, key) { return values[key] === undefined ? all : values[key]; });
  }

  function option(value, label, chosen) {
    var node = el("option", { value: value }, [label]);
    if (value === chosen) { node.setAttribute("selected", "selected"); }
    return node;
  }

  function picker(id, label, options, chosen, change) {
    var select = el("select", { id: id, "aria-label": label }, options.map(function (o) { return option(o[0], o[1], chosen); }));
    select.onchange = function () { change(select.value); };
    return el("label", {}, [label + " ", select]);
  }

  function themeColors() {
    var style = getComputedStyle(document.documentElement);
    function v(name) { return style.getPropertyValue(name).trim(); }
    return { fg: v("--fg"), muted: v("--muted"), line: v("--line"), accent: v("--accent"), second: v("--accent-2"), third: v("--accent-3") };
  }

  function axis(title, colors, extra) {
    return Object.assign({ title: { display: true, text: title, color: colors.fg },
      ticks: { color: colors.muted }, grid: { color: colors.line } }, extra || {});
  }

  function drawChart(id, options) {
    var canvas = el("canvas", { id: id, role: "img", "aria-label": options.label });
    pendingCharts.push([canvas, options.chart]);  // drawn once in the page (their size)
    return el("div", { class: "chart" }, [canvas]);
  }

  function csvButton(report, body) {
    var button = el("button", { type: "button", class: "secondary", "data-csv": report }, [t.download_csv]);
    button.onclick = function () { downloadCsv(Object.assign({ report: report }, body)); };
    return button;
  }

  function downloadCsv(body) {
    // the token in a header, never in a URL; the file as the server names it
    fetch(config.exportAnalytics, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
      body: JSON.stringify(body),
    }).then(function (response) {
      if (!response.ok) {
        return response.json().then(function (answer) {
          var error = (answer.errors || [])[0];
          notice(error ? (error.field ? error.field + ": " : "") + error.message : t.no_access, true);
        }, function () { notice(t.no_access, true); });
      }
      var named = /filename="?([^";]+)"?/.exec(response.headers.get("Content-Disposition") || "");
      return response.blob().then(function (blob) {
        var link = el("a", { href: URL.createObjectURL(blob), download: named ? named[1] : body.report + ".csv" }, []);
        document.body.appendChild(link);
        link.click();
        link.remove();
      });
    });
  }

  function sortableTable(id, columns, rows, sorted, sortBy) {
    // columns: [{label, field (the API's sort field, or none), numeric}]; a click on a
    // sortable header sorts by it (again: the other direction)
    var head = el("tr", {}, columns.map(function (c) {
      var attrs = c.numeric ? { class: "num" } : {};
      if (!c.field) { return el("th", attrs, [c.label]); }
      var on = sorted && sorted.field === c.field;
      attrs["data-sort"] = c.field;
      attrs["aria-sort"] = on ? (sorted.direction === "ASC" ? "ascending" : "descending") : "none";
      var button = el("button", { type: "button", class: "sort" }, [c.label + (on ? (sorted.direction === "ASC" ? " ▲" : " ▼") : "")]);
      button.onclick = function () {
        sortBy({ field: c.field, direction: on && sorted.direction === "DESC" ? "ASC" : on ? "DESC" : c.field === "NAME" ? "ASC" : "DESC" });
      };
      return el("th", attrs, [button]);
    }));
    return el("div", { class: "scroll" }, [el("table", { id: id }, [head].concat(rows.map(function (row) {
      return el("tr", {}, row.map(function (cell, i) { return el("td", columns[i].numeric ? { class: "num" } : {}, [cell]); }));
    })))]);
  }

  function edges(connection) {
    return ((connection && connection.edges) || []).map(function (e) { return e.node; });
  }

  function sectionError(answer) {
    var error = answer && answer.errors && answer.errors[0];
    return error ? el("p", { class: "denied" }, [error.message]) : null;
  }

  // The model card: the fit in force, a failed latest fit beside it, and its back-test.
  function modelName(name) {
    return { bgnbd: "BG/NBD", pareto_nbd: "Pareto/NBD" }[name] || name;
  }

  function significant(value) {
    // a parameter to 4 significant figures; a very large or very small one in scientific
    // notation (3.282E8, 1.235E-7), which fixed decimals would print as 328,183,192 or 0
    if (value === null || value === undefined) { return "—"; }
    var size = Math.abs(Number(value));
    var scientific = size !== 0 && (size >= 1e6 || size < 1e-3);
    return new Intl.NumberFormat(locale(), { maximumSignificantDigits: 4, notation: scientific ? "scientific" : "standard" }).format(Number(value));
  }

  function params(list) {
    return list.map(function (p) { return p.name + " = " + significant(p.value); }).join(", ");
  }

  function thinWarning(fit) {
    // too thin for a stable fit (analytics/lifetime.py THIN_*, views.py passes them), in the
    // page's words; other warnings as the server gives them
    var thin = config.thin;
    if (fit.customers < thin.customers || fit.repeatCustomers < thin.repeatCustomers) {
      return fill(t.thin_data_warning, { customers: number(fit.customers), repeat: number(fit.repeatCustomers),
        min_customers: number(thin.customers), min_repeat: number(thin.repeatCustomers) });
    }
    return fit.warning;
  }

  function modelCard(fits) {
    var fit = fits.inForce, latest = fits.latest, body = [];
    if (latest && latest.status !== "ok") {
      body.push(el("p", { class: "denied crm-fit-failed" }, [t.latest_failed + " (" + day(latest.asOf) + "): " + (latest.error || "")]));
      body.push(el("p", { class: "muted" }, [fit ? t.fit_in_force + " " + day(fit.asOf) + "." : t.no_fit_in_force]));
    }
    if (!fit) { return card(t.model_card + " (" + fits.currency + ")", body, true); }
    var warning = thinWarning(fit);
    if (warning) { body.push(el("p", { class: "warning crm-fit-warning" }, [warning])); }
    var spend = fit.spend;
    var spendText = spend && spend.params.length ? params(spend.params) + " · " + t.log_likelihood + " " + decimal(spend.logLikelihood, 2)
      : t.no_spend_fit + (spend && spend.error ? ": " + spend.error : "");
    body.push(el("dl", { class: "crm-fit" }, [
      el("dt", {}, [t.model]), el("dd", { "data-fit": "model" }, [modelName(fit.model)]),
      el("dt", {}, [t.as_of]), el("dd", { "data-fit": "asOf" }, [day(fit.asOf)]),
      el("dt", {}, [t.learnt_from]), el("dd", { "data-fit": "customers" }, [number(fit.customers)]),
      el("dt", {}, [t.repeat_customers]), el("dd", { "data-fit": "repeatCustomers" }, [number(fit.repeatCustomers)]),
      el("dt", {}, [t.log_likelihood]), el("dd", { "data-fit": "logLikelihood" }, [decimal(fit.logLikelihood, 2)]),
      el("dt", {}, [t.parameters]), el("dd", { "data-fit": "params" }, [params(fit.params)]),
      el("dt", {}, [t.spend_fit]), el("dd", { "data-fit": "spend" }, [spendText]),
    ]));
    var test = fit.backtest;
    body.push(el("h3", {}, [t.backtest]));
    if (!test || test.error) {
      body.push(el("p", { class: "muted" }, [t.no_backtest + (test && test.error ? ": " + test.error : "")]));
      return card(t.model_card + " (" + fits.currency + ")", body, true);
    }
    var colors = themeColors(), buckets = test.buckets;
    body.push(el("p", { class: "muted" }, [fill(t.backtest_help, { weeks: number(test.holdoutWeeks) })]));
    var chart = drawChart("crm-backtest-" + fits.currency, { label: t.backtest + " " + fits.currency, chart: {
      type: "bar",
      data: {
        labels: buckets.map(function (b) { return b.bucket; }),
        datasets: [
          { type: "bar", label: t.actual, data: buckets.map(function (b) { return b.actual; }), backgroundColor: colors.second, order: 2 },
          { type: "line", label: t.predicted, data: buckets.map(function (b) { return b.predicted; }), borderColor: colors.accent,
            backgroundColor: colors.accent, pointRadius: 3, tension: 0, order: 1 },
        ],
      },
      options: {
        locale: locale(), animation: false, responsive: true, maintainAspectRatio: false,
        plugins: {
          legend: { labels: { color: colors.fg } },
          tooltip: { callbacks: {
            label: function (item) { return item.dataset.label + ": " + decimal(item.parsed.y, 3); },
            footer: function (items) { return items.length ? t.customers_count + ": " + number(buckets[items[0].dataIndex].customers) : ""; },
          } },
        },
        scales: { x: axis(t.bucket, colors), y: axis(t.holdout_axis, colors, { beginAtZero: true }) },
      },
    } });
    body.push(el("div", { class: "split" }, [chart, el("div", {}, [
      table([t.bucket, t.customers_count, t.predicted, t.actual], buckets.map(function (b) {
        return [b.bucket, number(b.customers), decimal(b.predicted, 3), decimal(b.actual, 3)];
      }), [false, true, true, true]),
      el("dl", { class: "crm-backtest-figures" }, [
        el("dt", {}, [t.predicted_total]), el("dd", {}, [decimal(test.predictedTotal, 1)]),
        el("dt", {}, [t.actual_total]), el("dd", {}, [number(test.actualTotal)]),
        el("dt", {}, [t.mean_absolute_error]), el("dd", {}, [decimal(test.meanAbsoluteError, 3)]),
      ]),
    ])]));
    return card(t.model_card + " (" + fits.currency + ")", body, true);
  }

  // The cohort heatmap: first-order month rows x months since, shaded by the measure.
  var MEASURES = { retention: "retention", revenue: "revenuePerCustomer", cumulative: "cumulativePerCustomer" };

  function cohortCard(currencies) {
    var answer = anaData.cohorts, cells = (answer && answer.data && answer.data.crmCohorts) || [];
    var controls = el("p", { class: "condition" }, [
      picker("crm-cohort-currency", t.currency, currencies.map(function (c) { return [c, c]; }), ana.currency, function (value) {
        ana.currency = value;
        Promise.all([askCohorts(), askLtv()]).then(drawAnalytics);
      }),
      picker("crm-cohort-measure", t.measure, [["retention", t.retention], ["revenue", t.revenue_per_customer], ["cumulative", t.cumulative_ltv]],
        ana.measure, function (value) { ana.measure = value; drawAnalytics(); }),
      csvButton("cohorts", { currency: ana.currency, channel: "" }),
    ]);
    var problem = sectionError(answer);
    if (problem || !cells.length) { return card(t.cohorts, [controls, problem || el("p", { class: "muted" }, [t.no_rows])], true); }
    var months = [], width = 0, byKey = {};
    cells.forEach(function (c) {
      if (months.indexOf(c.cohortMonth) < 0) { months.push(c.cohortMonth); }
      width = Math.max(width, c.monthsSince + 1);
      byKey[c.cohortMonth + "/" + c.monthsSince] = c;
    });
    months.sort();
    var field = MEASURES[ana.measure];
    function value(c) { return field === "retention" ? c.retention : Number(c[field].amount); }
    var max = 0;
    cells.forEach(function (c) { if (c.monthsSince > 0 || field !== "retention") { max = Math.max(max, value(c)); } });
    var head = el("tr", {}, [el("th", {}, [t.cohort_month]), el("th", { class: "num" }, [t.customers_count])].concat(
      Array.from({ length: width }, function (x, i) { return el("th", { class: "num" }, [String(i)]); })));
    var rows = months.map(function (month) {
      var first = byKey[month + "/0"];
      return el("tr", {}, [el("th", {}, [month]), el("td", { class: "num" }, [first ? number(first.customers) : "—"])].concat(
        Array.from({ length: width }, function (x, i) {
          var c = byKey[month + "/" + i];
          if (!c) { return el("td", { class: "empty" }, []); }
          var text = field === "retention" ? share(c.retention) : money(c[field]);
          var cell = el("td", { class: c.complete ? "cell" : "cell incomplete", "data-cohort": month, "data-months": String(i),
            title: month + " +" + i + ": " + number(c.active) + " / " + number(c.customers) + (c.complete ? "" : " " + t.incomplete) }, [text + (c.complete ? "" : " *")]);
          var strength = max > 0 ? Math.min(1, value(c) / max) : 0;
          cell.style.background = "rgba(var(--cell), " + (0.06 + 0.74 * strength).toFixed(2) + ")";
          if (strength > 0.55) { cell.classList.add("strong"); }
          return cell;
        })));
    });
    return card(t.cohorts + " (" + ana.currency + ")", [controls,
      el("div", { class: "scroll" }, [el("table", { id: "crm-cohorts", class: "heat" }, [head].concat(rows))]),
      el("p", { class: "muted" }, [t.incomplete])], true);
  }

  // F2: of each month's first-time buyers, the share ordering again within 30/60/90 days.
  function f2Rows(nodes, label) {
    return nodes.map(function (n) {
      return [label(n), number(n.firstBuyers), share(n.share30), share(n.share60), share(n.share90)];
    });
  }

  function f2Card(channels) {
    var answer = anaData.f2, data = (answer && answer.data) || {};
    var months = edges(data.months).filter(function (n) { return n.firstMonth; }).sort(function (a, b) { return a.firstMonth < b.firstMonth ? -1 : 1; });
    var whole = edges(data.months).filter(function (n) { return !n.firstMonth; });
    var controls = el("p", { class: "condition" }, [
      picker("crm-f2-channel", t.channel, channels, ana.f2Channel, function (value) { ana.f2Channel = value; askF2().then(drawAnalytics); }),
      csvButton("f2", { by: "ALL", channel: ana.f2Channel }),
    ]);
    var problem = sectionError(answer);
    if (problem || !months.length) { return card(t.f2, [controls, problem || el("p", { class: "muted" }, [t.no_rows])], true); }
    var colors = themeColors();
    function line(label, key, color) {
      return { label: label, data: months.map(function (n) { return n[key] === null ? null : 100 * n[key]; }), borderColor: color,
        backgroundColor: color, pointRadius: 3, tension: 0, spanGaps: false };
    }
    var chart = drawChart("crm-f2-chart", { label: t.f2, chart: {
      type: "line",
      data: { labels: months.map(function (n) { return n.firstMonth; }),
        datasets: [line(t.within_30, "share30", colors.accent), line(t.within_60, "share60", colors.second), line(t.within_90, "share90", colors.third)] },
      options: {
        locale: locale(), animation: false, responsive: true, maintainAspectRatio: false,
        plugins: { legend: { labels: { color: colors.fg } }, tooltip: { callbacks: {
          label: function (item) { return item.dataset.label + ": " + share(item.parsed.y / 100); },
          footer: function (items) { return items.length ? t.first_buyers + ": " + number(months[items[0].dataIndex].firstBuyers) : ""; },
        } } },
        scales: { x: axis(t.cohort_month, colors), y: axis(t.share_axis, colors, { beginAtZero: true, suggestedMax: 100 }) },
      },
    } });
    var head = [t.cohort_month, t.first_buyers, t.within_30, t.within_60, t.within_90], numeric = [false, true, true, true, true];
    var subscription = edges(data.subscription), product = edges(data.product);
    return card(t.f2, [controls, el("p", { class: "muted" }, [t.f2_help]), chart,
      el("div", { class: "scroll", id: "crm-f2" }, [table(head, f2Rows(whole, function () { return t.all_months; })
        .concat(f2Rows(months, function (n) { return n.firstMonth; })), numeric)]),
      el("div", { class: "split" }, [
        el("div", { id: "crm-f2-subscription" }, [el("h3", {}, [t.by_subscription]),
          table([t.by_subscription].concat(head.slice(1)), f2Rows(subscription, function (n) { return t["subscription_" + n.value] || n.value; }), numeric),
          csvButton("f2", { by: "SUBSCRIPTION_START", channel: ana.f2Channel, firstMonth: "" })]),
        el("div", { id: "crm-f2-product" }, [el("h3", {}, [t.by_first_product]),
          table([t.product_a].concat(head.slice(1)), f2Rows(product, function (n) { return n.name || n.value; }), numeric),
          csvButton("f2", { by: "FIRST_PRODUCT", channel: ana.f2Channel, firstMonth: "" })]),
      ])], true);
  }

  // The repeat rate per product (variant, category): sortable by the server.
  function repeatCard(channels) {
    var answer = anaData.repeat, q = ana.repeat;
    var connection = answer && answer.data && answer.data.crmProductRepeat;
    var months = edges(anaData.f2 && anaData.f2.data && anaData.f2.data.months)
      .map(function (n) { return n.firstMonth; }).filter(function (m, i, all) { return m && all.indexOf(m) === i; }).sort();
    function again(change) { Object.assign(q, change); askRepeat().then(drawAnalytics); }
    var controls = el("p", { class: "condition" }, [
      picker("crm-repeat-level", t.level, ["PRODUCT", "VARIANT", "CATEGORY"].map(function (l) { return [l, t["level_" + l]]; }), q.level, function (v) { again({ level: v }); }),
      picker("crm-repeat-channel", t.channel, channels, q.channel, function (v) { again({ channel: v }); }),
      picker("crm-repeat-month", t.cohort_month, [["", t.all_months]].concat(months.map(function (m) { return [m, m]; })), q.firstMonth, function (v) { again({ firstMonth: v }); }),
      csvButton("repeat", { level: q.level, channel: q.channel, firstMonth: q.firstMonth, sortBy: q.sortBy }),
    ]);
    var problem = sectionError(answer);
    if (problem || !connection) { return card(t.product_repeat, [controls, problem || el("p", { class: "muted" }, [t.no_rows])], true); }
    var columns = [
      { label: t["level_" + q.level], field: "NAME" }, { label: t.buyers, field: "BUYERS", numeric: true },
      { label: t.repeat_buyers, field: "REPEAT_BUYERS", numeric: true }, { label: t.repeat_rate, field: "REPEAT_RATE", numeric: true },
      { label: t.within_30, field: "SHARE_30", numeric: true }, { label: t.within_60, field: "SHARE_60", numeric: true },
      { label: t.within_90, field: "SHARE_90", numeric: true }, { label: t.within_180, field: "SHARE_180", numeric: true },
      { label: t.median_days_to_second, field: "MEDIAN_DAYS_TO_SECOND", numeric: true },
      { label: t.repeat_interval, field: "REPEAT_INTERVAL_DAYS", numeric: true },
    ];
    var rows = edges(connection).map(function (n) {
      return [n.name || n.item, number(n.buyers), number(n.repeatBuyers), share(n.repeatRate), share(n.share30), share(n.share60),
        share(n.share90), share(n.share180), decimal(n.medianDaysToSecond, 1), decimal(n.repeatIntervalDays, 1)];
    });
    return card(t.product_repeat + " (" + number(connection.totalCount) + ")", [controls,
      sortableTable("crm-repeat", columns, rows, q.sortBy, function (sortBy) { again({ sortBy: sortBy }); })], true);
  }

  // Pairs bought together, with what they were counted over.
  function pairsCard(runs) {
    var answer = anaData.pairs, q = ana.pairs;
    if (!runs.length || q.channel === null) { return card(t.basket_pairs, [el("p", { class: "muted" }, [fill(t.analytics_empty, { hour: config.analyticsHour })])], true); }
    var run = runs.filter(function (r) { return r.channel === q.channel && r.kind === q.kind; })[0];
    var windowDays = runs.filter(function (r) { return r.kind === "CUSTOMER"; }).map(function (r) { return r.windowDays; })[0];
    function again(change) { Object.assign(q, change); askPairs().then(drawAnalytics); }
    var channels = runs.map(function (r) { return r.channel; }).filter(function (c, i, all) { return all.indexOf(c) === i; });
    var controls = el("p", { class: "condition" }, [
      picker("crm-pairs-channel", t.channel, channels.map(function (c) { return [c, c]; }), q.channel, function (v) { again({ channel: v }); }),
      picker("crm-pairs-kind", t.pairs_of, [["ORDER", t.kind_ORDER], ["CUSTOMER", fill(t.kind_CUSTOMER, { days: windowDays === undefined || windowDays === null ? "N" : number(windowDays) })]],
        q.kind, function (v) { again({ kind: v }); }),
      csvButton("pairs", { channel: q.channel, kind: q.kind, sortBy: q.sortBy }),
    ]);
    var over = run ? el("p", { class: "muted", id: "crm-pairs-over" }, [fill(t.counted_over, {
      transactions: number(run.transactions), unit: run.kind === "ORDER" ? t.orders_unit : t.customers_unit,
      products: number(run.products), date: day(run.asOf), pairs: number(run.pairs), count: number(run.minCount),
      support: share(run.minSupport) })]) : el("p", { class: "muted" }, [t.no_rows]);
    var connection = answer && answer.data && answer.data.crmBasketPairs, problem = sectionError(answer);
    if (problem || !connection) { return card(t.basket_pairs, [controls, over, problem || el("p", { class: "muted" }, [t.no_rows])], true); }
    var columns = [{ label: t.product_a }, { label: t.product_b }, { label: t.together, field: "TOGETHER", numeric: true },
      { label: t.support, field: "SUPPORT", numeric: true }, { label: t.confidence_ab, field: "CONFIDENCE", numeric: true },
      { label: t.confidence_ba, numeric: true }, { label: t.lift, field: "LIFT", numeric: true }];
    var rows = edges(connection).map(function (n) {
      return [n.nameA || n.productA, n.nameB || n.productB, number(n.together), share(n.support), share(n.confidenceAB),
        share(n.confidenceBA), decimal(n.lift, 2)];
    });
    return card(t.basket_pairs + " (" + number(connection.totalCount) + ")", [controls, over,
      sortableTable("crm-pairs", columns, rows, { field: q.sortBy, direction: "DESC" }, function (sortBy) { again({ sortBy: sortBy.field }); })], true);
  }

  // LTV by RFM segment, rank and first product, in the chosen currency.
  function ltvCard(currencies) {
    var answer = anaData.ltv, data = (answer && answer.data) || {};
    var controls = el("p", { class: "condition" }, [
      picker("crm-ltv-currency", t.currency, currencies.map(function (c) { return [c, c]; }), ana.currency, function (value) {
        ana.currency = value;
        Promise.all([askCohorts(), askLtv()]).then(drawAnalytics);
      })]);
    var problem = sectionError(answer);
    if (problem) { return card(t.ltv, [controls, problem], true); }
    var parts = [["segment", "SEGMENT", t.ltv_segment], ["rank", "RANK", t.ltv_rank], ["product", "FIRST_PRODUCT", t.ltv_product]];
    return card(t.ltv + " (" + ana.currency + ")", [controls, el("div", { class: "split three" }, parts.map(function (part) {
      var nodes = edges(data[part[0]]);
      return el("div", { id: "crm-ltv-" + part[0] }, [el("h3", {}, [part[2]]),
        nodes.length ? el("div", { class: "scroll" }, [table(["", t.customers_count, t.average, t.median], nodes.map(function (n) {
          return [n.name || n.value, number(n.customers), money(n.average), money(n.median)];
        }), [false, true, true, true])]) : el("p", { class: "muted" }, [t.no_rows]),
        csvButton("ltv", { currency: ana.currency, by: part[1] })]);
    }))], true);
  }

  function askSection(name, variables) {
    return graphql(ANALYTICS[name], variables).then(function (answer) { anaData[name] = answer; });
  }

  function reportsComputed() {
    var runs = anaData.runs && anaData.runs.data;
    return !!(runs && runs.crmReportRun);
  }

  function askCohorts() {
    if (!reportsComputed() || !ana.currency) { return Promise.resolve(); }
    return askSection("cohorts", { currency: ana.currency, channel: "" });
  }

  function askLtv() {
    if (!reportsComputed() || !ana.currency) { return Promise.resolve(); }
    return askSection("ltv", { currency: ana.currency });
  }

  function askF2() {
    return reportsComputed() ? askSection("f2", { channel: ana.f2Channel }) : Promise.resolve();
  }

  function askRepeat() {
    var q = ana.repeat;
    return reportsComputed() ? askSection("repeat", { level: q.level, channel: q.channel, firstMonth: q.firstMonth, sortBy: q.sortBy }) : Promise.resolve();
  }

  function askPairs() {
    var q = ana.pairs;
    return q.channel === null ? Promise.resolve() : askSection("pairs", { channel: q.channel, kind: q.kind, sortBy: q.sortBy });
  }

  function analyticsCurrencies() {
    var data = anaData.fits.data, found = [];
    var run = anaData.runs && anaData.runs.data && anaData.runs.data.crmReportRun;
    (data.crmPredictionFits || []).map(function (f) { return f.currency; })
      .concat((data.crmRfm || []).map(function (g) { return g.group; }))
      .concat((run && run.currencies) || [])
      .forEach(function (c) { if (c && found.indexOf(c) < 0) { found.push(c); } });
    return found;
  }

  function most(items, size) {
    // the item of the largest size, the first listed on a tie; null for none
    return items.reduce(function (best, item) { return best === null || size(item) > size(best) ? item : best; }, null);
  }

  function mainCurrency(currencies) {
    // the currency of the most customers: the fits in force learnt from, else the RFM groups
    // scored, else the first listed
    var data = anaData.fits.data;
    var fit = most((data.crmPredictionFits || []).filter(function (f) { return f.inForce; }), function (f) { return f.inForce.customers; });
    var group = most(data.crmRfm || [], function (g) { return g.customers; });
    return fit ? fit.currency : group && group.customers > 0 ? group.group : currencies[0] || null;
  }

  function mainChannel(runs) {
    // the channel whose pairs were counted over the most transactions (orders, of the kind
    // shown first); channels are shown as their slugs
    var shown = runs.filter(function (r) { return r.kind === ana.pairs.kind; });
    return most(shown.length ? shown : runs, function (r) { return r.transactions; }).channel;
  }

  function drawAnalytics() {
    charts.forEach(function (chart) { chart.destroy(); });
    charts = [];
    pendingCharts = [];
    var fits = anaData.fits.data.crmPredictionFits || [];
    var runs = (anaData.runs && anaData.runs.data) || {}, basketRuns = runs.crmBasketRuns || [];
    var currencies = analyticsCurrencies();
    var empty = el("p", { class: "muted", id: "crm-analytics-empty" }, [fill(t.analytics_empty, { hour: config.analyticsHour })]);
    if (!fits.length && !runs.crmReportRun && !basketRuns.length) {
      content.replaceChildren(el("p", { id: "crm-notice", role: "status" }, []), card(t.analytics, [empty], true));
      return;
    }
    var channels = [["", t.all_channels]].concat(basketRuns.map(function (r) { return r.channel; })
      .filter(function (c, i, all) { return all.indexOf(c) === i; }).map(function (c) { return [c, c]; }));
    var sections = fits.map(modelCard);
    if (!fits.length) { sections.push(card(t.model_card, [empty.cloneNode(true)], true)); }
    if (runs.crmReportRun) {
      sections.push(el("p", { class: "muted", id: "crm-reports-as-of" }, [t.reports_as_of + " " + day(runs.crmReportRun.asOf)]));
      sections.push(cohortCard(currencies), f2Card(channels), repeatCard(channels));
    } else {
      sections.push(card(t.cohorts, [empty.cloneNode(true)], true));
    }
    sections.push(pairsCard(basketRuns));
    if (runs.crmReportRun) { sections.push(ltvCard(currencies)); }
    content.replaceChildren.apply(content, [el("p", { id: "crm-notice", role: "status" }, [])].concat(sections));
    pendingCharts.forEach(function (pending) {
      if (window.Chart) { charts.push(new window.Chart(pending[0], pending[1])); }
    });
    pendingCharts = [];
  }

  function analytics(fits) {
    // the first answer (the fits) came through load(); then what the reports were computed
    // over, then each section
    anaData = { fits: fits };
    return graphql(ANALYTICS.runs).then(function (runs) {
      anaData.runs = runs;
      var currencies = analyticsCurrencies();
      if (ana.currency === null || currencies.indexOf(ana.currency) < 0) { ana.currency = mainCurrency(currencies); }
      var basketRuns = (runs.data && runs.data.crmBasketRuns) || [];
      if (ana.pairs.channel === null && basketRuns.length) { ana.pairs.channel = mainChannel(basketRuns); }
      return Promise.all([askCohorts(), askF2(), askRepeat(), askPairs(), askLtv()]);
    }).then(drawAnalytics);
  }

  // --- Campaigns: the flow list (switch on and off, install the built-ins), the editor (the
  // definition as JSON, an error shown at the path the API names), the preview (who would
  // enter, each step rendered for a customer), a test send, the report with the measured
  // lift, the send log and the message templates.
  var CAMPAIGNS = config.page === "campaigns" ? config.query : null;  // views.CAMPAIGNS_QUERIES
  var SEND_STATUSES = ["PENDING", "SENDING", "SENT", "HELD", "SKIPPED", "FAILED"];
  var NEW_FLOW = {
    name: "", trigger: { kind: "first_order" },
    steps: [{ delay_days: 3, channel: "email", template: "thank_you" }],
    exits: ["ordered", "consent_withdrawn", "deleted"], control_share: 0.1, marketing: true,
  };
  var camp = {
    data: null, slug: null, newSlug: "", kind: "FLOW", draft: null, error: null,
    report: null, sends: null, sendsStatus: "", preview: null, previewError: null,
    previewEmail: "", testEmail: "", testStep: 0, template: null, templateDraft: null,
    templateError: null,
  };

  function errorOf(answer, key) {
    // a mutation's first payload error, else the request's own (permission, bad argument)
    var payload = answer.data && answer.data[key];
    var errors = (payload && payload.errors) || answer.errors || [];
    if (!errors.length) { return null; }
    var field = errors[0].field || (errors[0].extensions && errors[0].extensions.exception && errors[0].extensions.exception.field);
    var message = errors[0].message;
    if (field && message.indexOf(field + ": ") === 0) { message = message.slice(field.length + 2); }
    return { field: field || null, message: message };
  }

  function errorLine(error) {
    return (error.field ? error.field + ": " : "") + error.message;
  }

  function jsonPlaces(text) {
    // where each key (else value) of a JSON text starts, by its path as the API names it
    // ("$.steps[0].channel"); the text parses (JSON.parse said so)
    var places = {}, i = 0;
    function space() { while (i < text.length && /\s/.test(text[i])) { i++; } }
    function string() {
      var start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) { if (text[i] === "\\") { i++; } }
      i++;
      return JSON.parse(text.slice(start, i));
    }
    function value(path) {
      space();
      if (places[path] === undefined) { places[path] = i; }
      var open = text[i];
      if (open === "{" || open === "[") {
        i++;
        space();
        if (text[i] === (open === "{" ? "}" : "]")) { i++; return; }
        for (var n = 0; i < text.length; n++) {
          space();
          if (open === "{") {
            var at = i, key = string();
            places[path + "." + key] = at;
            space();
            i++;  // the colon
            value(path + "." + key);
          } else {
            value(path + "[" + n + "]");
          }
          space();
          if (text[i++] !== ",") { return; }
        }
      } else if (open === '"') {
        string();
      } else {
        while (i < text.length && !/[,\]\}\s]/.test(text[i])) { i++; }
      }
    }
    value("$");
    return places;
  }

  function showDefinitionError(textarea) {
    // the error beside the editor, and the text at its JSON path selected (the nearest
    // enclosing path the text has: "$.trigger.segment" when missing selects "$.trigger")
    var error = camp.error;
    if (!error || !textarea) { return; }
    var path = (error.field || "").replace(/^definition\.?/, "");
    if (!path || error.field.indexOf("definition") !== 0) { return; }
    textarea.setAttribute("aria-invalid", "true");
    var places;
    try { JSON.parse(textarea.value); places = jsonPlaces(textarea.value); } catch (e) { return; }
    while (path && places[path] === undefined) { path = path.replace(/(\.[^.\[]*|\[\d+\])$/, ""); }
    if (places[path] === undefined) { return; }
    var start = places[path], end = textarea.value.indexOf("\n", start);
    textarea.setSelectionRange(start, end < 0 ? textarea.value.length : end);
    var line = textarea.value.slice(0, start).split("\n").length;
    var box = document.getElementById("crm-definition-error");
    box.setAttribute("data-line", String(line));
  }

  function signedShare(value) {
    if (value === null || value === undefined) { return "—"; }
    return new Intl.NumberFormat(locale(), { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1, signDisplay: "exceptZero" }).format(value);
  }

  function interval(low, high, format) {
    return low === null || low === undefined ? "" : " (" + format(low) + " … " + format(high) + ")";
  }

  function storeDay(value) {
    // a store-local day ("2026-03-05"), shown as it is, in the page's language
    return value ? new Date(value + "T00:00:00Z").toLocaleDateString(locale(), { timeZone: "UTC" }) : "—";
  }

  function storeTime(value) {
    return value ? new Date(value).toLocaleString(locale(), { timeZone: config.zone }) : "—";
  }

  function campaignFlows() { return (camp.data && camp.data.crmCampaignFlows) || []; }

  function chosenFlow() {
    return campaignFlows().filter(function (f) { return f.slug === camp.slug; })[0] || null;
  }

  function reloadCampaigns() {
    return graphql(CAMPAIGNS.list).then(function (answer) {
      if (answer.data) { camp.data = answer.data; }
      drawCampaigns();
    });
  }

  function openFlow(slug) {
    camp.slug = slug;
    var flow = chosenFlow();
    camp.kind = flow ? flow.kind : "FLOW";
    camp.draft = flow ? JSON.stringify(JSON.parse(flow.definition), null, 2) : "";
    camp.error = null;
    camp.preview = null;
    camp.previewError = null;
    camp.report = null;
    camp.sends = null;
    camp.testStep = 0;
    return Promise.all([askReport(), askSends(false)]).then(drawCampaigns);
  }

  function askReport() {
    if (!camp.slug) { return Promise.resolve(); }
    return graphql(CAMPAIGNS.report, { slug: camp.slug }).then(function (answer) {
      camp.report = (answer.data && answer.data.crmCampaignReport) || null;
    });
  }

  function askSends(more) {
    if (!camp.slug) { return Promise.resolve(); }
    var after = more && camp.sends ? camp.sends.pageInfo.endCursor : null;
    return graphql(CAMPAIGNS.sends, { slug: camp.slug, status: camp.sendsStatus || null, after: after }).then(function (answer) {
      var page = answer.data && answer.data.crmCampaignSends;
      if (!page) { return; }
      if (more && camp.sends) { page.edges = camp.sends.edges.concat(page.edges); }
      camp.sends = page;
    });
  }

  function draftDefinition() {
    // the editor's JSON, or null with camp.error set
    try {
      return JSON.parse(camp.draft);
    } catch (error) {
      camp.error = { field: "definition", message: t.not_json + " (" + error.message + ")" };
      return null;
    }
  }

  function saveFlow() {
    var definition = draftDefinition();
    if (definition === null) { drawCampaigns(); return; }
    var slug = camp.slug || camp.newSlug;
    graphql(CAMPAIGNS.save, { slug: slug, definition: JSON.stringify(definition), kind: camp.kind }).then(function (answer) {
      camp.error = errorOf(answer, "crmCampaignFlowSave");
      if (camp.error) { drawCampaigns(); return; }
      notice(t.saved, false);
      camp.slug = slug;
      reloadCampaigns().then(function () { return openFlow(slug); });
    });
  }

  function switchFlow(flow, enabled) {
    graphql(CAMPAIGNS.enable, { slug: flow.slug, enabled: enabled }).then(function (answer) {
      var error = errorOf(answer, "crmCampaignFlowSetEnabled");
      if (error) {
        notice(errorLine(error), true);
        if (flow.slug === camp.slug) { camp.error = error; }
      } else {
        notice(t.saved, false);
      }
      reloadCampaigns();
    });
  }

  function installFlow(name) {
    graphql(CAMPAIGNS.install, { name: name }).then(function (answer) {
      var error = errorOf(answer, "crmCampaignFlowInstall");
      if (error) { notice(errorLine(error), true); return; }
      notice(t.installed_off, false);
      var slug = answer.data.crmCampaignFlowInstall.flow.slug;
      reloadCampaigns().then(function () { return openFlow(slug); });
    });
  }

  function deleteFlow() {
    if (!window.confirm(t.confirm_delete)) { return; }
    graphql(CAMPAIGNS.delete, { slug: camp.slug }).then(function (answer) {
      var error = errorOf(answer, "crmCampaignFlowDelete");
      if (error) { notice(errorLine(error), true); return; }
      notice(t.deleted, false);
      camp.slug = null;
      camp.draft = null;
      reloadCampaigns();
    });
  }

  function sendNow() {
    graphql(CAMPAIGNS.sendNow, { slug: camp.slug }).then(function (answer) {
      var error = errorOf(answer, "crmCampaignSendNow");
      if (error) { notice(errorLine(error), true); return; }
      notice(fill(t.sent_now, { count: number(answer.data.crmCampaignSendNow.entered) }), false);
      reloadCampaigns().then(function () { return Promise.all([askReport(), askSends(false)]); }).then(drawCampaigns);
    });
  }

  function customerByEmail(email) {
    // the customer's ID for an email (null: no email given), or a rejected promise
    if (!email) { return Promise.resolve(null); }
    return graphql(CAMPAIGNS.customer, { email: email }).then(function (answer) {
      var edges = (answer.data && answer.data.crmCustomers && answer.data.crmCustomers.edges) || [];
      if (!edges.length) { return Promise.reject({ field: "customer", message: t.no_such_customer }); }
      return edges[0].node.id;
    });
  }

  function runPreview() {
    var definition = draftDefinition();
    if (definition === null) { drawCampaigns(); return; }
    customerByEmail(camp.previewEmail.trim()).then(function (customer) {
      var variables = { definition: JSON.stringify(definition), kind: camp.kind, customer: customer };
      if (camp.slug) { variables.slug = camp.slug; }
      return graphql(CAMPAIGNS.preview, variables).then(function (answer) {
        var error = errorOf(answer, "crmCampaignPreview");
        camp.preview = error ? null : answer.data.crmCampaignPreview;
        camp.previewError = error;
        if (error && error.field && error.field.indexOf("definition") === 0) { camp.error = error; }
      });
    }, function (error) { camp.preview = null; camp.previewError = error; }).then(drawCampaigns);
  }

  function testSend() {
    customerByEmail(camp.previewEmail.trim()).then(function (customer) {
      return graphql(CAMPAIGNS.testSend, { slug: camp.slug, step: camp.testStep, email: camp.testEmail.trim(), customer: customer }).then(function (answer) {
        var error = errorOf(answer, "crmCampaignTestSend");
        notice(error ? errorLine(error) : t.test_sent, !!error);
      });
    }, function (error) { notice(errorLine(error), true); });
  }

  function saveTemplate() {
    var draft = camp.templateDraft;
    graphql(CAMPAIGNS.saveTemplate, { name: draft.name, subject: draft.subject, text: draft.text, html: draft.html }).then(function (answer) {
      camp.templateError = errorOf(answer, "crmMessageTemplateSave");
      if (camp.templateError) { drawCampaigns(); return; }
      notice(t.saved, false);
      camp.templateDraft = null;
      reloadCampaigns();
    });
  }

  function labelled(label, control) {
    return el("label", { class: "field" }, [el("span", { class: "muted" }, [label]), control]);
  }

  function flowsCard() {
    var flows = campaignFlows();
    var rows = flows.map(function (flow) {
      var toggle = el("input", { type: "checkbox", "data-enable": flow.slug, "aria-label": t.switched_on + ": " + flow.name });
      toggle.checked = flow.enabled;
      toggle.onchange = function () { switchFlow(flow, toggle.checked); };
      var open = el("button", { type: "button", class: "secondary", "data-open": flow.slug }, [t.open]);
      open.onclick = function () { openFlow(flow.slug); };
      return el("tr", { "data-slug": flow.slug, class: flow.slug === camp.slug ? "chosen" : "" }, [
        el("td", {}, [flow.name, el("div", { class: "muted" }, [flow.slug + (flow.builtIn ? " · " + t.built_in : "")])]),
        el("td", {}, [flow.trigger]),
        el("td", {}, [flow.kind === "BROADCAST" ? t.kind_BROADCAST : t.kind_FLOW]),
        el("td", { class: "num" }, [number(flow.entered)]),
        el("td", { class: "num" }, [number(flow.sent)]),
        el("td", {}, [toggle]),
        el("td", {}, [open]),
      ]);
    });
    var head = el("tr", {}, [t.flow, t.trigger, t.flow_kind, t.entered, t.sent, t.switched_on, ""].map(function (h, i) {
      return el("th", i === 3 || i === 4 ? { class: "num" } : {}, [h]);
    }));
    var body = [flows.length ? el("div", { class: "scroll" }, [el("table", { id: "crm-flows" }, [head].concat(rows))])
      : el("p", { class: "muted", id: "crm-no-flows" }, [t.no_flows])];
    var tools = el("div", { class: "toolbar" }, []);
    var builtIns = (camp.data && camp.data.crmCampaignBuiltIns) || [];
    if (builtIns.length) {
      var select = el("select", { id: "crm-built-in", "aria-label": t.install_built_in }, builtIns.map(function (b) {
        return el("option", { value: b.name }, [b.title]);
      }));
      var install = el("button", { type: "button", id: "crm-install" }, [t.install]);
      install.onclick = function () { installFlow(select.value); };
      tools.append(el("span", { class: "muted" }, [t.install_built_in + " "]), select, install);
    }
    var add = el("button", { type: "button", class: "secondary", id: "crm-new-flow" }, [t.new_flow]);
    add.onclick = function () {
      camp.slug = null;
      camp.newSlug = "";
      camp.kind = "FLOW";
      camp.draft = JSON.stringify(NEW_FLOW, null, 2);
      camp.error = null;
      camp.preview = null;
      camp.previewError = null;
      camp.report = null;
      camp.sends = null;
      drawCampaigns();
    };
    tools.append(add);
    return card(t.flows, body.concat([tools]), true);
  }

  function editorCard() {
    var existing = !!camp.slug;
    var slug = el("input", { type: "text", id: "crm-flow-slug", value: existing ? camp.slug : camp.newSlug, maxlength: "64" });
    if (existing) { slug.setAttribute("readonly", "readonly"); }
    slug.oninput = function () { camp.newSlug = slug.value; };
    var kind = el("select", { id: "crm-flow-kind" }, ["FLOW", "BROADCAST"].map(function (k) { return option(k, t["kind_" + k], camp.kind); }));
    if (existing) { kind.setAttribute("disabled", "disabled"); }
    kind.onchange = function () { camp.kind = kind.value; };
    var textarea = el("textarea", { id: "crm-definition", rows: "20", spellcheck: "false", "aria-describedby": "crm-definition-error" }, []);
    textarea.value = camp.draft || "";
    textarea.oninput = function () { camp.draft = textarea.value; textarea.removeAttribute("aria-invalid"); };
    var error = el("p", { id: "crm-definition-error", class: "field-error", role: "alert" }, camp.error ? [errorLine(camp.error)] : []);
    if (camp.error && camp.error.field) { error.setAttribute("data-field", camp.error.field); }
    var save = el("button", { type: "button", id: "crm-flow-save" }, [t.save]);
    save.onclick = saveFlow;
    var buttons = el("div", { class: "toolbar" }, [save]);
    var flow = chosenFlow();
    if (existing && flow && flow.kind === "BROADCAST") {
      var now = el("button", { type: "button", class: "secondary", id: "crm-send-now" }, [t.send_now]);
      now.onclick = sendNow;
      buttons.append(now);
    }
    if (existing) {
      var remove = el("button", { type: "button", class: "secondary", id: "crm-flow-delete" }, [t.delete]);
      remove.onclick = deleteFlow;
      buttons.append(remove);
    }
    var node = card(t.editor + (flow ? ": " + flow.name : ""), [
      el("div", { class: "split" }, [labelled(t.slug, slug), labelled(t.flow_kind, kind)]),
      labelled(t.definition, textarea), el("p", { class: "muted" }, [t.definition_help]), error, buttons], true);
    node.id = "crm-editor";
    return [node, textarea];
  }

  function previewCard() {
    var email = el("input", { type: "email", id: "crm-preview-email", value: camp.previewEmail });
    email.oninput = function () { camp.previewEmail = email.value; };
    var run = el("button", { type: "button", id: "crm-preview-run" }, [t.preview]);
    run.onclick = runPreview;
    var body = [el("div", { class: "toolbar" }, [labelled(t.preview_for, email), run])];
    if (camp.previewError) {
      body.push(el("p", { class: "field-error", id: "crm-preview-error" }, [errorLine(camp.previewError)]));
    }
    var p = camp.preview;
    if (p) {
      var figures = [el("dt", {}, [t.entering_today]), el("dd", { id: "crm-entering-today" }, [number(p.today)])];
      if (p.segmentMembers !== null) {
        figures.push(el("dt", {}, [t.segment_members]), el("dd", { id: "crm-segment-members" }, [number(p.segmentMembers)]));
      }
      body.push(el("dl", {}, figures));
      if (p.days.length) {
        var days = table([t.when, t.customers_count], p.days.map(function (d) {
          return [storeDay(d.day), number(d.customers)];
        }), [false, true]);
        days.id = "crm-preview-days";
        body.push(el("h3", {}, [t.entering_days]), days);
      } else if (p.segmentMembers !== null && camp.kind === "FLOW") {
        body.push(el("p", { class: "muted" }, [t.segment_flow_note]));
      }
      body.push(el("p", { class: "muted" }, [t.entering_help]));
      p.messages.forEach(function (m) {
        var frame = el("iframe", { class: "message-html", sandbox: "", title: t.html_part + " · " + t.step + " " + (m.step + 1) }, []);
        frame.srcdoc = m.html;
        body.push(el("div", { class: "message", "data-step": String(m.step) }, [
          el("h3", {}, [t.step + " " + (m.step + 1) + " · " + m.template + " · " + m.channel]),
          el("p", { class: "subject" }, [el("strong", {}, [t.subject + ": "]), m.subject]),
          el("div", { class: "split" }, [
            el("div", {}, [el("h3", {}, [t.text_part]), el("pre", { class: "message-text" }, [m.text])]),
            el("div", {}, m.html ? [el("h3", {}, [t.html_part]), frame] : []),
          ]),
        ]));
      });
      body.push(el("p", { class: "muted" }, [t.placeholders_note]));
    }
    var node = card(t.preview, body, true);
    node.id = "crm-preview";
    return node;
  }

  function testCard() {
    var flow = chosenFlow();
    var steps = [];
    try { steps = JSON.parse(flow.definition).steps || []; } catch (e) { steps = []; }
    var step = el("select", { id: "crm-test-step" }, steps.map(function (s, i) {
      return option(String(i), (i + 1) + " · " + s.template, String(camp.testStep));
    }));
    step.onchange = function () { camp.testStep = Number(step.value); };
    var email = el("input", { type: "email", id: "crm-test-email", value: camp.testEmail });
    email.oninput = function () { camp.testEmail = email.value; };
    var send = el("button", { type: "button", id: "crm-test-send" }, [t.send_test]);
    send.onclick = testSend;
    var node = card(t.test_send, [el("div", { class: "toolbar" }, [labelled(t.step, step), labelled(t.test_to, email), send]),
      el("p", { class: "muted" }, [t.placeholders_note])], true);
    node.id = "crm-test";
    return node;
  }

  function liftTables(report) {
    var parts = [];
    report.lift.forEach(function (row) {
      if (row.currency === null) {
        parts.push(el("h3", {}, [t.conversion_any_currency]), table(["", t.customers_count, t.converted, t.conversion],
          [[t.messaged, row.messaged], [t.control_group, row.control]].map(function (arm) {
            return [arm[0], number(arm[1].customers), number(arm[1].converted), share(arm[1].conversionRate)];
          }).concat([[t.difference, "", "", signedShare(row.conversion.difference) + interval(row.conversion.low, row.conversion.high, signedShare)]]),
          [false, true, true, true]));
        parts[parts.length - 1].id = "crm-lift-conversion";
      }
    });
    var moneyRows = report.lift.filter(function (row) { return row.currency !== null; }).map(function (row) {
      var r = row.revenuePerCustomer;
      return [row.currency, money(row.messaged.revenuePerCustomer), money(row.control.revenuePerCustomer),
        (r.difference ? money(r.difference) : "—") + (r.low ? " (" + money(r.low) + " … " + money(r.high) + ")" : "")];
    });
    if (moneyRows.length) {
      parts.push(el("h3", {}, [t.revenue_per_customer]),
        table([t.currency, t.messaged, t.control_group, t.difference], moneyRows, [false, true, true, true]));
      parts[parts.length - 1].id = "crm-lift-revenue";
    }
    return parts;
  }

  function sendsChart(days) {
    var colors = themeColors();
    var series = [["sent", colors.accent], ["held", colors.muted], ["skipped", colors.second], ["failed", "#d13b3b"], ["pending", colors.third]];
    return drawChart("crm-sends-chart", {
      label: t.sends_per_day,
      chart: {
        type: "bar",
        data: {
          labels: days.map(function (d) { return storeDay(d.day); }),
          datasets: series.map(function (s) {
            return { label: t["send_status_" + s[0]], data: days.map(function (d) { return d[s[0]]; }), backgroundColor: s[1] };
          }),
        },
        options: {
          responsive: true, maintainAspectRatio: false, animation: false,
          plugins: { legend: { labels: { color: colors.fg } } },
          scales: { x: axis(t.when, colors, { stacked: true }), y: axis(t.messages_axis, colors, { stacked: true, beginAtZero: true }) },
        },
      },
    });
  }

  function reportCard() {
    var r = camp.report;
    if (!r) { return null; }
    var exits = r.exited.map(function (e) { return e.reason + " × " + number(e.count); }).join(", ") || "—";
    var body = [el("dl", { id: "crm-report-figures" }, [
      el("dt", {}, [t.entered]), el("dd", {}, [number(r.entered)]),
      el("dt", {}, [t.exited]), el("dd", {}, [exits]),
      el("dt", {}, [t.unsubscribed]), el("dd", {}, [number(r.unsubscribed)]),
    ])];
    var steps = table([t.step, t.template, t.channel, t.send_status_pending, t.send_status_sent, t.send_status_held, t.send_status_skipped, t.send_status_failed, t.reasons],
      r.steps.map(function (s) {
        return [String(s.step + 1), s.template || "—", s.channel, number(s.pending), number(s.sent), number(s.held), number(s.skipped), number(s.failed),
          s.reasons.map(function (x) { return x.reason + " × " + number(x.count); }).join(", ")];
      }), [false, false, false, true, true, true, true, true, false]);
    steps.id = "crm-report-steps";
    body.push(el("div", { class: "scroll" }, [steps]));
    body.push(el("h2", {}, [t.measured_lift]), el("p", { class: "muted" }, [fill(t.lift_help, { days: r.windowDays })]));
    body = body.concat(liftTables(r));
    var attribution = table([t.currency, t.orders, t.revenue], r.attribution.map(function (a) {
      return [a.currency, number(a.orders), money(a.revenue)];
    }), [false, true, true]);
    attribution.id = "crm-attribution";
    body.push(el("h2", {}, [t.attribution]), el("p", { class: "muted" }, [fill(t.attribution_help, { days: r.windowDays })]),
      r.attribution.length ? attribution : el("p", { class: "muted" }, [t.no_rows]));
    body.push(el("h2", {}, [t.sends_per_day]), r.sendsPerDay.length ? sendsChart(r.sendsPerDay) : el("p", { class: "muted" }, [t.no_rows]));
    var node = card(t.report, body, true);
    node.id = "crm-report";
    return node;
  }

  function sendLogCard() {
    var page = camp.sends;
    var status = picker("crm-send-status", t.status, [["", t.all]].concat(SEND_STATUSES.map(function (s) {
      return [s, t["send_status_" + s.toLowerCase()]];
    })), camp.sendsStatus, function (value) {
      camp.sendsStatus = value;
      askSends(false).then(drawCampaigns);
    });
    var body = [el("div", { class: "toolbar" }, [status, el("span", { class: "muted" }, [page ? number(page.totalCount) : ""])])];
    if (page && page.edges.length) {
      var log = table([t.due_at, t.sent_at, t.customer, t.step, t.channel, t.status, t.reason, t.voucher],
        page.edges.map(function (edge) {
          var s = edge.node;
          return [storeTime(s.dueAt), storeTime(s.sentAt), s.customerEmail || s.customerId || "—", String(s.step + 1), s.channel,
            t["send_status_" + s.status.toLowerCase()], [s.reason, s.error].filter(Boolean).join(": "), s.voucherCode || ""];
        }), [false, false, false, true, false, false, false, false]);
      log.id = "crm-send-log";
      body.push(el("div", { class: "scroll" }, [log]));
      if (page.pageInfo.hasNextPage) {
        var more = el("button", { type: "button", class: "secondary", id: "crm-sends-more" }, [t.more]);
        more.onclick = function () { askSends(true).then(drawCampaigns); };
        body.push(more);
      }
    } else {
      body.push(el("p", { class: "muted" }, [t.no_rows]));
    }
    var node = card(t.send_log, body, true);
    node.id = "crm-sends";
    return node;
  }

  function templatesCard() {
    var templates = (camp.data && camp.data.crmMessageTemplates) || [];
    if (!templates.length) { return null; }
    var chosen = templates.filter(function (x) { return x.name === camp.template; })[0] || templates[0];
    camp.template = chosen.name;
    var draft = camp.templateDraft && camp.templateDraft.name === chosen.name ? camp.templateDraft
      : { name: chosen.name, subject: chosen.subject, text: chosen.text, html: chosen.html };
    camp.templateDraft = draft;
    var select = el("select", { id: "crm-template-name", "aria-label": t.template }, templates.map(function (x) {
      return option(x.name, x.name + " (" + (x.edited ? t.edited : t.as_shipped) + ")", chosen.name);
    }));
    select.onchange = function () { camp.template = select.value; camp.templateDraft = null; camp.templateError = null; drawCampaigns(); };
    function part(name, label, rows) {
      var control = rows ? el("textarea", { name: name, rows: String(rows), spellcheck: "false" }, []) : el("input", { type: "text", name: name });
      control.value = draft[name];
      control.oninput = function () { draft[name] = control.value; };
      if (camp.templateError && camp.templateError.field === name) { control.setAttribute("aria-invalid", "true"); }
      return labelled(label, control);
    }
    var save = el("button", { type: "button", id: "crm-template-save" }, [t.save_template]);
    save.onclick = saveTemplate;
    var node = card(t.templates, [labelled(t.template, select), el("p", { class: "muted" }, [t.template_help]),
      part("subject", t.subject), part("text", t.text_part, 8), part("html", t.html_part, 8),
      el("p", { id: "crm-template-error", class: "field-error", role: "alert" }, camp.templateError ? [errorLine(camp.templateError)] : []),
      save], true);
    node.id = "crm-templates";
    return node;
  }

  function drawCampaigns() {
    charts.forEach(function (chart) { chart.destroy(); });
    charts = [];
    pendingCharts = [];
    var box = document.getElementById("crm-notice");
    var kept = box ? [box.textContent, box.className] : null;
    var sections = [el("p", { id: "crm-notice", role: "status" }, []), flowsCard()];
    var textarea = null;
    if (camp.draft !== null) {
      var editor = editorCard();
      textarea = editor[1];
      sections.push(editor[0], previewCard());
      if (camp.slug && chosenFlow()) {
        sections.push(testCard());
        var report = reportCard();
        if (report) { sections.push(report); }
        sections.push(sendLogCard());
      }
    }
    var templates = templatesCard();
    if (templates) { sections.push(templates); }
    content.replaceChildren.apply(content, sections);
    if (kept && kept[0]) { notice(kept[0], kept[1] === "denied"); }
    showDefinitionError(textarea);
    pendingCharts.forEach(function (pending) {
      if (window.Chart) { charts.push(new window.Chart(pending[0], pending[1])); }
    });
    pendingCharts = [];
  }

  function campaigns(data) {
    camp.data = data;
    if (camp.slug && !chosenFlow()) { camp.slug = null; camp.draft = null; }
    drawCampaigns();
  }

  // --- Import (moving in): upload a file, the dry run's report, then import it; the
  // progress bar follows the run's row (crmImportRun), polled every second.
  var IMPORT = config.page === "import" ? config.query : null;  // views.IMPORT_QUERIES
  var imp = { run: null, timer: null, runs: [] };

  function importReport(run) {
    var parts = [];
    var progress = el("progress", { id: "crm-import-progress", max: String(Math.max(run.totalLines, 1)), value: String(run.doneLines) });
    parts.push(el("p", {}, [t.import_progress + ": ", progress, " " + number(run.doneLines) + " / " + number(run.totalLines) + " · " + run.status]));
    if (run.error) { parts.push(el("p", { class: "denied" }, [run.error])); }
    if (run.counts.length) {
      parts.push(el("h3", {}, [run.dryRun ? t.would_import : t.imported]));
      parts.push(table([t.file_kind, t.status, ""], run.counts.map(function (c) {
        return [t["kind_" + c.what] || c.what, t["outcome_" + c.outcome] || c.outcome, number(c.count)];
      }), [false, false, true]));
    }
    if (run.refusedLines) {
      parts.push(el("h3", {}, [t.refused_lines + ": " + number(run.refusedLines)]));
      var refused = table([t.line, t.column, t.reason], run.refused.map(function (r) {
        return [String(r.line), r.field, r.reason];
      }), [true, false, false]);
      refused.id = "crm-import-refused";
      parts.push(refused);
      if (!run.dryRun && run.status === "refused") { parts.push(el("p", { class: "denied" }, [t.nothing_written])); }
    }
    if (run.dryRun && run.status === "done") {
      var skip = document.getElementById("crm-import-skip");
      var apply = el("button", { id: "crm-import-apply", type: "button" }, [t.import_now]);
      apply.disabled = run.refusedLines > 0 && !(skip && skip.checked);
      apply.onclick = function () {
        apply.disabled = true;
        graphql(IMPORT.apply, { id: run.id, skipRefused: !!(skip && skip.checked) }).then(function (answer) {
          var data = answer.data && answer.data.crmImportApply;
          var errors = (data && data.errors) || answer.errors || [];
          if (errors.length) { notice((errors[0].field ? errors[0].field + ": " : "") + errors[0].message, true); return; }
          followRun(data.run);
        });
      };
      if (skip) { skip.onchange = function () { apply.disabled = run.refusedLines > 0 && !skip.checked; }; }
      parts.push(apply);
    }
    return parts;
  }

  function followRun(run) {
    imp.run = run;
    drawImport();
    if (imp.timer) { clearTimeout(imp.timer); imp.timer = null; }
    if (run.status === "pending" || run.status === "running") {
      imp.timer = setTimeout(function () {
        graphql(IMPORT.run, { id: run.id }).then(function (answer) {
          if (answer.data && answer.data.crmImportRun) { followRun(answer.data.crmImportRun); }
        });
      }, 1000);
    }
  }

  function startImport() {
    var input = document.getElementById("crm-import-file");
    var file = input.files && input.files[0];
    if (!file) { notice(t.choose_file, true); return; }
    file.text().then(function (content) {
      return graphql(IMPORT.start, {
        kind: document.getElementById("crm-import-kind").value,
        layout: document.getElementById("crm-import-layout").value,
        source: document.getElementById("crm-import-source").value,
        fileName: file.name,
        content: content,
        skipRefused: document.getElementById("crm-import-skip").checked,
      });
    }).then(function (answer) {
      var data = answer.data && answer.data.crmImportStart;
      var errors = (data && data.errors) || answer.errors || [];
      if (errors.length) { notice((errors[0].field ? errors[0].field + ": " : "") + errors[0].message, true); return; }
      notice("", false);
      followRun(data.run);
    });
  }

  function drawImport() {
    var form = document.getElementById("crm-import-form");
    if (!form) {
      var kind = el("select", { id: "crm-import-kind", "aria-label": t.file_kind }, ["customers", "points", "ranks", "subscriptions"].map(function (k) {
        return el("option", { value: k }, [t["kind_" + k]]);
      }));
      var layout = el("select", { id: "crm-import-layout", "aria-label": t.layout }, ["generic", "shopify"].map(function (l) {
        return el("option", { value: l }, [t["layout_" + l]]);
      }));
      var source = el("input", { id: "crm-import-source", value: "import", maxlength: "16", "aria-label": t.import_source });
      var file = el("input", { id: "crm-import-file", type: "file", accept: ".csv,text/csv", "aria-label": t.csv_file });
      var skip = el("input", { id: "crm-import-skip", type: "checkbox" });
      var check = el("button", { id: "crm-import-check", type: "button" }, [t.check_file]);
      check.onclick = startImport;
      form = el("div", { id: "crm-import-form" }, [
        el("p", { class: "muted" }, [t.import_help]),
        el("label", {}, [t.file_kind + " ", kind]), " ",
        el("label", {}, [t.layout + " ", layout]), " ",
        el("label", {}, [t.import_source + " ", source]), " ",
        el("label", {}, [t.csv_file + " ", file]), " ",
        el("label", {}, [skip, " " + t.skip_refused]), " ",
        check,
        el("p", { id: "crm-notice" }, []),
        el("div", { id: "crm-import-run" }, []),
      ]);
      content.replaceChildren(card(t.import_file, [form], true),
        card(t.recent_imports, [el("div", { id: "crm-import-runs" }, [])], true));
    }
    var box = document.getElementById("crm-import-run");
    box.replaceChildren.apply(box, imp.run ? importReport(imp.run) : []);
    var runs = document.getElementById("crm-import-runs");
    runs.replaceChildren(table([t.csv_file, t.file_kind, t.status, ""], imp.runs.map(function (r) {
      return [r.fileName + (r.dryRun ? " (" + t.dry_run + ")" : ""), t["kind_" + r.kind] || r.kind, r.status, number(r.created)];
    }), [false, false, false, true]));
  }

  function importPage(data) {
    imp.runs = data.crmImportRuns || [];
    drawImport();
  }

  function load() {
    var variables = config.page === "subscriptions" ? { filter: filterStatus ? { status: filterStatus } : {} }
      : config.page === "customers" ? customerVariables()
      : config.page === "actions" ? { id: config.customerId } : {};
    var keep = document.getElementById("crm-notice");
    var kept = keep ? [keep.textContent, keep.className] : null;
    var first = config.page === "analytics" ? ANALYTICS.fits : config.page === "campaigns" ? CAMPAIGNS.list
      : config.page === "import" ? IMPORT.list : QUERY;
    graphql(first, variables).then(function (answer) {
      var denied = (answer.errors || []).some(function (e) {
        return e.extensions && e.extensions.exception && e.extensions.exception.code === "PermissionDenied";
      });
      if (answer.errors && (!answer.data || denied)) {
        say("no_access", "denied");
        content.replaceChildren();
        redraw = null;
        return;
      }
      say(null);
      if (config.page === "analytics") {
        redraw = function () { if (anaData.fits) { drawAnalytics(); } };
        analytics(answer);
        return;
      }
      if (config.page === "campaigns") {
        redraw = function () { if (camp.data) { drawCampaigns(); } };
        campaigns(answer.data);
        return;
      }
      if (config.page === "import") {
        redraw = function () { content.replaceChildren(); drawImport(); };
        importPage(answer.data);
        return;
      }
      var draw = { subscriptions: subscriptions, segments: segments, customers: customers, loyalty: loyalty, actions: actions, duplicates: duplicates }[config.page] || overview;
      redraw = function () {
        var box = document.getElementById("crm-notice");
        var shown = box ? [box.textContent, box.className] : null;
        draw(answer.data);
        if (shown && shown[0]) { notice(shown[0], shown[1] === "denied"); }
      };
      draw(answer.data);
      if (kept && kept[0]) { notice(kept[0], kept[1] === "denied"); }
    }, function () { say("no_access", "denied"); });
  }

  window.addEventListener("message", function (event) {
    var message = event.data || {};
    if (message.type === "handshake" || message.type === "tokenRefresh") {
      var first = token === null;
      token = message.payload && message.payload.token;
      if (token && first) { load(); }
      // Dashboard hands over no token to a user without the extension's permissions
      if (!token) { say("no_access", "denied"); content.replaceChildren(); redraw = null; }
    } else if (message.type === "theme" && message.payload) {
      document.documentElement.setAttribute("data-theme", message.payload.theme === "dark" ? "dark" : "light");
      if ((config.page === "analytics" || config.page === "campaigns") && redraw) { redraw(); }  // the charts take the theme's colours
    } else if (message.type === "localeChanged" && message.payload && message.payload.locale) {
      rememberLocale(String(message.payload.locale));
      switchLanguage(ourLanguage(message.payload.locale));
    }
  });

  // Tell Dashboard the page is ready, once (it answers with the handshake).
  if (window.parent !== window) {
    window.parent.postMessage({ type: "notifyReady", payload: {} }, "*");
  }
})();
