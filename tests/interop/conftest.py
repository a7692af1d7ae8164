"""The interop tier: our product against an implementation we did not write, extrawest-ocpi (PyPI).

* the partner runs in its own virtualenv (``.cache/partner-venv-<hash>``, Python 3.11, made here from
  ``partner/requirements.txt``), as a process on 127.0.0.1, with an admin API to read what it saw;
* our side is the stack as ``make run`` runs it: moto in server mode with the real ASL, the functions
  in-process, the OCPI API served over HTTP on 127.0.0.1 (the partner calls our versions back), and
  the operator CLI as a subprocess against it.

Everything started here is stopped here; nothing but loopback is ever called.
"""

import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PARTNER = Path(__file__).resolve().parent / "partner"
REQUIREMENTS = PARTNER / "requirements.txt"

pytestmark = pytest.mark.interop


def _python_3_11() -> str:
    found = subprocess.run([str(ROOT / "scripts" / "find-python"), "3.11"], capture_output=True, text=True)
    python = found.stdout.strip() or "python3"
    version = subprocess.run([python, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True)
    if version.stdout.strip() != "(3, 11)":
        pytest.fail(f"the interop partner needs Python 3.11 (FastAPI 0.101, pydantic 1.10); found {python}", False)
    return python


@pytest.fixture(scope="session")
def partner_python() -> Path:
    """The partner's virtualenv, made once per requirements file (``.cache/``)."""
    key = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    venv = ROOT / ".cache" / f"partner-venv-{key}"
    python = venv / "bin" / "python"
    if not (venv / ".installed").exists():
        subprocess.run([_python_3_11(), "-m", "venv", "--clear", str(venv)], check=True)
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if done.returncode != 0:
            pytest.fail(f"could not install the interop partner:\n{done.stderr[-3000:]}", False)
        (venv / ".installed").write_text(key)
    return python


def _free_port() -> int:
    from ocpi_commands_dev.emulation.stack import free_port

    return free_port()


def _http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - loopback only
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 - loopback only
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, raw.decode(errors="replace")


class Partner:
    """One extrawest-ocpi process (a CPO or an eMSP app) on 127.0.0.1."""

    def __init__(self, python: Path, role: str, versions: str, log: Path, party_id: str):
        self.role = role
        self.party_id = party_id
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [str(python), str(PARTNER / "partner_app.py"), "--role", role, "--port", str(self.port)]
                + ["--versions", versions, "--party-id", party_id],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))},
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the partner stopped:\n{log.read_text()[-3000:]}", False)
            try:
                status, _ = _http("GET", f"{self.base}/_admin/state")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"the partner did not start:\n{log.read_text()[-3000:]}", False)

    @property
    def versions_url(self) -> str:
        return f"{self.base}/ocpi/versions"

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        status, data = _http(method, f"{self.base}/_admin{path}", body)
        assert status == 200, (status, data)
        return data

    def state(self) -> dict[str, Any]:
        return self.admin("GET", "/state")

    def wait_for(self, key: str, count: int = 1, timeout: float = 30) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.state()[key]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


class Ours:
    """Our stack as ``make run`` runs it, on 127.0.0.1, and the operator CLI against it."""

    def __init__(self, local: Any, api_url: str):
        self.local = local
        self.api_url = api_url
        self.aws_port = int(local.endpoint_url.rsplit(":", 1)[1])

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        command = [str(ROOT / ".venv" / "bin" / "ocpi-commands"), "--local", "--aws-port", str(self.aws_port)]
        return subprocess.run(
            [*command, "--api-url", self.api_url, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def repository(self) -> Any:
        from ocpi_commands.adapters.dynamodb.repository import DynamoRepository

        return DynamoRepository(self.local.table_name, client=self.local.client("dynamodb"))

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        return _http(method, f"{self.api_url}{path}", body, headers)

    def command_for(self, response_url: str, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        repo = self.repository()
        while time.monotonic() < deadline:
            for item in repo._scan_type("COMMAND"):
                if item["response_url"] == response_url and item.get("delivery_status") in ("DELIVERED", "FAILED"):
                    return repo.get_command(item["command_id"])
            time.sleep(0.2)
        return None


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ours]:
    from ocpi_commands_dev.emulation.apigw import Routes
    from ocpi_commands_dev.emulation.server import ApiServer
    from ocpi_commands_dev.emulation.stack import LocalAws
    from ocpi_commands_dev.loading import load_seed

    sys.path.insert(0, str(ROOT / "tests"))
    from helpers import seed

    environment = {
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "RESPONSE_URL_POLICY": "local",  # the partners are on 127.0.0.1, as make run allows
    }
    local = LocalAws(server=True, server_port=_free_port(), environment=environment)
    api = ApiServer("127.0.0.1", _free_port(), Routes(local.template), local.invoke, "local")
    local.extra_environment["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{api.port}"
    local.start()
    try:
        load_seed(ours_repository(local), seed())
        api.start()
        yield Ours(local, f"http://127.0.0.1:{api.port}")
    finally:
        api.stop()
        local.stop()


def ours_repository(local: Any) -> Any:
    from ocpi_commands.adapters.dynamodb.repository import DynamoRepository

    return DynamoRepository(local.table_name, client=local.client("dynamodb"))


@pytest.fixture(scope="module")
def partners(partner_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Start partners on demand (``partners("EMSP", "2.2.1", "XWE")``), each its own party (NL*<party_id>);
    all are stopped at the module's end."""
    started: list[Partner] = []
    logs = tmp_path_factory.mktemp("partners")

    def start(role: str, versions: str, party_id: str) -> Partner:
        partner = Partner(partner_python, role, versions, logs / f"{role}-{versions}-{party_id}.log", party_id)
        started.append(partner)
        return partner

    try:
        yield start
    finally:
        for partner in started:
            partner.stop()
