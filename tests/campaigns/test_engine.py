"""Campaign flows on PostgreSQL: entry, the send ledger, exactly-once sending, exits, consent,
the cap, control groups, unsubscribing and the report (the sandbox store as the host)."""

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from saleor_crm_plugin.campaigns import messages, services
from saleor_crm_plugin.campaigns.models import CampaignFlow, CampaignSend, FlowEntry, Unsubscribe
from saleor_crm_plugin.campaigns.services import CampaignError
from saleor_crm_plugin.conf import parse_config
from saleor_crm_plugin.customers.ingest import ingest_orders
from saleor_crm_plugin.customers.models import CustomerProfile
from saleor_crm_plugin.host import get_host, reset_host
from saleor_crm_plugin.loyalty.models import PointsAccount, PointsLot
from saleor_crm_plugin.sandbox.models import SandboxOrder, SandboxUser, SandboxVoucher
from tests.factories import order

pytestmark = pytest.mark.django_db
# 12:00 in Tokyo, the store's zone (tests/settings.py); the send window is 09:00-20:00.
T0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
DAY = timedelta(days=1)
WINDOW_END = timedelta(hours=7, minutes=59)  # 19:59 Tokyo on T0's day

FIRST_ORDER = {
    "name": "Thank you",
    "trigger": {"kind": "first_order"},
    "steps": [
        {"delay_days": 3, "channel": "email", "template": "thank_you"},
        {"delay_days": 14, "channel": "email", "template": "review_request"},
    ],
}


@pytest.fixture(autouse=True)
def _sandbox_host():
    reset_host()


def _config(**settings):
    return parse_config({"store-time-zone": "Asia/Tokyo", **settings})


def _customer(number, *, consent=True, first_name="Hana"):
    return SandboxUser.objects.create(
        email=f"c{number}@example.com",
        first_name=first_name,
        private_metadata={"marketing_consent": "true"} if consent else {},
        date_joined=T0 - 30 * DAY,
        updated_at=T0,
    )


def _buy(user, order_id, when, total="5000"):
    snapshot = order(order_id, user_id=str(user.pk), email=user.email, total=total, placed_at=when)
    SandboxOrder.store(snapshot)
    ingest_orders([snapshot])
    return CustomerProfile.objects.get(user_id=str(user.pk))


def _flow(slug="thanks", definition=None, config=None, **kwargs):
    return services.save_flow(
        slug, definition or FIRST_ORDER, config or _config(), enabled=True, **kwargs
    )


def _send_due(now, config, capture):
    """Dispatch what is due and run its batches, as beat and the workers do."""
    batches = []
    with capture(execute=True):
        services.dispatch(now, config, batches.append)
    results = [services.send_batch(ids, now, config, get_host()) for ids in batches]
    return batches, results


def test_a_first_order_enters_the_flow_and_the_day_3_mail_goes_out_once(
    django_capture_on_commit_callbacks,
):
    config = _config()
    _flow(config=config)
    profile = _buy(_customer(1), "o1", T0)
    assert services.decide(T0 + timedelta(hours=1), config, get_host()) == {"thanks": 1}
    entry = FlowEntry.objects.get(profile=profile)
    assert (entry.occasion, entry.entered_at, entry.control) == ("order:1", T0, False)
    sends = list(CampaignSend.objects.filter(entry=entry).order_by("step"))
    assert [s.key for s in sends] == [f"{entry.pk}:0", f"{entry.pk}:1"]
    # day 3 and day 14, each inside that day's window, no earlier than the order's hour
    for send, days in zip(sends, (3, 14), strict=True):
        local = send.due_at.astimezone(config.zone)
        assert local.date() == (T0 + days * DAY).astimezone(config.zone).date()
        assert 12 <= local.hour < 20
    # deciding again (the next hour, the next day) enters nobody twice
    assert services.decide(T0 + DAY, config, get_host()) == {"thanks": 0}

    assert _send_due(T0 + 2 * DAY + WINDOW_END, config, django_capture_on_commit_callbacks)[0] == []
    batches, results = _send_due(
        T0 + 3 * DAY + WINDOW_END, config, django_capture_on_commit_callbacks
    )
    assert len(batches) == 1
    assert results[0]["sent"] == 1
    (message,) = mail.outbox
    assert message.to == ["c1@example.com"]
    assert message.subject == "Thank you for your first order, Hana"
    unsubscribe = message.extra_headers["List-Unsubscribe"]
    assert unsubscribe.startswith("<http://")
    assert "/campaigns/unsubscribe/" in unsubscribe
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe.strip("<>") in message.body
    assert message.alternatives[0][1] == "text/html"
    sends[0].refresh_from_db()
    assert (sends[0].status, sends[0].attempts) == ("sent", 1)
    # the same batch again (a redelivered task) and the next minute send nothing more
    assert services.send_batch(batches[0], T0 + 3 * DAY + WINDOW_END, config, get_host()) == {}
    assert _send_due(T0 + 3 * DAY + WINDOW_END, config, django_capture_on_commit_callbacks)[0] == []
    assert len(mail.outbox) == 1


def test_ordering_again_exits_the_flow_before_its_next_step(django_capture_on_commit_callbacks):
    config = _config()
    _flow(config=config)
    user = _customer(1)
    _buy(user, "o1", T0)
    services.decide(T0 + timedelta(hours=1), config, get_host())
    _send_due(T0 + 3 * DAY + WINDOW_END, config, django_capture_on_commit_callbacks)
    _buy(user, "o2", T0 + 5 * DAY)
    _send_due(T0 + 14 * DAY + WINDOW_END, config, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1  # the day-3 mail only
    entry = FlowEntry.objects.get()
    assert entry.exit_reason == "ordered"
    review = CampaignSend.objects.get(step=1)
    assert (review.status, review.reason) == ("skipped", "exit:ordered")


def test_without_consent_a_marketing_flow_sends_nothing(django_capture_on_commit_callbacks):
    config = _config()
    _flow(config=config)
    _buy(_customer(1, consent=False), "o1", T0)
    services.decide(T0 + timedelta(hours=1), config, get_host())
    _send_due(T0 + 3 * DAY + WINDOW_END, config, django_capture_on_commit_callbacks)
    assert mail.outbox == []
    assert FlowEntry.objects.get().exit_reason == "consent_withdrawn"
    assert set(CampaignSend.objects.values_list("status", "reason")) == {
        ("skipped", "exit:consent_withdrawn")
    }


def test_the_held_back_customers_get_nothing_and_are_recorded_as_held(
    django_capture_on_commit_callbacks,
):
    config = _config()
    _flow(config=config, definition={**FIRST_ORDER, "control_share": 0.5})
    for number in range(40):
        _buy(_customer(number), f"o{number}", T0)
    services.decide(T0 + timedelta(hours=1), config, get_host())
    control = FlowEntry.objects.filter(control=True).count()
    assert 8 <= control <= 32  # half, by a fixed hash of flow and customer
    _send_due(T0 + 3 * DAY + WINDOW_END, config, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 40 - control
    assert CampaignSend.objects.filter(step=0, status="held").count() == control
    # the same customers are held back when deciding again from scratch
    again = {e.profile_id: e.control for e in FlowEntry.objects.all()}
    FlowEntry.objects.all().delete()
    services.decide(T0 + timedelta(hours=1), config, get_host())
    assert {e.profile_id: e.control for e in FlowEntry.objects.all()} == again


def test_the_weekly_cap_holds_across_flows(django_capture_on_commit_callbacks):
    config = _config(**{"campaign-weekly-cap": "1"})
    now_steps = {
        **FIRST_ORDER,
        "steps": [{"delay_days": 0, "channel": "email", "template": "thank_you"}],
    }
    _flow("a", now_steps, config)
    _flow("b", {**now_steps, "name": "Another"}, config)
    _buy(_customer(1), "o1", T0)
    services.decide(T0 + timedelta(hours=1), config, get_host())
    _send_due(T0 + WINDOW_END, config, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    assert sorted(CampaignSend.objects.values_list("status", "reason")) == [
        ("sent", ""),
        ("skipped", "weekly_cap"),
    ]


def test_nothing_goes_out_in_quiet_hours(django_capture_on_commit_callbacks):
    config = _config()
    _flow(config=config)
    _buy(_customer(1), "o1", T0)
    services.decide(T0 + timedelta(hours=1), config, get_host())
    night = T0 + 3 * DAY + timedelta(hours=14)  # 02:00 Tokyo
    assert _send_due(night, config, django_capture_on_commit_callbacks)[0] == []
    pending = CampaignSend.objects.get(step=0)
    assert services.send_batch([pending.pk], night, config, get_host()) == {}
    assert mail.outbox == []


def test_a_worker_killed_mid_batch_leaves_its_rows_to_the_next_one(
    django_capture_on_commit_callbacks,
):
    config = _config()
    _flow(config=config)
    for number in range(3):
        _buy(_customer(number), f"o{number}", T0)
    services.decide(T0 + timedelta(hours=1), config, get_host())
    now = T0 + 3 * DAY + WINDOW_END
    ids = list(CampaignSend.objects.filter(step=0).values_list("pk", flat=True))
    _claim, rows = services._claim(ids, now)  # claimed, then the worker died
    assert len(rows) == 3
    assert set(CampaignSend.objects.filter(step=0).values_list("status", flat=True)) == {"sending"}
    assert _send_due(now, config, django_capture_on_commit_callbacks)[0] == []  # not yet stale
    # the next morning's dispatch finds them stale and sends each once
    _batches, results = _send_due(T0 + 4 * DAY, config, django_capture_on_commit_callbacks)
    assert sum(r["sent"] for r in results) == 3
    assert len(mail.outbox) == 3


def test_the_staleness_of_a_claim_is_a_setting(settings, django_capture_on_commit_callbacks):
    # given: claims go stale after 60 s, and a worker died with three rows claimed
    settings.CRM_CAMPAIGN_STALE_SECONDS = 60
    config = _config()
    _flow(config=config)
    for number in range(3):
        _buy(_customer(number), f"o{number}", T0)
    services.decide(T0 + timedelta(hours=1), config, get_host())
    now = T0 + 3 * DAY + timedelta(hours=6)  # 18:00 Tokyo, inside the window
    ids = list(CampaignSend.objects.filter(step=0).values_list("pk", flat=True))
    services._claim(ids, now)

    # when / then: a minute on they are still the dead worker's; a second later, taken again
    assert services.stale_after() == timedelta(seconds=60)
    minute = timedelta(seconds=60)
    assert _send_due(now + minute, config, django_capture_on_commit_callbacks)[0] == []
    assert services.send_batch(ids, now + minute, config, get_host()) == {}
    batches, results = _send_due(
        now + minute + timedelta(seconds=1), config, django_capture_on_commit_callbacks
    )
    assert [sorted(batch) for batch in batches] == [sorted(ids)]
    assert [r["sent"] for r in results] == [3]
    assert len(mail.outbox) == 3


def test_unsubscribing_by_the_link_stops_marketing_and_records_consent(
    client, django_capture_on_commit_callbacks
):
    config = _config()
    _flow(config=config)
    user = _customer(1)
    profile = _buy(user, "o1", T0)
    services.decide(T0 + timedelta(hours=1), config, get_host())
    _send_due(T0 + 3 * DAY + WINDOW_END, config, django_capture_on_commit_callbacks)
    link = mail.outbox[0].extra_headers["List-Unsubscribe"].strip("<>")
    path = "/" + link.split("/", 3)[3]
    page = client.get(path)
    assert page.status_code == 200
    assert b"<form" in page.content
    assert not Unsubscribe.objects.exists()  # a link scanner's GET changes nothing
    done = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert b"Unsubscribed" in done.content
    row = Unsubscribe.objects.get()
    assert (row.profile_id, row.channel, row.source) == (profile.pk, "email", "one_click")
    user.refresh_from_db()
    assert user.private_metadata["marketing_consent"] == "false"
    assert client.post(path).status_code == 200  # again: still unsubscribed, nothing new
    assert Unsubscribe.objects.count() == 1
    _send_due(T0 + 14 * DAY + WINDOW_END, config, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    assert client.get("/campaigns/unsubscribe/forged").status_code == 400


def test_a_dormant_customer_gets_a_win_back_voucher_once(django_capture_on_commit_callbacks):
    config = _config()
    services.install_built_in("winback", config)
    CampaignFlow.objects.filter(slug="winback").update(
        enabled=True, definition={**services.flow_rules.BUILT_IN["winback"], "control_share": 0}
    )
    user = _customer(1)
    _buy(user, "o1", T0)
    dormant = T0 + 90 * DAY + timedelta(hours=1)
    assert services.decide(dormant, config, get_host()) == {"winback": 1}
    _send_due(T0 + 90 * DAY + WINDOW_END, config, django_capture_on_commit_callbacks)
    (message,) = mail.outbox
    send = CampaignSend.objects.get()
    voucher = SandboxVoucher.objects.get(code=send.voucher_code)
    assert voucher.user_id == user.pk
    assert voucher.percent == 10
    assert send.voucher_code in message.body
    assert "10% off" in message.subject
    assert send.voucher_ends_at == T0 + 90 * DAY + WINDOW_END + 30 * DAY
    # the next day the same dormancy enters nobody again
    assert services.decide(dormant + DAY, config, get_host()) == {"winback": 0}


def test_a_wrong_flow_is_refused_with_the_path_of_the_problem():
    config = _config()
    bad = {**FIRST_ORDER, "steps": [{"delay_days": 3, "channel": "fax", "template": "x"}]}
    with pytest.raises(CampaignError) as error:
        services.save_flow("bad", bad, config)
    assert error.value.field == "definition.$.steps[0].channel"
    missing = {**FIRST_ORDER, "steps": [{"delay_days": 3, "channel": "email", "template": "nope"}]}
    with pytest.raises(CampaignError) as error:
        services.save_flow("bad", missing, config)
    assert error.value.field == "definition.$.steps[0].template"
    segment = {**FIRST_ORDER, "trigger": {"kind": "segment_entered", "segment": "Nobody"}}
    with pytest.raises(CampaignError, match="Nobody"):
        services.save_flow("bad", segment, config)
    with pytest.raises(CampaignError) as error:
        services.save_flow("bad slug!", FIRST_ORDER, config)
    assert error.value.field == "slug"
    assert not CampaignFlow.objects.exists()


def test_the_report_compares_messaged_and_held_back_customers(django_capture_on_commit_callbacks):
    config = _config()
    row = _flow(config=config, definition={**FIRST_ORDER, "control_share": 0.5})
    users = [_customer(number) for number in range(30)]
    for number, user in enumerate(users):
        _buy(user, f"o{number}", T0)
    services.decide(T0 + timedelta(hours=1), config, get_host())
    _send_due(T0 + 3 * DAY + WINDOW_END, config, django_capture_on_commit_callbacks)
    messaged = {e.profile.user_id for e in FlowEntry.objects.filter(control=False)}
    buyers = [u for u in users if str(u.pk) in messaged][:4]
    for number, user in enumerate(buyers):
        _buy(user, f"again{number}", T0 + 6 * DAY, total="3000")
    _send_due(T0 + 14 * DAY + WINDOW_END, config, django_capture_on_commit_callbacks)
    report = services.flow_report(row, T0 + 20 * DAY, config)
    control = 30 - len(messaged)
    assert report["entered"] == 30
    overall = report["lift"][""]
    assert (overall["messaged"].customers, overall["messaged"].converted) == (len(messaged), 4)
    assert (overall["control"].customers, overall["control"].converted) == (control, 0)
    jpy = report["lift"]["JPY"]
    assert jpy["messaged"].revenue == 12000.0
    assert jpy["lift"].messaged_revenue == pytest.approx(12000 / len(messaged))
    assert jpy["lift"].revenue == pytest.approx(12000 / len(messaged))
    assert report["attributed"]["JPY"]["orders"] == 4
    step0 = report["steps"][0]
    assert (step0["step"], step0["sent"], step0["held"]) == (0, len(messaged), control)
    assert report["exited"] == {"ordered": 4}


def test_a_repeat_product_due_again_enters_the_restock_flow_on_that_day():
    from saleor_crm_plugin.analytics.report_services import compute_reports
    from tests.factories import T0 as F0
    from tests.factories import product_order

    config = _config()
    snapshots = []
    # four customers bought Tea twice, 30 days apart: its repeat interval is 30 days
    for n in range(4):
        snapshots.append(product_order(f"a{n}", f"u{n}", 0, {"P1": "1000"}))
        snapshots.append(product_order(f"b{n}", f"u{n}", 30, {"P1": "1000"}))
    # a fifth bought it once, 10 days in: due on day 40
    snapshots.append(product_order("c", "u9", 10, {"P1": "1000", "P2": "500"}))
    ingest_orders(snapshots)
    compute_reports(F0 + 41 * DAY, F0 + 41 * DAY, ["REGULAR"])
    services.save_flow("restock", services.flow_rules.BUILT_IN["replenish"], config, enabled=True)
    due_day = (F0 + 40 * DAY).astimezone(config.zone).date()
    events = services.day_events(due_day, config)
    restock = events[events["kind"] == "restock_due"]
    guest = CustomerProfile.objects.get(user_id="u9")
    assert restock["customer_id"].tolist() == [guest.pk]
    assert restock["value"].tolist() == ["P1"]
    assert services.day_events(due_day - DAY, config)["kind"].tolist() == []


def test_a_flow_switched_off_pauses_its_due_messages(django_capture_on_commit_callbacks):
    config = _config()
    row = _flow(config=config)
    _buy(_customer(1), "o1", T0)
    services.decide(T0 + timedelta(hours=1), config, get_host())
    CampaignFlow.objects.filter(pk=row.pk).update(enabled=False)
    assert _send_due(T0 + 3 * DAY + WINDOW_END, config, django_capture_on_commit_callbacks)[0] == []
    assert CampaignSend.objects.get(step=0).status == "pending"
    CampaignFlow.objects.filter(pk=row.pk).update(enabled=True)
    _send_due(T0 + 4 * DAY, config, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1


def test_the_day_3_mail_reaches_a_real_smtp_server_with_its_one_click_unsubscribe(
    smtp_server, client, django_capture_on_commit_callbacks
):
    config = _config(
        **{
            "smtp-host": smtp_server.host,
            "smtp-port": str(smtp_server.port),
            "smtp-security": "none",
        }
    )
    _flow(config=config)
    user = _customer(1)
    _buy(user, "o1", T0)
    services.decide(T0 + timedelta(hours=1), config, get_host())
    _send_due(T0 + 3 * DAY + WINDOW_END, config, django_capture_on_commit_callbacks)
    assert mail.outbox == []  # through the SMTP server, not Django's backend
    (message,) = smtp_server.messages
    assert message["To"] == "c1@example.com"
    assert message["Subject"] == "Thank you for your first order, Hana"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    send = CampaignSend.objects.get(step=0)
    assert message["Message-ID"] == f"<crm-{send.key.replace(':', '-')}@example.com>"
    assert {part.get_content_type() for part in message.walk()} >= {"text/plain", "text/html"}
    link = message["List-Unsubscribe"].strip().strip("<>")
    html = message.get_body(preferencelist=("html",)).get_content()
    assert f'href="{link}"' in html
    # the mail client's one-click POST (RFC 8058) to the header's link
    answer = client.post(
        "/" + link.split("/", 3)[3],
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert answer.status_code == 200
    assert Unsubscribe.objects.get().source == "one_click"


def _line_flow(channel):
    return {
        **FIRST_ORDER,
        "steps": [{"delay_days": 3, "channel": channel, "template": "thank_you"}],
    }


def test_a_line_step_pushes_to_the_customers_line_id_and_keeps_lines_error(
    http_server, django_capture_on_commit_callbacks
):
    config = _config(
        **{"line-channel-access-token": "token-123", "line-api-base-url": http_server.url}
    )
    _flow(config=config, definition=_line_flow("line"))
    linked = _customer(1)
    linked.private_metadata["line_user_id"] = "U" + "a" * 32
    linked.save()
    _buy(linked, "o1", T0)
    _buy(_customer(2), "o2", T0)  # no LINE id
    services.decide(T0 + timedelta(hours=1), config, get_host())
    _send_due(T0 + 3 * DAY + WINDOW_END, config, django_capture_on_commit_callbacks)
    (request,) = http_server.requests
    assert request.path == "/v2/bot/message/push"
    assert request.headers["Authorization"] == "Bearer token-123"
    body = request.json()
    assert body["to"] == "U" + "a" * 32
    assert body["messages"][0]["type"] == "text"
    assert body["messages"][0]["text"].startswith("Hello Hana,")
    statuses = dict(CampaignSend.objects.values_list("profile__user_id", "status"))
    assert statuses == {str(linked.pk): "sent", str(linked.pk + 1): "failed"}
    missing = CampaignSend.objects.get(status="failed")
    assert missing.reason == "no_address"
    assert "line_user_id" in missing.error


def test_a_line_refusal_is_recorded_with_lines_own_message(
    http_server, django_capture_on_commit_callbacks
):
    config = _config(
        **{"line-channel-access-token": "token-123", "line-api-base-url": http_server.url}
    )
    _flow(config=config, definition=_line_flow("line"))
    user = _customer(1)
    user.private_metadata["line_user_id"] = "U" + "b" * 32
    user.save()
    _buy(user, "o1", T0)
    services.decide(T0 + timedelta(hours=1), config, get_host())
    http_server.answer(
        400,
        {
            "message": "The request body has 1 error(s)",
            "details": [{"message": "May not be empty", "property": "messages[0].text"}],
        },
    )
    _send_due(T0 + 3 * DAY + WINDOW_END, config, django_capture_on_commit_callbacks)
    send = CampaignSend.objects.get()
    assert (send.status, send.reason) == ("failed", "line:400")
    assert "May not be empty" in send.error


def test_a_webhook_step_posts_a_signed_event(
    http_server, settings, django_capture_on_commit_callbacks
):
    from saleor_crm_plugin.campaigns.signing import verify_signature

    secret = "s3cret-s3cret-s3cret"
    channel = {"webhook-secret": secret, "webhook-url": f"{http_server.url}/hook"}
    settings.CRM_CONFIG = {**settings.CRM_CONFIG, **channel}  # what the delivery task reads
    config = _config(**channel)
    _flow(config=config, definition=_line_flow("webhook"))
    user = _customer(1)
    _buy(user, "o1", T0)
    services.decide(T0 + timedelta(hours=1), config, get_host())
    with django_capture_on_commit_callbacks(execute=True):
        _send_due(T0 + 3 * DAY + WINDOW_END, config, django_capture_on_commit_callbacks)
    (request,) = http_server.requests
    assert request.headers["X-CRM-Event"] == "flow.step"
    assert verify_signature(
        secret,
        request.headers["X-CRM-Timestamp"],
        request.body,
        request.headers["X-CRM-Signature"],
        int(request.headers["X-CRM-Timestamp"]),
    )
    envelope = json.loads(request.body)
    assert envelope["event"] == "flow.step"
    assert envelope["delivery"] == CampaignSend.objects.get().key
    payload = envelope["data"]
    assert payload["flow"] == "thanks"
    assert payload["template"] == "thank_you"
    assert payload["user"] == str(user.pk)
    assert CampaignSend.objects.get().status == "sent"


def test_a_rank_about_to_go_down_at_its_review_gets_the_warning_days_before():
    from zoneinfo import ZoneInfo

    from saleor_crm_plugin.loyalty.models import MemberRank

    tokyo = ZoneInfo("Asia/Tokyo")
    config = _config(
        ranks="Regular (REGULAR)\nGold (GOLD): orders 2",
        **{"rank-window": "rolling 3 months, on day 1"},
    )
    review = datetime(2026, 5, 1, tzinfo=tokyo)
    slipping, keeping = _customer(1), _customer(2)
    for user, days in ((slipping, (0, 1)), (keeping, (90, 100))):
        for n, day in enumerate(days):
            _buy(user, f"{user.pk}-{n}", datetime(2026, 1, 5, 3, tzinfo=UTC) + day * DAY)
    for user in (slipping, keeping):
        MemberRank.objects.create(
            profile=CustomerProfile.objects.get(user_id=str(user.pk)),
            code="GOLD",
            since=datetime(2026, 1, 6, tzinfo=UTC),
            rule_version="test",
            review_at=review,
        )
    # at the 1 May review the 3-month window starts on 1 February: the January orders are out
    # of it (down to Regular), the April ones in it (Gold kept)
    events = services.day_events(date_of(review) - 14 * DAY, config, horizons=[14])
    soon = events[events["kind"] == "rank_down_soon"]
    slipping_profile = CustomerProfile.objects.get(user_id=str(slipping.pk))
    assert soon["customer_id"].tolist() == [slipping_profile.pk]
    assert soon["value"].tolist() == [14]
    assert soon["occasion"].tolist() == ["rankdue:2026-05-01"]
    assert services.day_events(date_of(review) - 13 * DAY, config, horizons=[14]).empty
    flow = services.flow_rules.parse_flow(services.flow_rules.BUILT_IN["rank-down-warning"])
    assert services.flow_rules.entering(flow, date_of(review) - 14 * DAY, tokyo, events=events) == [
        slipping_profile.pk
    ]


def date_of(moment):
    return moment.date()


def test_the_facts_read_birth_dates_and_the_first_expiry_before_the_horizon():
    # given: Hana (birth date in her private metadata) with points expiring in 10 and 40 days
    # and a spent lot expiring in 5; Ken (birth date in his public metadata, two orders)
    hana = _customer(1)
    hana.private_metadata["birth_date"] = "1990-03-14"
    hana.save()
    ken = _customer(2)
    ken.metadata = {"birth_date": "1985-12-01"}
    ken.save()
    first = _buy(hana, "o1", T0)
    _buy(ken, "o2", T0 - 10 * DAY)
    second = _buy(ken, "o3", T0)
    account = PointsAccount.objects.create(profile=first)
    for key, remaining, days in (("a", 100, 10), ("b", 100, 40), ("c", 0, 5)):
        PointsLot.objects.create(
            account=account,
            key=key,
            earned_at=T0 - 300 * DAY,
            points=100,
            remaining=remaining,
            expires_at=T0 + days * DAY,
        )

    # when
    facts = services.customer_facts(T0, get_host(), expiring_before=T0 + 30 * DAY)
    sooner = services.customer_facts(T0, get_host(), expiring_before=T0 + 10 * DAY)
    every = services.customer_facts(T0, get_host())

    # then
    assert list(facts.columns) == services.FACT_COLUMNS
    rows = facts.set_index("customer_id")
    assert rows.loc[first.pk].to_dict() == {
        "order_count": 1,
        "first_paid_at": pd.Timestamp(T0),
        "last_paid_at": pd.Timestamp(T0),
        "last_order_at": pd.Timestamp(T0),
        "birth_date": pd.Timestamp("1990-03-14"),
        "next_expiry_at": pd.Timestamp(T0 + 10 * DAY),
    }
    assert rows.loc[second.pk, "order_count"] == 2
    assert rows.loc[second.pk, "first_paid_at"] == pd.Timestamp(T0 - 10 * DAY)
    assert rows.loc[second.pk, "birth_date"] == pd.Timestamp("1985-12-01")
    assert pd.isna(rows.loc[second.pk, "next_expiry_at"])
    assert pd.isna(sooner.set_index("customer_id").loc[first.pk, "next_expiry_at"])
    assert every.set_index("customer_id").loc[first.pk, "next_expiry_at"] == pd.Timestamp(
        T0 + 10 * DAY
    )


def test_points_flows_enter_on_the_day_their_points_expire_within_the_days():
    # given: both points-expiry flows, and lots expiring 7 and 30 Tokyo days after T0's day
    config = _config()
    for name in ("points-expiry-7", "points-expiry-30"):
        row = services.install_built_in(name, config)
        services.save_flow(row.slug, row.definition, config, enabled=True)
    seven, thirty = _buy(_customer(1), "o1", T0 - DAY), _buy(_customer(2), "o2", T0 - DAY)
    for profile, days in ((seven, 7), (thirty, 30)):
        PointsLot.objects.create(
            account=PointsAccount.objects.create(profile=profile),
            key="a",
            earned_at=T0 - 300 * DAY,
            points=100,
            remaining=100,
            expires_at=T0 + days * DAY,
        )

    # when
    entered = services.decide(T0, config, get_host())

    # then
    assert entered == {"points-expiry-7": 1, "points-expiry-30": 1}
    assert set(FlowEntry.objects.values_list("flow__slug", "profile_id", "occasion")) == {
        ("points-expiry-7", seven.pk, "expiry:2026-03-09"),
        ("points-expiry-30", thirty.pk, "expiry:2026-04-01"),
    }
    assert CampaignSend.objects.filter(status="pending").count() == 2
    assert services.decide(T0 + DAY, config, get_host()) == {
        "points-expiry-7": 0,
        "points-expiry-30": 0,
    }


def test_a_batch_reads_and_compiles_its_template_once(django_capture_on_commit_callbacks):
    # given: staff's own thank-you template, and three customers due their day-3 mail
    messages.save_template("thank_you", "Thanks, {{ name }}", "Hello {{ name }}, {{ flow }}")
    config = _config()
    _flow(config=config)
    for number, name in enumerate(("Hana", "Ken", "Yui")):
        _buy(_customer(number, first_name=name), f"o{number}", T0)
    services.decide(T0 + timedelta(hours=1), config, get_host())

    # when
    with CaptureQueriesContext(connection) as queries:
        _send_due(T0 + 3 * DAY + WINDOW_END, config, django_capture_on_commit_callbacks)

    # then: every customer got the staff's text with their name; the template was read once
    assert sorted(m.subject for m in mail.outbox) == ["Thanks, Hana", "Thanks, Ken", "Thanks, Yui"]
    assert sorted(m.body for m in mail.outbox) == [
        f"Hello {name}, Thank you\n" for name in ("Hana", "Ken", "Yui")
    ]
    template_reads = [q for q in queries if "saleor_crm_messagetemplate" in q["sql"]]
    assert len(template_reads) == 1
