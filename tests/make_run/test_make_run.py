"""End to end, as a user runs it: `make run` in a subprocess, driven over real HTTP on loopback."""

import base64
import contextlib
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

    def request(self, method: str, path: str, body=None, token="demo-emsp-token-c", headers=None, timeout=10):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", "Token " + base64.b64encode(token.encode()).decode())
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback
                return response.status, dict(response.headers), json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), json.loads(error.read())


@contextlib.contextmanager
def make_run(tmp_path_factory, *extra: str):
    """`make run` with these options, in a subprocess; stopped (Ctrl-C) and checked to leave nothing listening."""
    port, aws_port = free_port(), free_port()
    log = tmp_path_factory.mktemp("make-run") / "make-run.log"
    args = " ".join((f"--port {port} --aws-port {aws_port} --no-receiver --timeout {TIMEOUT}", *extra))
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
def server(tmp_path_factory):
    with make_run(tmp_path_factory) as running:
        yield running


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
        ("BREW /ocpi/versions HTTP/1.1", 501, "Method BREW is not implemented"),
    ],
)
def test_malformed_requests_get_an_ocpi_envelope_and_the_ids(server, request_head, status, message):
    port = server.ports[0]
    raw = f"{request_head}\r\nHost: 127.0.0.1\r\nX-Request-ID: bad-1\r\nX-Correlation-ID: bad-c\r\n\r\n"
    answer_status, headers, body = _raw(port, raw.encode())
    assert answer_status == status
    assert body["status_code"] == 2000 and body["status_message"].startswith(message)
    assert (headers["x-request-id"], headers["x-correlation-id"]) == ("bad-1", "bad-c")


@pytest.mark.parametrize("path", ["/", "/favicon.ico", "/api/v1/ocpi"])
def test_paths_outside_ocpi_answer_an_ocpi_404_envelope_as_on_aws(server, path):
    status, headers, body = server.request("GET", path, token=None, headers={"X-Request-ID": "r-out"})
    assert (status, body["status_code"]) == (404, 2000) and body["timestamp"].endswith("Z")
    assert headers["X-Request-ID"] == "r-out" and headers["X-Correlation-ID"]


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


def _cli(server, *args: str) -> subprocess.CompletedProcess:
    command = [str(ROOT / ".venv" / "bin" / "ocpi-commands"), "--local", "--aws-port", str(server.ports[1]), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603


def _evse_status(server, location_id: str, evse_uid: str) -> str:
    shown = _cli(server, "--json", "locations", "show", location_id)
    assert shown.returncode == 0, shown.stderr
    return next(e["status"] for e in json.loads(shown.stdout)["location"]["evses"] if e["uid"] == evse_uid)


def _wait_evse_status(server, evse_uid: str, expected: str) -> None:
    """Until the feed applied it (bounded; each look runs the CLI): what the next decision reads."""
    deadline = time.monotonic() + 30
    while _evse_status(server, "LOC1", evse_uid) != expected:
        assert time.monotonic() < deadline, f"EVSE {evse_uid} never became {expected}"


def test_the_tour_an_evse_that_just_went_out_of_order_is_refused_then_accepted_once_back(server, emsp):
    """README tour, step 7: the platform publishes EVSE Status Changed; the next decision follows it."""
    published = _cli(server, "simulator", "status", "LOC1", "3256", "OUTOFORDER")
    assert published.returncode == 0, published.stderr
    assert "Published EVSE Status Changed: LOC1/3256 OUTOFORDER" in published.stdout
    _wait_evse_status(server, "3256", "OUTOFORDER")
    url = f"{emsp.url}/ocpi/emsp/2.2.1/commands/START_SESSION/tour-ooo"
    _, _, body = server.request("POST", "/ocpi/cpo/2.2.1/commands/START_SESSION", start_body(url))
    assert (body["status_code"], body["data"]["result"]) == (1000, "REJECTED")
    assert body["data"]["message"][0]["text"] == "EVSE 3256 is outoforder"

    shown = _cli(server, "locations", "show", "LOC1")
    assert "OUTOFORDER" in shown.stdout and "from push" in shown.stdout, shown.stdout

    assert _cli(server, "simulator", "status", "LOC1", "3256", "AVAILABLE").returncode == 0
    _wait_evse_status(server, "3256", "AVAILABLE")
    url = f"{emsp.url}/ocpi/emsp/2.2.1/commands/START_SESSION/tour-back"
    _, _, body = server.request("POST", "/ocpi/cpo/2.2.1/commands/START_SESSION", start_body(url))
    assert body["data"] == {"result": "ACCEPTED", "timeout": TIMEOUT}
    assert emsp.wait_for("/ocpi/emsp/2.2.1/commands/START_SESSION/tour-back", timeout=20)[0].json == {
        "result": "ACCEPTED"
    }
    assert "location LOC1: EVSE 3256 OUTOFORDER (from push" in server.log.read_text()


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
        # A long client timeout: the answers are what this checks, not how fast a loaded machine gives them.
        status, headers, answer = server.request(
            "POST",
            f"/ocpi/cpo/2.2.1/commands/{path}",
            body,
            token=token,
            headers={"X-Request-ID": request_id},
            timeout=60,
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


# ------------------------------------------------------------------------------ the response_url policy


def stop_unknown_session(server, url):
    """A command that passes the response_url check is answered UNKNOWN_SESSION: never dispatched or delivered."""
    _, _, body = server.request(
        "POST", "/ocpi/cpo/2.2.1/commands/STOP_SESSION", {"response_url": url, "session_id": "NO-SUCH-SESSION"}
    )
    return body["status_code"], body["data"]["result"], body.get("status_message", "")


@pytest.mark.parametrize(
    "url", ["http://10.0.0.8/cb", "http://169.254.169.254/latest/meta-data", "http://[fd00:ec2::254]/cb"]
)
def test_make_run_refuses_private_addresses_other_than_loopback(server, url):
    code, result, message = stop_unknown_session(server, url)
    assert (code, result) == (2001, "REJECTED") and "response_url" in message


def test_strict_response_urls_gives_the_deployed_policy_locally(tmp_path_factory):
    with make_run(tmp_path_factory, "--strict-response-urls") as strict:
        assert "response_url      strict" in strict.log.read_text()
        for url in ("http://127.0.0.1:3001/cb", "https://127.0.0.1/cb", "https://localhost/cb", "https://10.0.0.8/x"):
            code, result, message = stop_unknown_session(strict, url)
            assert (code, result) == (2001, "REJECTED") and "response_url" in message, url
        assert stop_unknown_session(strict, "https://cb.emsp.invalid/cb")[:2] == (1000, "UNKNOWN_SESSION")


# ------------------------------------------------------------------------------ the eMSP side


def _banner_emsp_request(server) -> dict:
    """The eMSP tour's request body, exactly as the banner (and the README) print it."""
    text = server.log.read_text()
    line = next(line for line in text.splitlines() if line.startswith('  -d \'{"cpo"'))
    return json.loads(line.removeprefix("  -d '").removesuffix("'"))


def _emsp_outcome(server, command_id, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, _, body = server.request("GET", f"/emsp/v1/commands/{command_id}", token=None)
        assert status == 200, body
        if body["status"] != "PENDING":
            return body
        time.sleep(0.2)
    return body


def test_the_banners_curl_makes_our_emsp_start_a_session_at_our_cpo(server):
    status, headers, sent = server.request(
        "POST", "/emsp/v1/commands/START_SESSION", _banner_emsp_request(server), token=None
    )
    assert status == 201, sent
    assert (sent["status"], sent["response"]) == ("PENDING", {"result": "ACCEPTED", "timeout": TIMEOUT})
    shown = _emsp_outcome(server, sent["command_id"], timeout=TIMEOUT + 10)
    assert (shown["status"], shown["outcome"]) == ("RESULT_RECEIVED", "ACCEPTED"), shown
    assert [h["event"] for h in shown["history"]] == ["created", "accepted", "result"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "eMSP event  Command Completed" not in server.log.read_text():
        time.sleep(0.2)
    log = server.log.read_text()
    assert "eMSP event  Command Completed" in log and sent["command_id"] in log
    assert f"eMSP START_SESSION {sent['command_id'][:8]} -> NL*CPO  RESULT_RECEIVED  CommandResult ACCEPTED" in log


def test_a_silent_charger_resolves_our_emsp_command_with_the_cpo_sides_timeout(server):
    body = _banner_emsp_request(server)
    body["request"]["evse_uid"] = "SILENT"
    status, _, sent = server.request("POST", "/emsp/v1/commands/START_SESSION", body, token=None)
    assert status == 201, sent
    shown = _emsp_outcome(server, sent["command_id"], timeout=TIMEOUT + 12)
    assert (shown["status"], shown["outcome"]) == ("RESULT_RECEIVED", "TIMEOUT"), shown
    # The CPO side's TIMEOUT resolved it; our own timer (timeout + 10 s) never fired. How close to the
    # announced timeout it arrives under load is what make load measures.
    assert "timed_out" not in [h["event"] for h in shown["history"]]


def test_a_cpo_that_never_posts_a_result_is_timed_out_by_our_timer(server, tmp_path):
    """A CPO registered with the CLI (a seed file) that ACCEPTs and never posts: our timer fires at
    its timeout plus the grace (10 s by default) and the outcome says so."""
    with EmspReceiver() as silent_cpo:
        silent_cpo.default.body = json.dumps(
            {"status_code": 1000, "data": {"result": "ACCEPTED", "timeout": 2}, "timestamp": "2026-12-01T00:00:00Z"}
        ).encode()
        partner = {
            "parties": [
                {
                    "country_code": "DE",
                    "party_id": "SIL",
                    "role": "CPO",
                    "token": "silent-cpo-token",
                    "outbound_token": "emsp-token-for-silent-cpo",
                    "endpoints": [
                        {
                            "identifier": "commands",
                            "role": "RECEIVER",
                            "url": f"{silent_cpo.url}/ocpi/cpo/2.2.1/commands",
                        }
                    ],
                }
            ]
        }
        seed_file = tmp_path / "silent-cpo.json"
        seed_file.write_text(json.dumps(partner))
        loaded = subprocess.run(
            [
                str(ROOT / ".venv" / "bin" / "ocpi-commands"),
                "--local",
                "--aws-port",
                str(server.ports[1]),
                "--api-url",
                server.base,
                "load",
                "seed",
                str(seed_file),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert loaded.returncode == 0, loaded.stderr
        body = _banner_emsp_request(server) | {"cpo": {"country_code": "DE", "party_id": "SIL"}}
        status, _, sent = server.request("POST", "/emsp/v1/commands/START_SESSION", body, token=None)
        assert status == 201 and sent["timeout"] == 10, sent  # 2 s is clamped to EmspMinTimeoutSeconds
        started = time.monotonic()
        shown = _emsp_outcome(server, sent["command_id"], timeout=40)
        waited = time.monotonic() - started
        assert (shown["status"], shown["outcome"]) == ("TIMED_OUT", "TIMEOUT"), shown
        assert waited >= 10 + 10 - 2, waited  # not before the CPO's timeout plus the grace
        assert "No CommandResult within the CPO's timeout" in shown["reason"]
        assert len(silent_cpo.received) == 1


def test_the_cli_sends_a_command_as_the_emsp_backend_and_shows_it(server, tmp_path):
    request = tmp_path / "start.json"
    request.write_text(json.dumps(_banner_emsp_request(server)["request"]))
    base = [str(ROOT / ".venv" / "bin" / "ocpi-commands"), "--local", "--aws-port", str(server.ports[1])]
    base += ["--api-url", server.base]
    sent = subprocess.run(
        [*base, "--json", "emsp", "send", "START_SESSION", "--cpo", "NL*CPO", "--request-file", str(request), "--wait"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert sent.returncode == 0, sent.stderr
    answer = json.loads(sent.stdout)
    assert (answer["status"], answer["outcome"]) == ("RESULT_RECEIVED", "ACCEPTED"), answer
    shown = subprocess.run(
        [*base, "emsp", "show", answer["command_id"]], capture_output=True, text=True, timeout=60, check=False
    )
    assert shown.returncode == 0, shown.stderr
    assert "RESULT_RECEIVED" in shown.stdout and "accepted" in shown.stdout and "result" in shown.stdout
    refused = subprocess.run(
        [*base, "emsp", "send", "START_SESSION", "--cpo", "XX*NOP", "--request", "{}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2 and "unknown_cpo" in refused.stderr, refused.stderr


def test_the_tours_partner_registers_with_its_token_a_and_commands_with_token_c(server, tmp_path):
    """README step 7: the static partner of seed/partner/ (served on a port of its own here)."""
    port = free_port()
    for name in ("versions", "2.2.1"):
        text = (ROOT / "seed" / "partner" / name).read_text().replace("127.0.0.1:8001", f"127.0.0.1:{port}")
        (tmp_path / name).write_text(text)
    partner = subprocess.Popen(  # noqa: S603 - the tour's own command, on loopback
        ["python3", "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not _port_open(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        cli = [str(ROOT / ".venv" / "bin" / "ocpi-commands"), "--local", "--aws-port", str(server.ports[1])]
        cli += ["--api-url", server.base]
        invited = subprocess.run(
            [*cli, "party", "invite", "--country-code", "DE", "--party-id", "XYZ"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert invited.returncode == 0, invited.stderr
        token_a = next(line.split()[1] for line in invited.stdout.splitlines() if "CREDENTIALS_TOKEN_A" in line)
        credentials = {
            "token": "xyz-token-b",
            "url": f"http://127.0.0.1:{port}/versions",
            "roles": [{"role": "EMSP", "country_code": "DE", "party_id": "XYZ", "business_details": {"name": "XYZ"}}],
        }
        status, _, body = server.request("POST", "/ocpi/2.2.1/credentials", credentials, token=token_a, timeout=30)
        assert (status, body["status_code"]) == (200, 1000), body
        assert body["data"]["url"] == f"{server.base}/ocpi/versions"
        token_c = body["data"]["token"]
        shown = subprocess.run(
            [*cli, "party", "show", "DE", "XYZ"], capture_output=True, text=True, timeout=60, check=False
        )
        assert shown.returncode == 0 and "REGISTERED" in shown.stdout and "2.2.1" in shown.stdout, shown
        stop = {"response_url": "http://127.0.0.1:9/cb/x/1", "session_id": "NONE"}
        status, _, body = server.request("POST", "/ocpi/cpo/2.2.1/commands/STOP_SESSION", stop, token=token_c)
        assert (status, body["data"]["result"]) == (200, "UNKNOWN_SESSION"), body
        status, _, _ = server.request("GET", "/ocpi/versions", token=token_a)
        assert status == 401
    finally:
        partner.terminate()
        partner.wait(timeout=10)
