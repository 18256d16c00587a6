"""Real servers on 127.0.0.1 for the campaign channels' tests.

- `smtp_server`: an aiosmtpd SMTP server; `.messages` are the received emails parsed with the
  `email` package, `.received` the same with their envelope and the login used. A login, when
  the client sends one, must be `.username`/`.password` (`.logins_tried` lists every
  attempt); `.refuse` maps a recipient address to the reply that refuses it (e.g.
  "550 5.1.1 No such user").
- `smtp_server_with_login`: the same, refusing mail from a client that has not logged in.
- `http_server`: an HTTP server answering from `.answers` (status, body, headers), in order
  (200 with an empty body when none is left), recording each request in `.requests`.
"""

import json
import socket
import threading
import time
import warnings
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    recipients: tuple[str, ...]
    message: EmailMessage
    login: str | None  # the user name the client logged in with


@dataclass
class SmtpServer:
    host: str
    port: int
    username: str = "crm-sender"
    password: str = "p4ss word"  # a space: passwords are used as typed
    received: list[ReceivedMail] = field(default_factory=list)
    # (mechanism, user name) of every AUTH attempt
    logins_tried: list[tuple[str, str]] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)

    @property
    def messages(self) -> list[EmailMessage]:
        return [mail.message for mail in self.received]


class SmtpHandler:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.server.refuse:
            return self.server.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        login = session.auth_data.login.decode() if session.authenticated else None
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.server.received.append(
            ReceivedMail(envelope.mail_from, tuple(envelope.rcpt_tos), message, login)
        )
        return "250 2.0.0 Queued"


def _smtp(login_required: bool):
    server = SmtpServer("127.0.0.1", free_port())

    def authenticator(smtp, session, envelope, mechanism, auth_data):
        server.logins_tried.append((mechanism, getattr(auth_data, "login", b"").decode()))
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode(),
            auth_data.password.decode(),
        ) == (server.username, server.password)
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    with warnings.catch_warnings():  # "AUTH without TLS": fine on 127.0.0.1
        warnings.simplefilter("ignore", UserWarning)
        controller = Controller(
            SmtpHandler(server),
            hostname=server.host,
            port=server.port,
            authenticator=authenticator,
            auth_required=login_required,
            auth_require_tls=False,
        )
        controller.start()
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def smtp_server():
    yield from _smtp(login_required=False)


@pytest.fixture
def smtp_server_with_login():
    yield from _smtp(login_required=True)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: Message
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class HttpServer:
    host: str
    port: int
    requests: list[RecordedRequest] = field(default_factory=list)
    # (status, body: bytes, str or JSON-able, headers, seconds to wait before answering)
    answers: list[tuple] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def answer(self, status: int, body=b"", headers: dict | None = None, delay: float = 0):
        self.answers.append((status, body, headers or {}, delay))


def _http_handler(stub: HttpServer):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            stub.requests.append(RecordedRequest("POST", self.path, self.headers, body))
            status, answer, headers, delay = (
                stub.answers.pop(0) if stub.answers else (200, b"", {}, 0)
            )
            if delay:
                time.sleep(delay)
            if not isinstance(answer, bytes):
                answer = (answer if isinstance(answer, str) else json.dumps(answer)).encode()
                headers = {"Content-Type": "application/json", **headers}
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout)
                pass

        def log_message(self, format, *args):  # quiet
            return

    return Handler


@pytest.fixture
def http_server():
    stub = HttpServer("127.0.0.1", 0)
    server = ThreadingHTTPServer((stub.host, 0), _http_handler(stub))
    server.daemon_threads = True
    stub.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
