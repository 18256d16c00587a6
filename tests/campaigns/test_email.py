"""Campaign email through a real SMTP server on 127.0.0.1 (aiosmtpd), or Django's backend."""

import shutil
import socket
import ssl
import subprocess
from contextlib import closing

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.core.mail import EmailMessage, EmailMultiAlternatives

from saleor_crm_plugin.campaigns.transports import (
    Outcome,
    email_connection,
    from_email,
    send_email,
)
from saleor_crm_plugin.conf import parse_config

from .conftest import SmtpHandler, SmtpServer, free_port


def _config(server, **extra):
    return parse_config(
        {
            "smtp-host": server.host,
            "smtp-port": str(server.port),
            "smtp-security": "none",
            "campaign-from-email": "Shop <news@example.com>",
            **extra,
        }
    )


def _mail(to="hanako@example.com", config=None):
    message = EmailMultiAlternatives(
        "春のお知らせ",
        "Plain text part",
        from_email(config) if config else "news@example.com",
        [to],
        headers={"List-Unsubscribe": "<https://shop.example.com/u/abc>"},
    )
    message.attach_alternative("<p>HTML part</p>", "text/html")
    return message


def test_a_batch_goes_through_the_stores_smtp_server_with_its_login(smtp_server_with_login):
    # given
    server = smtp_server_with_login
    config = _config(server, **{"smtp-username": server.username, "smtp-password": server.password})

    # when: one connection for the batch
    with closing(email_connection(config)) as connection:
        outcomes = [
            send_email(connection, _mail(to, config)) for to in ("a@example.com", "b@example.com")
        ]

    # then
    assert outcomes == [Outcome(True), Outcome(True)]
    assert [(m.mail_from, m.recipients, m.login) for m in server.received] == [
        ("news@example.com", ("a@example.com",), server.username),
        ("news@example.com", ("b@example.com",), server.username),
    ]
    first = server.messages[0]
    assert first["From"] == "Shop <news@example.com>"
    assert first["Subject"] == "春のお知らせ"
    assert first["List-Unsubscribe"] == "<https://shop.example.com/u/abc>"
    assert first.get_body(("plain",)).get_content() == "Plain text part"
    assert first.get_body(("html",)).get_content() == "<p>HTML part</p>"


def test_the_connection_uses_the_settings_and_a_timeout(smtp_server):
    config = _config(smtp_server, **{"smtp-security": "ssl", "smtp-username": "u"})

    connection = email_connection(config)

    assert (connection.host, connection.port, connection.username, connection.password) == (
        smtp_server.host,
        smtp_server.port,
        "u",
        "",
    )
    assert (connection.use_ssl, connection.use_tls, connection.timeout) == (True, False, 10)
    assert email_connection(parse_config({"smtp-host": "mx.example.com"})).use_tls is True


def test_a_wrong_password_is_the_servers_refusal_for_the_whole_batch(smtp_server_with_login):
    # given
    server = smtp_server_with_login
    config = _config(server, **{"smtp-username": server.username, "smtp-password": "wrong"})

    # when
    with closing(email_connection(config)) as connection:
        outcomes = [send_email(connection, _mail(to)) for to in ("a@example.com", "b@example.com")]

    # then: the server's own reply for both, not worth retrying as is, and nothing received
    refused = Outcome(False, "SMTP 535: 5.7.8 Authentication credentials invalid", "smtp:535")
    assert outcomes == [refused, refused]
    # one login for the batch (smtplib tries each mechanism the server offers)
    assert server.logins_tried == [("PLAIN", server.username), ("LOGIN", server.username)]
    assert server.received == []


def test_without_a_login_a_server_that_requires_one_refuses(smtp_server_with_login):
    with closing(email_connection(_config(smtp_server_with_login))) as connection:
        outcome = send_email(connection, _mail())

    assert outcome == Outcome(False, "SMTP 530: 5.7.0 Authentication required", "smtp:530")
    assert smtp_server_with_login.received == []


def test_a_refused_recipient_fails_alone_and_the_batch_goes_on(smtp_server):
    # given
    smtp_server.refuse = {
        "gone@example.com": "550 5.1.1 No such user",
        "full@example.com": "452 4.2.2 Mailbox full",
    }
    config = _config(smtp_server)

    # when
    with closing(email_connection(config)) as connection:
        gone = send_email(connection, _mail("gone@example.com"))
        full = send_email(connection, _mail("full@example.com"))
        fine = send_email(connection, _mail("fine@example.com"))

    # then
    assert gone == Outcome(
        False, "SMTP 550: 5.1.1 No such user (gone@example.com)", "smtp:550", retryable=False
    )
    assert full == Outcome(
        False, "SMTP 452: 4.2.2 Mailbox full (full@example.com)", "smtp:452", retryable=True
    )
    assert fine == Outcome(True)
    assert [m.recipients for m in smtp_server.received] == [("fine@example.com",)]


def test_a_server_that_is_not_there_is_a_retryable_connection_error():
    # given: a port nothing listens on
    config = parse_config(
        {"smtp-host": "127.0.0.1", "smtp-port": str(free_port()), "smtp-security": "none"}
    )

    # when
    outcome = send_email(email_connection(config), _mail())

    # then
    assert (outcome.ok, outcome.code, outcome.retryable) == (False, "connection", True)
    assert "Connection refused" in outcome.error


def test_a_dropped_connection_is_reopened_for_the_next_message(smtp_server):
    config = _config(smtp_server)
    with closing(email_connection(config)) as connection:
        assert send_email(connection, _mail("a@example.com")) == Outcome(True)
        connection.connection.sock.shutdown(socket.SHUT_RDWR)  # the network dropped it

        broken = send_email(connection, _mail("b@example.com"))
        again = send_email(connection, _mail("c@example.com"))

    assert (broken.ok, broken.code, broken.retryable) == (False, "connection", True)
    assert again == Outcome(True)
    assert [m.recipients for m in smtp_server.received] == [("a@example.com",), ("c@example.com",)]


def test_without_an_smtp_host_djangos_email_settings_send(settings):
    # given: pytest-django's backend keeps the mail in memory
    settings.DEFAULT_FROM_EMAIL = "store@example.com"
    config = parse_config({})

    # when
    with closing(email_connection(config)) as connection:
        outcome = send_email(
            connection, EmailMessage("Hi", "Body", from_email(config), ["x@example.com"])
        )

    # then
    assert outcome == Outcome(True)
    assert [(m.subject, m.from_email, m.to) for m in mail.outbox] == [
        ("Hi", "store@example.com", ["x@example.com"])
    ]


def test_a_message_without_recipients_is_not_sent(smtp_server):
    with closing(email_connection(_config(smtp_server))) as connection:
        outcome = send_email(connection, EmailMessage("Hi", "Body", "news@example.com", []))

    assert outcome == Outcome(False, "not sent: the message has no recipient", "smtp:no_recipient")
    assert smtp_server.received == []


def test_starttls_is_used_and_the_certificate_checked(tmp_path, monkeypatch):
    """`starttls` upgrades the connection before anything is sent, and a certificate the
    system does not trust is refused (trusted here through SSL_CERT_FILE)."""
    # given: a certificate for localhost, and a server that requires STARTTLS
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a certificate")
    subprocess.run(  # noqa: S603 (a fixed command)
        [
            openssl,
            *"req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost".split(),
            *("-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = SmtpServer("localhost", free_port())
    controller = Controller(
        SmtpHandler(server),
        hostname="127.0.0.1",
        port=server.port,
        tls_context=context,
        require_starttls=True,
    )
    controller.start()
    try:
        config = parse_config({"smtp-host": "localhost", "smtp-port": str(server.port)})

        # when: the certificate is not trusted
        untrusted = send_email(email_connection(config), _mail())

        # then
        assert (untrusted.ok, untrusted.code, untrusted.retryable) == (False, "tls", False)
        assert "certificate verify failed" in untrusted.error
        assert server.received == []

        # when: it is
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        trusted = send_email(email_connection(config), _mail())

        # then
        assert trusted == Outcome(True)
        assert [m.recipients for m in server.received] == [("hanako@example.com",)]
    finally:
        controller.stop()
