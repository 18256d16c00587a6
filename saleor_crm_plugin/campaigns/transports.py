"""Channel transports (being written on the transports branch; this is the email part)."""

from dataclasses import dataclass

from django.core.mail import get_connection


@dataclass(frozen=True)
class Outcome:
    ok: bool
    error: str = ""
    code: str = ""
    retryable: bool = False


def email_connection(config):
    return get_connection(fail_silently=False)


def line_push(config, line_user_id: str, messages: list[dict], key: str) -> Outcome:
    raise NotImplementedError("LINE arrives with the transports branch")


def enqueue_webhook(config, event: str, payload: dict, key: str) -> None:
    raise NotImplementedError("webhooks arrive with the transports branch")
