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

  function number(value) {
    return Number(value).toLocaleString(config.lang === "ja" ? "ja-JP" : "en-US");
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
      cards.push(card(t.customers_by_segment + " (" + group.group + ")", [table(
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
    cards.push(card(t.subscription_figures, [table(
      ["", t.active, t.paused, t.attention, t.cancelled, t.churn, t.recurring_revenue],
      data.crmOverviewFigures.subscriptions.map(function (s) {
        return [s.channel, number(s.active), number(s.paused), number(s.attention),
          number(s.cancelledInPeriod), (100 * s.churnRate).toFixed(1) + "%",
          number(s.recurringRevenue.amount) + " " + s.recurringRevenue.currency];
      }), [false, true, true, true, true, true, true])], true));
    var at = data.crmOverviewFigures.subscriptionsComputedAt;
    content.replaceChildren(el("div", { class: "cards" }, cards),
      el("p", { class: "muted" }, [t.computed_at + " " + new Date(at).toLocaleString(config.lang === "ja" ? "ja-JP" : "en-US")]));
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
    if (spec.needs.indexOf("currency") >= 0) { inputs.push(el("input", { name: "currency", value: "JPY", size: "4", "aria-label": t.currency, title: t.currency })); }
    if (spec.needs.indexOf("group") >= 0) { inputs.push(el("input", { name: "group", value: "JPY", size: "4", "aria-label": t.group, title: t.group })); }
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
    function redraw() { values.replaceChildren.apply(values, valueInputs(ruleFields[field.value], op.value)); watch(); }
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
    var points = Number(raw);
    if (!raw || !Number.isInteger(points)) { notice("points: " + t.not_whole, true); return; }
    graphql(FIND_CUSTOMER, { search: email }).then(function (answer) {
      var found = ((answer.data && answer.data.crmCustomers && answer.data.crmCustomers.edges) || [])
        .map(function (e) { return e.node; })
        .filter(function (c) { return (c.email || "").toLowerCase() === email.toLowerCase(); });
      if (!found.length) { notice(t.no_such_customer, true); return; }
      sendAdjust(found[0].id, points, reason);
    });
  }

  // The adjustment itself (the Loyalty page's and the popup's): one request id per filled
  // form, so a retry after a lost answer adjusts once; the new balance, or the refusal.
  function sendAdjust(customerId, points, reason) {
    adjustRequest = adjustRequest || newRequest();
    return graphql(POINTS_ADJUST, { id: customerId, points: points, reason: reason, request: adjustRequest }).then(function (answer) {
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
    var give = el("button", { type: "button", id: "crm-adjust-save" }, [t.save]);
    give.onclick = function () {
      var raw = points.value.trim();
      if (!/^[+-]?\d{1,9}$/.test(raw)) { notice("points: '" + raw + "' " + t.not_whole, true); return; }
      sendAdjust(config.customerId, Number(raw), reason.value);
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
      card(t.adjust_points, [el("p", { class: "condition" }, [points, reason, give])], true),
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
    var head = el("tr", {}, [t.customer, t.name, t.orders, t.last_order, t.lifetime_spend, t.segment, t.rank, t.place].map(function (h) { return el("th", {}, [h]); }));
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
        el("td", {}, [c.rank || ""]),
        el("td", {}, [[c.countryArea, c.country].filter(Boolean).join(", ")]),
      ]);
    });
    content.replaceChildren(
      el("p", { class: "condition" }, [text, segment, el("label", {}, [t.min_orders + " ", minOrders]), el("label", {}, [t.sort + " ", sort]), go]),
      el("p", { class: "muted", id: "crm-total" }, [t.matching + ": " + number(connection.totalCount)]),
      el("table", { id: "crm-customers" }, [head].concat(rows)));
  }

  function customerVariables() {
    var filter = {};
    if (search.text) { filter.search = search.text; }
    if (search.segment) { filter.segment = search.segment; }
    if (search.minOrders) { filter.numberOfOrders = { gte: Number(search.minOrders) }; }
    return { filter: filter, sort: { field: search.sort, direction: search.sort === "NAME" ? "ASC" : "DESC" } };
  }

  function load() {
    var variables = config.page === "subscriptions" ? { filter: filterStatus ? { status: filterStatus } : {} }
      : config.page === "customers" ? customerVariables()
      : config.page === "actions" ? { id: config.customerId } : {};
    var keep = document.getElementById("crm-notice");
    var kept = keep ? [keep.textContent, keep.className] : null;
    graphql(QUERY, variables).then(function (answer) {
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
      var draw = { subscriptions: subscriptions, segments: segments, customers: customers, loyalty: loyalty, actions: actions }[config.page] || overview;
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
