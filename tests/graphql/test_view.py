"""The HTTP view's answer to errors: what reaches the client, and what only the log sees."""

import json
import logging

import pytest

from saleor_crm_plugin.graphql.segments import schema as segments_schema

pytestmark = pytest.mark.django_db

SECRET = "connection to postgres://crm:hunter2@10.0.0.5/crm failed"
ERRORS_LOGGER = "saleor_crm_plugin.graphql.core.errors"


def _logged(caplog):
    return [record for record in caplog.records if record.name == ERRORS_LOGGER]


@pytest.fixture
def broken_rfm(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError(SECRET)

    monkeypatch.setattr(segments_schema, "rfm_groups", broken)


def test_an_unexpected_error_answers_a_generic_message_and_is_logged(
    post, staff_user, broken_rfm, caplog
):
    # when
    with caplog.at_level(logging.ERROR, logger=ERRORS_LOGGER):
        answer = post("{ crmRfm { group } }", token=staff_user.api_token)

    # then
    assert answer == {
        "data": None,
        "errors": [
            {
                "message": "Internal Server Error",
                "locations": [{"line": 1, "column": 3}],
                "path": ["crmRfm"],
                "extensions": {"exception": {"code": "RuntimeError"}},
            }
        ],
    }
    assert "hunter2" not in json.dumps(answer)
    records = _logged(caplog)
    assert len(records) == 1
    record = records[0]
    assert (record.levelname, record.getMessage()) == (
        "ERROR",
        "CRM GraphQL: unexpected error at ['crmRfm']",
    )
    assert record.exc_info[0] is RuntimeError
    assert str(record.exc_info[1]) == SECRET
    traceback = logging.Formatter().formatException(record.exc_info)
    assert "in broken\n    raise RuntimeError(SECRET)" in traceback  # down to the raising line


def test_with_debug_on_the_unexpected_error_shows_its_text(post, staff_user, broken_rfm, settings):
    # given
    settings.DEBUG = True

    # when
    answer = post("{ crmRfm { group } }", token=staff_user.api_token)

    # then
    assert answer["errors"][0]["message"] == SECRET


def test_intended_errors_keep_their_messages_and_are_not_logged(post, staff_user, caplog):
    # when
    with caplog.at_level(logging.ERROR, logger=ERRORS_LOGGER):
        denied = post("{ crmRfm { group } }")
        wrong = post("{ crmCustomers(first: 500) { totalCount } }", token=staff_user.api_token)
        invalid = post("{ crmRfm { noSuchField } }", token=staff_user.api_token)

    # then
    assert denied["errors"][0]["message"] == (
        "You need one of the following permissions: MANAGE_USERS"
    )
    assert denied["errors"][0]["extensions"] == {"exception": {"code": "PermissionDenied"}}
    assert wrong["errors"][0]["message"] == "first: must be between 0 and 100, not 500"
    assert wrong["errors"][0]["extensions"] == {
        "exception": {"code": "GraphQLError", "field": "first"}
    }
    assert invalid["errors"][0]["message"] == (
        'Cannot query field "noSuchField" on type "CRMRfmGroup".'
    )
    assert _logged(caplog) == []
