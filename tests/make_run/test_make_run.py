"""End to end, as a user runs it: `make run` in a subprocess, driven over real HTTP on loopback."""

import base64
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from helpers import ocpi_token
from ocpi_commands_dev.emulation.receiver import EmspReceiver
from ocpi_commands_dev.emulation.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 5  # the wait for the charge point is 3 s (the margin is at most half the timeout)
pytestmark = pytest.mark.make_run


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Server:
    def __init__(self, port: int, aws_port: int, log: Path):
        self.base = f"http://127.0.0.1:{port}"
        self.ports = (port, aws_port)
        self.log = log

    def request(self, method: str, path: str, body=None, token="demo-emsp-token-c", headers=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", "Token " + base64.b64encode(token.encode()).decode())
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
                return response.status, dict(response.headers), json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), json.loads(error.read())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port, aws_port = free_port(), free_port()
    log = tmp_path_factory.mktemp("make-run") / "make-run.log"
    args = f"--port {port} --aws-port {aws_port} --no-receiver --timeout {TIMEOUT}"
    with log.open("w") as out:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"RUN_ARGS={args}"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and process.poll() is None:
            if "Ctrl-C stops everything" in log.read_text() and _port_open(port):
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"make run did not start:\n{log.read_text()[-3000:]}")
        yield Server(port, aws_port, log)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
    assert "Stopped: nothing is left listening." in log.read_text(), log.read_text()[-3000:]
    assert not any(_port_open(p) for p in (port, aws_port))


@pytest.fixture(scope="module")
def emsp():
    with EmspReceiver() as receiver:
        yield receiver


def start_body(url, evse_uid="3256", location_id="LOC1"):
    return {"response_url": url, "token": ocpi_token(), "location_id": location_id, "evse_uid": evse_uid}


def test_banner_tells_how_to_use_it(server):
    text = server.log.read_text()
    assert f"{server.base}/ocpi/versions" in text
    assert "demo-emsp-token-c" in text and "curl -s -X POST" in text


def test_accepted_start_session_result_reaches_the_emsp(server, emsp):
    url = f"{emsp.url}/ocpi/emsp/2.2.1/commands/START_SESSION/run-1"
    status, headers, body = server.request(
        "POST",
        "/ocpi/cpo/2.2.1/commands/START_SESSION",
        start_body(url),
        headers={"X-Request-ID": "run-req", "X-Correlation-ID": "run-corr"},
    )
    assert (status, body["status_code"], body["data"]) == (200, 1000, {"result": "ACCEPTED", "timeout": TIMEOUT})
    assert headers["X-Request-ID"] == "run-req" and headers["OCPI-to-party-id"] == "TNM"
    [post] = emsp.wait_for("/ocpi/emsp/2.2.1/commands/START_SESSION/run-1", timeout=20)
    assert post.json == {"result": "ACCEPTED"}
    assert post.header("Authorization") == "Token " + base64.b64encode(b"demo-token-issued-by-emsp").decode()
    assert post.header("X-Correlation-ID") == "run-corr"
    assert post.header("X-Request-ID") not in (None, "run-req")
    assert (post.header("OCPI-from-country-code"), post.header("OCPI-from-party-id")) == ("NL", "CPO")
    assert (post.header("OCPI-to-country-code"), post.header("OCPI-to-party-id")) == ("DE", "TNM")


def test_silent_charger_gives_timeout_at_the_announced_time(server, emsp):
    url = f"{emsp.url}/ocpi/emsp/2.2.1/commands/START_SESSION/run-silent"
    sent = time.time()
    status, _, body = server.request("POST", "/ocpi/cpo/2.2.1/commands/START_SESSION", start_body(url, "SILENT"))
    assert body["data"] == {"result": "ACCEPTED", "timeout": TIMEOUT}
    [post] = emsp.wait_for("/ocpi/emsp/2.2.1/commands/START_SESSION/run-silent", timeout=TIMEOUT + 15)
    assert post.json == {"result": "TIMEOUT"}
    assert TIMEOUT - 3 <= post.at - sent < TIMEOUT  # within the announced timeout (margin 2 s here)


def test_unknown_location_is_2003(server, emsp):
    status, _, body = server.request(
        "POST", "/ocpi/cpo/2.2.1/commands/START_SESSION", start_body(f"{emsp.url}/x", location_id="NOWHERE")
    )
    assert (status, body["status_code"], body["data"]["result"]) == (200, 2003, "REJECTED")


def test_bad_token_is_401(server, emsp):
    status, _, body = server.request(
        "POST", "/ocpi/cpo/2.2.1/commands/START_SESSION", start_body(f"{emsp.url}/y"), token="not-a-token"
    )
    assert (status, body["status_code"]) == (401, 2000)
    assert body["timestamp"].endswith("Z")


def _raw(port: int, data: bytes) -> tuple[int, dict[str, str], dict]:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(data)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            assert chunk, received
            received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        while len(body) < int(headers["content-length"]):
            chunk = sock.recv(65536)
            assert chunk
            body += chunk
    return int(status_line.split(" ")[1]), headers, json.loads(body)


@pytest.mark.parametrize(
    ("request_head", "status", "message"),
    [
        ("POST /ocpi/cpo/2.2.1/commands/START_SESSION HTTP/1.1\r\nContent-Length: -1", 400, "Bad Content-Length"),
        ("TRACE /ocpi/versions HTTP/1.1", 405, "Method TRACE is not allowed"),
        ("GET /ocpi/ver sions HTTP/1.1", 400, "Bad request line"),
        ("GET /nowhere HTTP/1.1", 403, "Missing Authentication Token"),
    ],
)
def test_malformed_requests_get_an_ocpi_envelope_and_the_ids(server, request_head, status, message):
    port = server.ports[0]
    raw = f"{request_head}\r\nHost: 127.0.0.1\r\nX-Request-ID: bad-1\r\nX-Correlation-ID: bad-c\r\n\r\n"
    answer_status, headers, body = _raw(port, raw.encode())
    assert answer_status == status
    assert body["status_code"] == 2000 and body["status_message"].startswith(message)
    assert (headers["x-request-id"], headers["x-correlation-id"]) == ("bad-1", "bad-c")


def test_operator_cli_reads_the_running_stack(server):
    result = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "ocpi-commands"),
            "--local",
            "--aws-port",
            str(server.ports[1]),
            "--json",
            "party",
            "list",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "DE*TNM" in {p["party"] for p in json.loads(result.stdout)}


def test_concurrent_requests_from_two_parties_get_only_their_own_answers(server, emsp):
    """400 requests at once from DE*TNM and FR*OTH: each answer is the one for its own caller.

    The same completed session answers "is completed" to its owner and "belongs to another party" to
    the other eMSP, so a request answered as another caller shows. Some START_SESSIONs, each with the
    caller's own Token (a Token of another party is refused), cover the write path too.
    """
    from concurrent.futures import ThreadPoolExecutor

    parties = {"TNM": ("DE", "demo-emsp-token-c"), "OTH": ("FR", "other-emsp-token-c")}

    def call(number: int):
        party = "TNM" if number % 2 else "OTH"
        country, token = parties[party]
        accepted = number % 20 < 2  # 40 commands that are recorded
        request_id = f"mix-{party}-{number}"
        if accepted:
            url = f"{emsp.url}/ocpi/emsp/2.2.1/commands/START_SESSION/mix-{number}"
            path, body = "START_SESSION", start_body(url) | {"token": ocpi_token(country, party)}
        else:
            url = f"{emsp.url}/ocpi/emsp/2.2.1/commands/STOP_SESSION/mix-{number}"
            path, body = "STOP_SESSION", {"response_url": url, "session_id": "SES-TNM-DONE"}
        status, headers, answer = server.request(
            "POST", f"/ocpi/cpo/2.2.1/commands/{path}", body, token=token, headers={"X-Request-ID": request_id}
        )
        return party, accepted, request_id, status, headers, answer

    with ThreadPoolExecutor(max_workers=64) as pool:
        answers = list(pool.map(call, range(400)))
    assert len(answers) == 400
    for party, accepted, request_id, status, headers, body in answers:
        assert status == 200 and headers["X-Request-ID"] == request_id, (request_id, status, headers)
        assert headers["OCPI-to-party-id"] == party, request_id
        if accepted:
            assert body["data"]["result"] == "ACCEPTED", (request_id, body)
        elif party == "TNM":
            assert (body["data"]["result"], body["status_message"]) == ("REJECTED", "The session is completed"), body
        else:
            assert body["status_message"] == "The session belongs to another party", (request_id, body)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def test_sigterm_stops_everything_and_leaves_nothing_listening(tmp_path):
    """What a process manager or CI does: SIGTERM, then the ports are free and no process is left."""
    port, aws_port = free_port(), free_port()
    log = tmp_path / "run.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "ocpi-commands"), "run", "--port", str(port), "--aws-port", str(aws_port)]
            + ["--no-receiver"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        deadline = time.monotonic() + 90
        while "Ctrl-C stops everything" not in log.read_text() or not _port_open(port):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        children = _children(process.pid)
        assert len(children) == 3  # the DynamoDB process, the API and the functions workers
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    assert "Stopped: nothing is left listening." in log.read_text()
    assert not any(_port_open(p) for p in (port, aws_port))
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{child}").exists() for child in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [child for child in children if Path(f"/proc/{child}").exists()]
