"""LINE push messages against a local HTTP server that checks the request and answers as
LINE's Messaging API documents (errors as {"message", "details": [{"message", "property"}]})."""

import pytest

from saleor_crm_plugin.campaigns import transports
from saleor_crm_plugin.campaigns.transports import Outcome, line_push, line_retry_key
from saleor_crm_plugin.conf import parse_config

from .conftest import free_port

TOKEN = "line-channel-token/ABC+def="
USER = "U4af4980629b7d4f5e3a0d5c3e0b7d8e9"
KEY = "flow:3:step:1:customer:42"
# uuid5(LINE_RETRY_NAMESPACE, KEY), computed by hand from RFC 4122 (SHA-1 of the namespace's
# bytes and the key, version and variant bits set).
RETRY_KEY = "12950aa4-76d0-543f-a43f-ffd1982f3f4e"
MESSAGES = [{"type": "text", "text": "ご購入ありがとうございます"}]


def _config(server, **extra):
    return parse_config(
        {"line-channel-access-token": TOKEN, "line-api-base-url": server.url, **extra}
    )


def test_the_push_request_is_the_one_line_documents(http_server):
    # given
    http_server.answer(200, {"sentMessages": [{"id": "461230966842064897", "quoteToken": "q"}]})

    # when
    outcome = line_push(_config(http_server), USER, MESSAGES, KEY)

    # then
    assert outcome == Outcome(True, code="line:200")
    [request] = http_server.requests
    assert (request.method, request.path) == ("POST", "/v2/bot/message/push")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Line-Retry-Key"] == RETRY_KEY
    assert request.json() == {"to": USER, "messages": MESSAGES}
    assert "ご購入ありがとうございます".encode() in request.body  # UTF-8, not \\u escapes


def test_the_retry_key_is_the_same_for_one_send_and_differs_between_sends():
    assert line_retry_key(KEY) == RETRY_KEY
    assert line_retry_key("flow:3:step:1:customer:43") == "41fa4f93-03ef-5498-90da-1b1c1ff11926"


def test_a_retry_line_already_accepted_is_a_success(http_server):
    # given: the first push timed out on our side but LINE accepted it
    http_server.answer(200, {"sentMessages": [{"id": "1", "quoteToken": "q"}]}, delay=1.5)
    http_server.answer(
        409,
        {"message": "The retry key is already accepted", "sentMessages": [{"id": "1"}]},
        {"X-Line-Accepted-Request-Id": "abc-request"},
    )
    config = _config(http_server)

    # when
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(transports, "TIMEOUT_SECONDS", 0.5)
        first = line_push(config, USER, MESSAGES, KEY)
    again = line_push(config, USER, MESSAGES, KEY)

    # then: the retry carried the same key, and counts as delivered
    assert first == Outcome(False, "no answer within 0.5 seconds", "timeout", retryable=True)
    assert again == Outcome(True, code="line:409")
    assert [r.headers["X-Line-Retry-Key"] for r in http_server.requests] == [RETRY_KEY] * 2


def test_lines_error_details_are_in_the_outcome(http_server):
    # given
    http_server.answer(
        400,
        {
            "message": "The request body has 2 error(s)",
            "details": [
                {"message": "May not be empty", "property": "messages[0].text"},
                {
                    "message": "Must be one of the following values: [text, image, video, "
                    "audio, location, sticker, template, imagemap]",
                    "property": "messages[1].type",
                },
            ],
        },
        {"X-Line-Request-Id": "123e4567-e89b-12d3-a456-426614174000"},
    )

    # when
    outcome = line_push(_config(http_server), USER, MESSAGES, KEY)

    # then
    assert outcome == Outcome(
        False,
        "LINE 400: The request body has 2 error(s) (messages[0].text: May not be empty; "
        "messages[1].type: Must be one of the following values: [text, image, video, audio, "
        "location, sticker, template, imagemap]) "
        "[request 123e4567-e89b-12d3-a456-426614174000]",
        "line:400",
        retryable=False,
    )


@pytest.mark.parametrize(
    ("status", "message", "retryable"),
    [
        (
            401,
            "Authentication failed due to the following reason: invalid token. Confirm that "
            "the access token in the authorization header is valid.",
            False,
        ),
        (
            403,
            "Access to this API is not available for your account",
            False,
        ),
        (429, "The API rate limit has been exceeded. Try again later.", True),
        (429, "You have reached your monthly limit.", False),
        (500, "An internal server error occurred.", True),
    ],
    ids=["401 bad token", "403", "429 rate limit", "429 monthly quota", "500"],
)
def test_lines_error_codes_and_whether_to_retry(http_server, status, message, retryable):
    http_server.answer(status, {"message": message})

    outcome = line_push(_config(http_server), USER, MESSAGES, KEY)

    assert outcome == Outcome(False, f"LINE {status}: {message}", f"line:{status}", retryable)


def test_an_answer_that_is_not_lines_json_is_quoted(http_server):
    http_server.answer(502, "<html><body>Bad Gateway</body></html>", {"Content-Type": "text/html"})

    outcome = line_push(_config(http_server), USER, MESSAGES, KEY)

    assert outcome == Outcome(
        False, "LINE 502: <html><body>Bad Gateway</body></html>", "line:502", retryable=True
    )


def test_a_redirect_is_not_followed(http_server):
    http_server.answer(301, b"", {"Location": "http://elsewhere.example/v2/bot/message/push"})

    outcome = line_push(_config(http_server), USER, MESSAGES, KEY)

    assert (outcome.ok, outcome.code, outcome.retryable) == (False, "line:301", False)
    assert len(http_server.requests) == 1


def test_a_server_that_is_not_there_is_a_retryable_connection_error():
    config = parse_config(
        {
            "line-channel-access-token": TOKEN,
            "line-api-base-url": f"http://127.0.0.1:{free_port()}",
        }
    )

    outcome = line_push(config, USER, MESSAGES, KEY)

    assert (outcome.ok, outcome.code, outcome.retryable) == (False, "connection", True)
    assert "Connection refused" in outcome.error


def test_without_a_token_nothing_is_sent(http_server):
    config = parse_config({"line-api-base-url": http_server.url})

    outcome = line_push(config, USER, MESSAGES, KEY)

    assert outcome == Outcome(
        False, "no LINE channel access token is set (line-channel-access-token)", "line:token"
    )
    assert http_server.requests == []


@pytest.mark.parametrize("count", [0, 6])
def test_a_push_takes_one_to_five_messages(http_server, count):
    with pytest.raises(ValueError, match=f"a LINE push takes 1 to 5 messages, not {count}"):
        line_push(_config(http_server), USER, MESSAGES * count, KEY)

    assert http_server.requests == []
