"""The local HTTP server (make run's API Gateway): what a client sees for good and malformed requests.

Every request the server cannot hand on gets an OCPI envelope (status_code 2000, a message saying
what is wrong) with X-Request-ID / X-Correlation-ID; keep-alive, chunked bodies and
``Expect: 100-continue`` work; idle clients do not hold the bounded pool of workers.
"""

import json
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from ocpi_commands_dev.emulation import http_server
from ocpi_commands_dev.emulation.http_server import HttpServer, Request, Response

SOCKET_TIMEOUT = 20  # a deadline for every read: a missing answer fails the test, it never hangs


def echo(request: Request) -> Response:
    body = json.dumps({"method": request.method, "target": request.target, "body": request.body.decode()}).encode()
    return Response(200, {"Content-Type": "application/json"}, body)


@pytest.fixture
def server() -> Iterator[HttpServer]:
    started = HttpServer("127.0.0.1", 0, echo, workers=2, max_body=1024).start()
    yield started
    started.stop()


class Client:
    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT)
        self.buffer = b""

    def send(self, data: bytes) -> "Client":
        self.sock.sendall(data)
        return self

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return bool(chunk)

    def response(self) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buffer:
            assert self._fill(), f"connection closed before an answer: {self.buffer!r}"
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            assert self._fill(), "connection closed in the body"
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(status_line.split(" ")[1]), headers, body

    def closed_by_server(self) -> bool:
        try:
            return not self._fill()
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()


def ask(server: HttpServer, raw: bytes) -> tuple[int, dict[str, str], bytes, Client]:
    client = Client(server.port).send(raw)
    status, headers, body = client.response()
    return status, headers, body, client


def envelope(body: bytes) -> dict:
    parsed = json.loads(body)
    assert set(parsed) == {"status_code", "status_message", "timestamp"}, parsed
    assert parsed["timestamp"].endswith("Z")
    return parsed


@pytest.mark.parametrize(
    "content_length",
    ["-5", "abc", "1e3", "12, 13", " +4"],
)
def test_a_bad_content_length_is_400_with_an_envelope_and_the_ids(server, content_length):
    raw = (
        f"POST /x HTTP/1.1\r\nHost: t\r\nX-Request-ID: req-1\r\nX-Correlation-ID: corr-1\r\n"
        f"Content-Length: {content_length}\r\n\r\n{{}}"
    ).encode()
    status, headers, body, client = ask(server, raw)
    assert status == 400
    assert (headers["x-request-id"], headers["x-correlation-id"]) == ("req-1", "corr-1")
    answer = envelope(body)
    assert answer["status_code"] == 2000 and "Content-Length" in answer["status_message"]
    assert headers["connection"] == "close" and client.closed_by_server()


@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        ("GET /a b HTTP/1.1", 400),  # a space in the target
        ("GET  /a HTTP/1.1", 400),
        ("GET /a", 400),
        ("GET /a HTTP/one", 400),
        ("G(E)T /a HTTP/1.1", 400),
        ("GET a HTTP/1.1", 400),
        ("GET /a HTTP/2.0", 505),
    ],
)
def test_an_odd_request_line_gets_an_envelope_with_generated_ids(server, request_line, status):
    answer_status, headers, body, client = ask(server, f"{request_line}\r\nHost: t\r\n\r\n".encode())
    assert answer_status == status
    assert headers["x-request-id"] and headers["x-correlation-id"]
    assert envelope(body)["status_code"] == 2000
    assert client.closed_by_server()


@pytest.mark.parametrize(("method", "status"), [("TRACE", 405), ("CONNECT", 405), ("FOO", 501), ("PROPFIND", 501)])
def test_methods_the_api_does_not_serve_are_refused_and_the_connection_stays_usable(server, method, status):
    raw = f"{method} /ocpi/versions HTTP/1.1\r\nHost: t\r\nX-Request-ID: m-1\r\n\r\n".encode()
    answer_status, headers, body, client = ask(server, raw)
    assert answer_status == status and headers["x-request-id"] == "m-1"
    assert "POST" in headers["allow"] and method in envelope(body)["status_message"]
    client.send(b"GET /after HTTP/1.1\r\nHost: t\r\n\r\n")
    assert client.response()[0] == 200


def test_a_body_over_the_limit_is_413(server):
    status, _, body, client = ask(server, b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n")
    assert status == 413 and envelope(body)["status_code"] == 2000
    assert client.closed_by_server()


def test_too_many_or_malformed_headers_are_refused(server):
    status, _, body, _ = ask(server, b"GET /x HTTP/1.1\r\nHost t\r\n\r\n")
    assert status == 400 and envelope(body)["status_message"] == "Bad header line"
    many = "".join(f"X-H{i}: v\r\n" for i in range(150))
    status, _, body, _ = ask(server, f"GET /x HTTP/1.1\r\n{many}\r\n".encode())
    assert status == 431 and envelope(body)["status_code"] == 2000
    status, _, _, _ = ask(server, b"GET /x HTTP/1.1\r\nHost: t\r\n folded\r\n\r\n")
    assert status == 400


def test_content_length_with_transfer_encoding_is_refused(server):
    raw = b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    status, _, body, client = ask(server, raw)
    assert status == 400 and "Transfer-Encoding" in envelope(body)["status_message"]
    assert client.closed_by_server()


def test_keep_alive_serves_several_requests_on_one_connection_until_close(server):
    client = Client(server.port)
    for index in range(3):
        client.send(f"POST /k/{index} HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{index}{index}".encode())
        status, headers, body = client.response()
        assert status == 200 and json.loads(body) == {"method": "POST", "target": f"/k/{index}", "body": f"{index}" * 2}
        assert "connection" not in headers
    client.send(b"GET /last HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    status, headers, _ = client.response()
    assert status == 200 and headers["connection"] == "close" and client.closed_by_server()


def test_pipelined_requests_are_answered_in_order(server):
    client = Client(server.port).send(b"GET /one HTTP/1.1\r\nHost: t\r\n\r\nGET /two HTTP/1.1\r\nHost: t\r\n\r\n")
    assert json.loads(client.response()[2])["target"] == "/one"
    assert json.loads(client.response()[2])["target"] == "/two"


def test_http_1_0_closes_unless_asked_to_keep_alive(server):
    status, headers, _, client = ask(server, b"GET /old HTTP/1.0\r\n\r\n")
    assert status == 200 and headers["connection"] == "close" and client.closed_by_server()
    status, headers, _, client = ask(server, b"GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert headers["connection"] == "keep-alive"
    client.send(b"GET /again HTTP/1.0\r\n\r\n")
    assert client.response()[0] == 200


def test_chunked_bodies_and_expect_100_continue(server):
    raw = b"POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3;ext=1\r\nefg\r\n0\r\n\r\n"
    status, _, body, _ = ask(server, raw)
    assert status == 200 and json.loads(body)["body"] == "abcdefg"
    client = Client(server.port).send(
        b"POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
    )
    assert client.response()[0] == 100  # the interim answer, before the body is sent
    client.send(b"ok")
    status, _, body = client.response()
    assert status == 200 and json.loads(body)["body"] == "ok"


def test_head_answers_carry_no_body(server):
    client = Client(server.port).send(b"HEAD /h HTTP/1.1\r\nHost: t\r\n\r\nGET /g HTTP/1.1\r\nHost: t\r\n\r\n")
    head, _, rest = client.sock.recv(65536).partition(b"\r\n\r\n")
    client.buffer = rest
    assert head.startswith(b"HTTP/1.1 200") and b"Content-Length:" in head
    assert json.loads(client.response()[2])["target"] == "/g"  # the next answer follows directly


def test_a_request_that_stops_arriving_gets_408(server, monkeypatch):
    monkeypatch.setattr(http_server, "HEAD_TIMEOUT", 0.5)
    status, _, body, client = ask(server, b"GET /slow HTTP/1.1\r\nHost: t\r\n")  # the blank line never comes
    assert status == 408 and envelope(body)["status_message"] == "Request timeout"
    assert client.closed_by_server()


def test_idle_connections_do_not_hold_the_workers(server):
    """Two workers, ten clients connected and silent: another client is still answered."""
    idle = [Client(server.port) for _ in range(10)]
    try:
        status, _, _, _ = ask(server, b"GET /busy HTTP/1.1\r\nHost: t\r\n\r\n")
        assert status == 200
    finally:
        for client in idle:
            client.close()


def test_a_failing_handler_is_a_502_envelope():
    def broken(request: Request) -> Response:
        raise RuntimeError("boom")

    server = HttpServer("127.0.0.1", 0, broken).start()
    try:
        status, headers, body, _ = ask(server, b"GET /x HTTP/1.1\r\nHost: t\r\nX-Correlation-ID: c-9\r\n\r\n")
        assert status == 502 and headers["x-correlation-id"] == "c-9"
        assert envelope(body)["status_code"] == 3000
    finally:
        server.stop()


def test_many_clients_at_once_are_all_answered_and_stop_leaves_nothing_listening():
    server = HttpServer("127.0.0.1", 0, echo, workers=8).start()
    port = server.port

    def one(index: int) -> int:
        client = Client(port).send(f"GET /n/{index} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        try:
            return client.response()[0]
        finally:
            client.close()

    try:
        with ThreadPoolExecutor(max_workers=120) as pool:
            assert list(pool.map(one, range(240))) == [200] * 240
    finally:
        server.stop()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
