"""The Dashboard pages: `/plugins/global/saleor.crm/dashboard/<page>`.

- A page (GET, framed by Dashboard as an APP_PAGE) is a shell without data. Dashboard sends it
  the staff user's token by postMessage (`handshake`, later `tokenRefresh`); the page's script
  keeps it in memory and reads our GraphQL API with it, so what it shows is what the token's
  permissions allow. Dashboard adds `?theme=light|dark` to the address, and tells the language
  only by postMessage after the handshake (`localeChanged`, `{locale: "ja"}`, again whenever
  staff switch it): the page's script switches to it with the catalogue of
  `dashboard/i18n/<lang>.json`, without a reload, and keeps it in a cookie; pages and the
  widget are rendered in that language, else the store's (setting *CRM pages' language*).
- The customer widget (POST, Dashboard's form with `accessToken` and `customerId`) is rendered
  on the server from the same GraphQL API, run in process with the token's requester: no token
  or a bad one answers 401, a token without MANAGE_USERS 403, and neither shows any data.
- The order widget (POST, with `accessToken` and `orderId`) shows the order's package inserts
  the same way; it needs MANAGE_ORDERS.

Tokens never go into a URL we build, and are never logged.
"""

import json
import re
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from django.http import FileResponse, HttpResponse, HttpResponseNotFound, JsonResponse
from django.template.loader import render_to_string
from django.utils import timezone

from ..analytics.lifetime import THIN_CUSTOMERS, THIN_REPEAT_CUSTOMERS
from ..graphql.view import Context
from ..host import MANAGE_ORDERS, MANAGE_USERS, InvalidToken, get_host
from .text import LANGUAGES, language, words

STATIC = Path(__file__).resolve().parent / "static"
# Dashboard's language as its `localeChanged` last told a page (dashboard.js writes it): the
# widget, which Dashboard never tells, and the next page are rendered in it. A partitioned
# cookie (CHIPS): browsers that block third-party cookies still keep it for our frames in
# that Dashboard.
LOCALE_COOKIE = "saleor_crm_locale"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
# The pages under Customers > CRM (Dashboard's navigation entries), in menu order.
PAGES = (
    "overview",
    "customers",
    "segments",
    "analytics",
    "loyalty",
    "subscriptions",
    "campaigns",
    "duplicates",
    "import",
)
# The popup from a customer's page (Dashboard's "more actions" menu): adjust points, pin a rank.
POPUPS = ("actions",)
# What each page's script asks our GraphQL API (bench/dashboard.py times the Overview's).

# The Import page's requests (moving in): the latest runs, upload, import, poll one run.
_IMPORT_RUN = """id kind layout source fileName dryRun status totalLines doneLines lines created
  refusedLines error counts { what outcome count } refused { file line field reason }"""
IMPORT_QUERIES = {
    "list": f"{{ crmImportRuns(first: 10) {{ {_IMPORT_RUN} }} }}",
    "start": f"""mutation($kind: String!, $layout: String, $source: String!, $fileName: String,
    $content: String!, $skipRefused: Boolean) {{
  crmImportStart(kind: $kind, layout: $layout, source: $source, fileName: $fileName,
    content: $content, dryRun: true, skipRefused: $skipRefused) {{
    run {{ {_IMPORT_RUN} }} errors {{ field message }} }} }}""",
    "apply": f"""mutation($id: ID!, $skipRefused: Boolean) {{
  crmImportApply(id: $id, skipRefused: $skipRefused) {{
    run {{ {_IMPORT_RUN} }} errors {{ field message }} }} }}""",
    "run": f"query($id: ID!) {{ crmImportRun(id: $id) {{ {_IMPORT_RUN} }} }}",
}

# The widget's one request: the customer, their subscriptions, the ranks to pin.
WIDGET_QUERY = """query($id: ID!) {
  crmCustomer(id: $id) { id orderCount lastOrderAt mainChannel
  merges { inForce mergedAt unmergedAt absorbed { customerId email isGuest }
    survivor { customerId email isGuest } }
  spends { currency totalSpent { amount currency } }
  scores { group r f m segment reason scoring }
  membership { rank { name } nextRank { name }
    remainingToNextRank { orders amounts { amount currency } points combine } }
  points { available pending expiringSoon(days: 30) { points at } } }
  crmSubscriptions(first: 10, filter: {customerId: $id}) { edges { node {
    id status interval nextDeliveryOn lines { productName variantId quantity } } } }
  crmRanks { code name }
}"""
# The widget's state on a date (its date picker): the customer's state at the end of that day.
STATE_QUERY = """query($id: ID!, $at: DateTime!) {
  crmCustomerStateAt(customer: $id, at: $at) { at orderCount
    spends { currency orderCount totalSpent { amount currency } }
    rank { code since why }
    points { balance available pending owed expiringPoints expiringAt why }
    scores { group known r f m segment why }
    ruleSegments { name matched why }
    why } }"""
# The order widget's one request: the order's package inserts.
ORDER_WIDGET_QUERY = """query($id: ID!) {
  crmOrderInserts(order: $id) { number codes decidedAt writtenAt } }"""
# The widget's second request: the picks the customer gets in their main channel (the one of
# most of their counted orders).
WIDGET_PICKS_QUERY = """query($id: ID!, $channel: String!) {
  crmCustomer(id: $id) { recommendations(channel: $channel, first: 5) {
    productId name reason score because { productId name lastBoughtAt } } } }"""
# The Overview page's one request (stored aggregates only: scores, sizes, counts).
OVERVIEW_QUERY = """{
  crmRfm { group customers scoring segments { name customers share revenue { amount currency } }
    grid { r customersByF } history(limit: 12) { computedAt customers segments { name customers } } }
  crmRankDistribution { code name customers }
  crmOverviewFigures { pointsComputedAt subscriptionsComputedAt
    pointsLiability { currency available pending }
    subscriptions { channel currency active paused attention cancelledInPeriod churnRate
      recurringRevenue { amount currency } } }
}"""
SUBSCRIPTIONS_PAGE_QUERY = """query($filter: CRMSubscriptionFilterInput) {
  crmSubscriptions(first: 50, filter: $filter) { totalCount edges { node {
    id status interval nextDeliveryOn customerId customerEmail
    lines { productName variantId quantity }
    failedRenewal { sequence deliveryOn attempts lastError retryAt } } } } }"""
CUSTOMERS_PAGE_QUERY = """query($filter: CRMCustomerFilterInput, $sort: CRMCustomerSortingInput) {
  crmCustomers(first: 50, filter: $filter, sortBy: $sort) { totalCount totalCountIsExact edges { node {
    id userId email name isGuest orderCount lastOrderAt country countryArea rank
    spends { currency totalSpent { amount currency } }
    scores { group segment } predictions { currency pAlive predictedClv { amount currency } } } } }
  crmSegments { name } }"""
SEGMENTS_PAGE_QUERY = """{ crmSegments { id name builtIn customers evaluatedAt }
  crmSegmentRuleFields { name kind operators needs withinDays choices } }"""
# The Analytics page's requests, one per section so that a selector asks again only for its own
# (stored results only: a page never computes a model). The shapes are those of
# graphql/analytics/ (the model fits, the reports and the basket pairs).
_FIT = """model asOf status error inForce params { name value } logLikelihood customers
  repeatCustomers warning spend { params { name value } logLikelihood error }
  backtest { holdoutWeeks calibrationEnd customers predictedTotal actualTotal
    meanAbsoluteError error buckets { bucket customers predicted actual } }"""
_F2 = """firstMonth by value name firstBuyers observed30 second30 share30
  observed60 second60 share60 observed90 second90 share90"""
_MONEY = "{ amount currency }"
ANALYTICS_QUERIES = {
    # the model card per currency, and the currencies the RFM groups know
    "fits": f"{{ crmPredictionFits {{ currency inForce {{ {_FIT} }} latest {{ {_FIT} }} }}"
    " crmRfm { group customers } }",
    # what the reports and the pairs were computed over (null / [] before the first night)
    "runs": """{ crmReportRun { asOf computedAt currencies }
  crmBasketRuns { channel kind windowDays asOf transactions products pairs minCount minSupport
    computedAt } }""",
    "cohorts": f"""query($currency: String!, $channel: String) {{
  crmCohorts(currency: $currency, channel: $channel) {{ cohortMonth monthsSince customers active
    retention revenue {_MONEY} revenuePerCustomer {_MONEY} cumulativePerCustomer {_MONEY}
    complete }} }}""",
    "f2": f"""query($channel: String) {{
  months: crmF2(by: ALL, channel: $channel, first: 100) {{ edges {{ node {{ {_F2} }} }} }}
  subscription: crmF2(by: SUBSCRIPTION_START, channel: $channel, firstMonth: "", first: 10) {{
    edges {{ node {{ {_F2} }} }} }}
  product: crmF2(by: FIRST_PRODUCT, channel: $channel, firstMonth: "", first: 20) {{
    edges {{ node {{ {_F2} }} }} }} }}""",
    "repeat": """query($level: CRMRepeatLevel, $channel: String, $firstMonth: String,
    $sortBy: CRMProductRepeatSortingInput) {
  crmProductRepeat(level: $level, channel: $channel, firstMonth: $firstMonth, sortBy: $sortBy,
      first: 100) { totalCount edges { node { item name buyers repeatBuyers repeatRate
    firstBuyers share30 share60 share90 share180 medianDaysToSecond repeatIntervalDays } } } }""",
    "pairs": """query($channel: String!, $kind: CRMBasketKind, $sortBy: CRMBasketPairSort) {
  crmBasketPairs(channel: $channel, kind: $kind, sortBy: $sortBy, first: 50) { totalCount
    edges { node { productA nameA productB nameB together support confidenceAB confidenceBA
      lift } } } }""",
    "ltv": f"""query($currency: String!) {{
  segment: crmLtv(currency: $currency, by: SEGMENT, first: 50) {{ edges {{ node {{ ...ltv }} }} }}
  rank: crmLtv(currency: $currency, by: RANK, first: 50) {{ edges {{ node {{ ...ltv }} }} }}
  product: crmLtv(currency: $currency, by: FIRST_PRODUCT, first: 20) {{ edges {{ node {{ ...ltv }} }} }}
}}
fragment ltv on CRMLtv {{ value name customers revenue {_MONEY} average {_MONEY} median {_MONEY} }}""",
}
# The Campaigns page's requests (graphql/campaigns/): the flow list first, then the chosen
# flow's report, send log and preview, and the changes staff make.
_CAMPAIGN_FLOW = "slug kind name trigger enabled builtIn definition entered sent"
_CAMPAIGN_ERRORS = "errors { field code message }"
CAMPAIGNS_QUERIES = {
    "list": f"""{{ crmCampaignFlows {{ {_CAMPAIGN_FLOW} }}
  crmCampaignBuiltIns {{ name title trigger }}
  crmMessageTemplates {{ name subject text html edited }} }}""",
    "report": f"""query($slug: String!) {{ crmCampaignReport(slug: $slug) {{
  entered unsubscribed windowDays exited {{ reason count }}
  steps {{ step channel template pending sent held skipped failed reasons {{ reason count }} }}
  lift {{ currency
    messaged {{ customers converted conversionRate revenuePerCustomer {_MONEY} }}
    control {{ customers converted conversionRate revenuePerCustomer {_MONEY} }}
    conversion {{ difference low high }}
    revenuePerCustomer {{ difference {_MONEY} low {_MONEY} high {_MONEY} }} }}
  attribution {{ currency orders revenue {_MONEY} }}
  sendsPerDay(days: 90) {{ day sent pending held skipped failed }} }} }}""",
    "sends": """query($slug: String!, $status: CRMCampaignSendStatus, $after: String) {
  crmCampaignSends(slug: $slug, status: $status, first: 50, after: $after) { totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { key customerId customerEmail step channel status reason error dueAt sentAt
      voucherCode } } } }""",
    "preview": """query($slug: String, $definition: JSONString, $kind: CRMCampaignKind,
    $customer: ID) {
  crmCampaignPreview(slug: $slug, definition: $definition, kind: $kind, customer: $customer) {
    today segmentMembers days { day customers }
    messages { step channel template subject text html } } }""",
    "customer": """query($email: String!) {
  crmCustomers(first: 1, filter: {email: $email}) { edges { node { id email } } } }""",
    "save": f"""mutation($slug: String!, $definition: JSONString!, $kind: CRMCampaignKind) {{
  crmCampaignFlowSave(slug: $slug, definition: $definition, kind: $kind) {{
    flow {{ {_CAMPAIGN_FLOW} }} {_CAMPAIGN_ERRORS} }} }}""",
    "install": f"""mutation($name: String!) {{ crmCampaignFlowInstall(builtIn: $name) {{
  flow {{ slug }} {_CAMPAIGN_ERRORS} }} }}""",
    "enable": f"""mutation($slug: String!, $enabled: Boolean!) {{
  crmCampaignFlowSetEnabled(slug: $slug, enabled: $enabled) {{ flow {{ slug enabled }}
    {_CAMPAIGN_ERRORS} }} }}""",
    "delete": f"""mutation($slug: String!) {{ crmCampaignFlowDelete(slug: $slug) {{ slug
  {_CAMPAIGN_ERRORS} }} }}""",
    "sendNow": f"""mutation($slug: String!) {{ crmCampaignSendNow(slug: $slug) {{ entered
  {_CAMPAIGN_ERRORS} }} }}""",
    "testSend": f"""mutation($slug: String!, $step: Int, $email: String!, $customer: ID) {{
  crmCampaignTestSend(slug: $slug, step: $step, email: $email, customer: $customer) {{
    messageId {_CAMPAIGN_ERRORS} }} }}""",
    "saveTemplate": f"""mutation($name: String!, $subject: String!, $text: String!,
    $html: String) {{
  crmMessageTemplateSave(name: $name, subject: $subject, text: $text, html: $html) {{
    template {{ name subject text html edited }} {_CAMPAIGN_ERRORS} }} }}""",
}
# The Duplicates page: the candidate pairs with each side's figures, and the merges.
_MERGE_SIDE = """customerId userId email isGuest orders spend { currency amount } lastOrderAt
  points rank"""
DUPLICATES_PAGE_QUERY = f"""{{
  crmDuplicateCandidates(first: 50) {{ totalCount edges {{ node {{ id evidence
    customer {{ {_MERGE_SIDE} }} other {{ {_MERGE_SIDE} }} }} }} }}
  crmCustomerMerges(first: 50) {{ totalCount edges {{ node {{ id inForce mergedAt mergedBy
    unmergedAt evidence absorbed {{ {_MERGE_SIDE} }} survivor {{ {_MERGE_SIDE} }} }} }} }} }}"""
MERGE = """mutation($customer: ID!, $into: ID!, $evidence: [CRMDuplicateEvidence!]) {
  crmCustomerMerge(customerId: $customer, intoCustomerId: $into, evidence: $evidence) {
    merge { id } errors { field message } } }"""
UNMERGE = """mutation($id: ID!) { crmCustomerUnmerge(mergeId: $id) {
  merge { id } errors { field message } } }"""
ACTIONS_POPUP_QUERY = """query($id: ID!) {
  crmCustomer(id: $id) { email name membership { rank { code name } pinned }
    points { available pending } }
  crmRanks { code name }
}"""
LOYALTY_PAGE_QUERY = """{
  crmRankSettings { ranks window inactiveMonths version }
  crmRankDistribution { code name customers }
  crmAuditTrail(first: 50) { totalCount edges { node {
    at action actor actorId actorEmail actorName customerId customerEmail points rank reason
  } } } }"""
ADJUST = """mutation($id: ID!, $points: Int!, $reason: String!, $request: String!,
    $currency: String) {
  crmPointsAdjust(customerId: $id, points: $points, reason: $reason, requestId: $request,
    currency: $currency) {
    points { available } errors { field message } } }"""
PIN = """mutation($id: ID!, $code: String, $reason: String!) {
  crmRankPin(customerId: $id, code: $code, reason: $reason) {
    membership { rank { name } } errors { field message } } }"""


def _base(request) -> str:
    """The plugin's base path as this request reached it (Saleor or the sandbox)."""
    path = request.path
    return path[: path.index("/dashboard")] if "/dashboard" in path else ""


def _theme(value) -> str:
    return "dark" if str(value or "").lower() == "dark" else "light"


def _words(request, config) -> tuple[str, dict]:
    """The language asked (`?locale=`, the widget's own forms), else the one Dashboard last told
    a page (`LOCALE_COOKIE`), else the store's."""
    asked = (
        request.GET.get("locale")
        or request.POST.get("locale")
        or request.COOKIES.get(LOCALE_COOKIE)
    )
    lang = language(asked, config.dashboard_language)
    return lang, words(lang)


def _static(name: str) -> HttpResponse:
    """A file of `static/` (the pages' scripts and styles, `vendor/` libraries); nothing else."""
    path = (STATIC / name).resolve()
    if not path.is_relative_to(STATIC) or not path.is_file() or path.suffix not in _TYPES:
        return HttpResponseNotFound("No such file.")
    response = FileResponse(path.open("rb"), content_type=_TYPES[path.suffix])
    response["Cache-Control"] = "public, max-age=3600"
    return response


def _catalogue(name: str) -> HttpResponse:
    """The pages' words in one language (`ja.json`), for a page or the widget switching to it."""
    lang = name.removesuffix(".json")
    if not name.endswith(".json") or lang not in LANGUAGES:
        return HttpResponseNotFound(f"The CRM pages have no language '{name}'.")
    response = JsonResponse({"lang": lang, "text": words(lang)})
    response["Cache-Control"] = "public, max-age=3600"
    return response


def _page(request, host, name: str) -> HttpResponse:
    config = host.config()  # read once: the language and the store time zone
    lang, words = _words(request, config)
    base = _base(request)
    html = render_to_string(
        "saleor_crm/dashboard/page.html",
        {
            "page": name,
            "title": words[name],
            "lang": lang,
            "theme": _theme(request.GET.get("theme")),
            "t": words,
            "static": f"{base}/dashboard/static",
            # Chart.js (static/vendor/) only where charts are drawn
            "charts": name in ("analytics", "campaigns"),
            # in a <script> element: no "</" can end it early
            "config": json.dumps(
                {
                    "page": name,
                    "graphql": f"{base}/graphql/",
                    "export": f"{base}/export/customers.csv",
                    "exportAnalytics": f"{base}/export/analytics.csv",
                    # the Analytics page's empty state names it (store time)
                    "analyticsHour": config.analytics_hour,
                    # a fit from fewer customers than these is warned of as too thin
                    "thin": {
                        "customers": THIN_CUSTOMERS,
                        "repeatCustomers": THIN_REPEAT_CUSTOMERS,
                    },
                    "lang": lang,
                    # what Dashboard's `localeChanged` can switch to, and the language for
                    # one of Dashboard's that the pages do not speak
                    "languages": LANGUAGES,
                    "storeLanguage": config.dashboard_language,
                    "localeCookie": LOCALE_COOKIE,
                    "catalogue": f"{base}/dashboard/i18n/",
                    "zone": config.store_time_zone,
                    "text": words,
                    # the popup's customer, as Dashboard names it in the frame's URL
                    "customerId": request.GET.get("customerId", ""),
                    "mutations": {
                        "adjust": ADJUST,
                        "pin": PIN,
                        "merge": MERGE,
                        "unmerge": UNMERGE,
                    },
                    # the rule builder's currency (and RFM group) to start with
                    "currency": _main_currency() if name == "segments" else "",
                    "query": {
                        "overview": OVERVIEW_QUERY,
                        "customers": CUSTOMERS_PAGE_QUERY,
                        "segments": SEGMENTS_PAGE_QUERY,
                        "loyalty": LOYALTY_PAGE_QUERY,
                        "subscriptions": SUBSCRIPTIONS_PAGE_QUERY,
                        "actions": ACTIONS_POPUP_QUERY,
                        "analytics": ANALYTICS_QUERIES,
                        "campaigns": CAMPAIGNS_QUERIES,
                        "duplicates": DUPLICATES_PAGE_QUERY,
                        "import": IMPORT_QUERIES,
                    }[name],
                }
            ).replace("<", "\\u003c"),
        },
    )
    return HttpResponse(html)


def _main_currency() -> str:
    """The store's main currency: the RFM group (a currency) of the most customers at the last
    recompute; "" before the first (the rule builder's field then starts empty, and is needed).
    """
    from ..segments.models import ScoreCutPoints

    group = (
        ScoreCutPoints.objects.order_by("-customers", "group")
        .values_list("group", flat=True)
        .first()
    )
    return group or ""


def _execute(host, requester, request, query: str, variables: dict, context=None) -> dict:
    """Our GraphQL in process as the token's requester: its data, with null where a field
    answered an error (an unknown customer, a refused mutation). `context`: one shared by the
    queries of one page load (a customer read is audited once a context)."""
    return _execute_with_errors(host, requester, request, query, variables, context)[0]


def _execute_with_errors(host, requester, request, query: str, variables: dict, context=None):
    """`_execute`, and the messages of the errors as the API answers them."""
    from ..graphql.core.errors import format_error, log_unexpected
    from ..graphql.schema import schema

    context = context or Context(request, host, requester)
    result = schema.execute(query, variables=variables, context=context)
    log_unexpected(result.errors)
    messages = [format_error(error)["message"] for error in result.errors or ()]
    return result.data or {}, messages


def _widget_access(request, host, permission: str):
    """The widget's rendering context and the token's requester, or the refusal to answer
    (no token or a bad one: 401; a token without `permission`: 403)."""
    config = host.config()
    lang, words = _words(request, config)
    theme = _theme(request.POST.get("theme") or request.GET.get("theme"))
    try:
        requester = host.requester_from_token(request.POST.get("accessToken", ""))
    except InvalidToken:  # expired or revoked: Dashboard sends a fresh one on the next load
        requester = None
    context = {
        "lang": lang,
        "theme": theme,
        "t": words,
        "static": f"{_base(request)}/dashboard/static",
        "catalogue": f"{_base(request)}/dashboard/i18n/",
        "store_lang": config.dashboard_language,
        "languages": LANGUAGES,
    }
    if requester is None:
        # Dashboard posts an empty token for a user without the widget's permissions
        posted = request.POST.get("accessToken", "x").strip() in ("", "null", "undefined")
        message = words["no_access"] if posted else words["sign_in"]
        html = render_to_string("saleor_crm/dashboard/denied.html", {**context, "message": message})
        return context, None, HttpResponse(html, status=401)
    if not requester.has_permission(permission):
        html = render_to_string(
            "saleor_crm/dashboard/denied.html", {**context, "message": words["no_access"]}
        )
        return context, None, HttpResponse(html, status=403)
    return context, requester, None


def _order_widget(request, host) -> HttpResponse:
    """The package inserts of the order whose page Dashboard shows."""
    if request.method != "POST":
        return HttpResponse("Dashboard posts this widget's form.", status=405)
    context, requester, refused = _widget_access(request, host, MANAGE_ORDERS)
    if refused is not None:
        return refused
    order_id = request.POST.get("orderId") or request.POST.get("id", "")
    inserts = _execute(host, requester, request, ORDER_WIDGET_QUERY, {"id": order_id}).get(
        "crmOrderInserts"
    )
    if inserts:  # when, in the store's time
        decided = datetime.fromisoformat(inserts["decidedAt"]).astimezone(host.config().zone)
        inserts = {**inserts, "decided": decided.strftime("%Y-%m-%d %H:%M")}
    html = render_to_string(
        "saleor_crm/dashboard/order_widget.html", {**context, "inserts": inserts}
    )
    return HttpResponse(html)


def _widget(request, host) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse("Dashboard posts this widget's form.", status=405)
    context, requester, refused = _widget_access(request, host, MANAGE_USERS)
    if refused is not None:
        return refused
    words = context["t"]
    customer_id = request.POST.get("customerId", "")
    notice = _action(host, requester, request, customer_id, words)
    # one context for the load: the customer's record is read (and audited) once
    shared = Context(request, host, requester)
    found = _execute(host, requester, request, WIDGET_QUERY, {"id": customer_id}, shared)
    state, state_notice, state_on = _state_on(host, requester, request, customer_id, words)
    data = found.get("crmCustomer")
    channel = data.get("mainChannel") if data else None
    picks = []
    if channel:
        variables = {"id": customer_id, "channel": channel}
        answer = _execute(host, requester, request, WIDGET_PICKS_QUERY, variables, shared)
        picks = (answer.get("crmCustomer") or {}).get("recommendations") or []
    edges = (found.get("crmSubscriptions") or {}).get("edges", []) if data else []
    subscriptions = [edge["node"] for edge in edges]
    ranks = found.get("crmRanks") or []
    html = render_to_string(
        "saleor_crm/dashboard/widget.html",
        {
            **context,
            "customer": data,
            "merges": _merges(data),
            "progress": _progress(data),
            "subscriptions": subscriptions,
            "channel": channel,
            "picks": picks,
            "ranks": ranks,
            "notice": notice,
            "state": state,
            "state_notice": state_notice,
            "state_on": state_on,
            "today": timezone.now().astimezone(host.config().zone).date().isoformat(),
            # the form posts back what Dashboard posted: the token stays out of URLs
            "token": request.POST.get("accessToken", ""),
            "customer_id": customer_id,
            "request_id": uuid.uuid4().hex,
            "export": f"{_base(request)}/export",
            "export_forms": ("json", "csv"),
        },
    )
    return HttpResponse(html)


def _merges(customer: dict | None) -> list[dict]:
    """The customer's merges as the widget tells them: with whom, which way, when, and whether
    it still holds."""
    shown = []
    for merge in (customer or {}).get("merges") or []:
        absorbed = merge["absorbed"]["customerId"] == customer["id"]
        other = merge["survivor"] if absorbed else merge["absorbed"]
        shown.append(
            {
                "absorbed": absorbed,
                "other": other["email"] or other["customerId"],
                "guest": other["isGuest"],
                "at": merge["mergedAt"][:10],
                "in_force": merge["inForce"],
            }
        )
    return shown


def _progress(customer: dict | None) -> dict | None:
    """What the customer still needs for the next rank, as the widget tells it: each threshold
    still open (orders, spend per currency, points), or `qualifies` when they already meet the
    rank's rule (one threshold met with `any`, every one with `all`): the next rank review
    promotes them. None at the highest rank or when no way is quoted (API's null)."""
    found = ((customer or {}).get("membership") or {}).get("remainingToNextRank")
    if not found:
        return None
    left = [
        found["orders"],
        *(Decimal(str(money["amount"])) for money in found["amounts"]),
        found["points"],
    ]
    left = [value for value in left if value is not None]
    met = [value <= 0 for value in left]
    # a rank without a threshold left to quote is met by anyone
    qualifies = not left or (any(met) if found["combine"] == "any" else all(met))
    parts = []
    if found["orders"]:
        parts.append({"figure": found["orders"], "unit": "orders"})
    for money in found["amounts"]:
        if Decimal(str(money["amount"])) > 0:
            parts.append({"figure": money["amount"], "currency": money["currency"]})
    if found["points"]:
        parts.append({"figure": found["points"], "unit": "points"})
    return {"qualifies": qualifies, "parts": parts, "combine": found["combine"]}


def _state_on(host, requester, request, customer_id: str, words: dict):
    """The customer's state at the end of the day the date picker posted (store time; today:
    now), as (state, notice, the day); (None, None, "") when none was asked."""
    if request.POST.get("action") != "state":
        return None, None, ""
    text = request.POST.get("stateOn", "").strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None, {"error": True, "message": f"stateOn: '{text}' {words['not_a_date']}"}, text
    zone = host.config().zone
    now = timezone.now()
    at = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone) - timedelta(
        microseconds=1
    )
    if day == now.astimezone(zone).date():
        at = now
    answer, errors = _execute_with_errors(
        host, requester, request, STATE_QUERY, {"id": customer_id, "at": at.isoformat()}
    )
    state = answer.get("crmCustomerStateAt")
    if state is None:
        return None, {"error": True, "message": errors[0] if errors else words["failed"]}, text
    return state, None, text


def _action(host, requester, request, customer_id: str, words: dict) -> dict | None:
    """A points adjustment or a rank pin from the widget's forms, through our mutations."""
    action = request.POST.get("action")
    if action not in ("adjust", "pin"):
        return None
    reason = request.POST.get("reason", "").strip()
    if action == "adjust":
        text = request.POST.get("points", "").strip()
        if not re.fullmatch(r"[+-]?\d{1,9}", text):
            return {"error": True, "message": f"points: '{text}' {words['not_whole']}"}
        variables = {
            "id": customer_id,
            "points": int(text),
            "reason": reason,
            "request": request.POST.get("requestId", ""),
            "currency": request.POST.get("currency", "").strip() or None,
        }
        result = _execute(host, requester, request, ADJUST, variables).get("crmPointsAdjust")
    else:
        code = request.POST.get("code") or None
        variables = {"id": customer_id, "code": code, "reason": reason}
        result = _execute(host, requester, request, PIN, variables).get("crmRankPin")
    errors = result.get("errors") if result else [{"field": None, "message": words["failed"]}]
    if errors:
        first = errors[0]
        field = f"{first['field']}: " if first.get("field") else ""
        return {"error": True, "message": field + first["message"]}
    return {"error": False, "message": words["saved"]}


def dashboard_view(request, route: str) -> HttpResponse:
    """Route `dashboard/<route>`: a page, the popup, the customer widget, a static file, or
    the words of one language."""
    route = route.strip("/")
    if route.startswith("static/"):
        return _static(route.removeprefix("static/"))
    if route.startswith("i18n/"):
        return _catalogue(route.removeprefix("i18n/"))
    host = get_host()
    with host.database_access():
        if route == "widget/customer":
            return _widget(request, host)
        if route == "widget/order":
            return _order_widget(request, host)
        name = route or "overview"
        if name in (*PAGES, *POPUPS) and request.method == "GET":
            return _page(request, host, name)
    return HttpResponseNotFound(f"The CRM has no dashboard page '{route}'.")
