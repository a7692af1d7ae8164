"""DynamoDB Local for the tests: fetched at test time, cached, started on 127.0.0.1, always stopped.

The jar is not committed. It comes from the npm package ``amplify-dynamodb-simulator``, which ships AWS's
DynamoDB Local (``emulator/DynamoDBLocal.jar`` and ``emulator/DynamoDBLocal_lib/``): ``npm pack`` downloads
the tarball, its SHA-512 is checked against the pinned value below, and the emulator is extracted to
``.cache/dynamodb-local/`` (gitignored) and reused by later runs.

DynamoDB Local listens on every interface and has no option to choose one, so it is started through a tiny
launcher (Java source below, compiled once into the cache) that binds its Jetty connector to 127.0.0.1 on
an ephemeral port chosen by the OS (no race for a "free" port), writes that port to a file, and stops the
server when its standard input closes: if the test process dies, the server goes with it.
"""

import base64
import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR = ROOT / ".cache" / "dynamodb-local"

PACKAGE = "amplify-dynamodb-simulator"
VERSION = "2.9.30"  # DynamoDB Local 1.25.1
# ``dist.integrity`` of the package on the npm registry (``npm view amplify-dynamodb-simulator@2.9.30 dist``).
INTEGRITY = "sha512-xTeeRLvzEfqyd5lh3bH4c0kHvSHHmmhD5ZDsHFKAQ5g2Zl6JqlFdutaQhCLHzxEp6Ry1o7TB6niIoXuQAnSewQ=="

DOWNLOAD_TIMEOUT = 600.0
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0

DESELECT = 'deselect these tests with: pytest -m "not dynamodb_local"'

LAUNCHER_CLASS = "LoopbackDynamoDBLocal"
LAUNCHER_SOURCE = """\
import com.amazonaws.services.dynamodbv2.local.main.ServerRunner;
import com.amazonaws.services.dynamodbv2.local.server.DynamoDBProxyServer;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/** DynamoDB Local on 127.0.0.1 and an ephemeral port; stops when standard input closes. */
public final class LoopbackDynamoDBLocal {
    public static void main(String[] args) throws Exception {
        Path portFile = Path.of(args[0]);
        DynamoDBProxyServer proxy =
            ServerRunner.createServerFromCommandLineArgs(Arrays.copyOfRange(args, 1, args.length));
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        ServerConnector connector = (ServerConnector) ((Server) field.get(proxy)).getConnectors()[0];
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        proxy.start();
        int port = connector.getLocalPort();
        if (port <= 0) {
            System.err.println("DynamoDB Local is not listening");
            proxy.stop();
            System.exit(1);
        }
        Path partial = portFile.resolveSibling(portFile.getFileName() + ".partial");
        Files.writeString(partial, Integer.toString(port), StandardCharsets.US_ASCII);
        Files.move(partial, portFile, StandardCopyOption.ATOMIC_MOVE);
        System.out.println("Listening on 127.0.0.1:" + port);
        System.out.flush();
        while (System.in.read() != -1) {
            // the test process keeps standard input open for as long as it needs the server
        }
        proxy.stop();
        System.exit(0);
    }
}
"""


class DynamoDBLocalUnavailable(RuntimeError):
    """DynamoDB Local could not be fetched or started; the message says what is missing and what to do."""


def _unavailable(what: str, remedy: str, detail: str = "") -> DynamoDBLocalUnavailable:
    message = f"DynamoDB Local is needed by the tests marked dynamodb_local, but {what}.\n{remedy}, or {DESELECT}."
    return DynamoDBLocalUnavailable(message + (f"\n{detail}" if detail else ""))


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _integrity(path: Path) -> str:
    digest = hashlib.sha512()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return "sha512-" + base64.b64encode(digest.digest()).decode()


def _complete(emulator: Path) -> bool:
    return (emulator / "DynamoDBLocal.jar").is_file() and (emulator / "DynamoDBLocal_lib" / "sqlite4java.jar").is_file()


def _publish(built: Path, target: Path) -> None:
    """Move a directory built in the cache into place; a concurrent run that got there first wins."""
    try:
        built.rename(target)
    except OSError:
        if not target.is_dir():
            raise


def fetch_emulator(cache_dir: Path = CACHE_DIR) -> Path:
    """The directory holding ``DynamoDBLocal.jar`` and ``DynamoDBLocal_lib/``; downloaded on first use."""
    emulator = cache_dir / f"{PACKAGE}-{VERSION}"
    if _complete(emulator):
        return emulator
    npm = shutil.which("npm")
    if npm is None:
        raise _unavailable(
            f"npm is not installed (it downloads {PACKAGE}@{VERSION}, which ships the DynamoDB Local jar)",
            "Install Node.js/npm",
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".download-") as work:
        command = [npm, "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", work, "--silent"]
        try:
            done = subprocess.run(  # noqa: S603 - fixed arguments
                command, cwd=work, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            raise _unavailable(
                f"`npm pack {PACKAGE}@{VERSION}` did not finish within {DOWNLOAD_TIMEOUT:.0f} s",
                "Check access to the npm registry",
            ) from None
        tarballs = sorted(Path(work).glob("*.tgz"))
        if done.returncode != 0 or not tarballs:
            raise _unavailable(
                f"`npm pack {PACKAGE}@{VERSION}` failed (exit status {done.returncode})",
                "Check access to the npm registry",
                _tail(done.stderr + done.stdout),
            )
        found = _integrity(tarballs[0])
        if found != INTEGRITY:
            raise _unavailable(
                f"the downloaded {tarballs[0].name} has integrity {found}, not the pinned {INTEGRITY}",
                "Check the npm registry configured for this machine",
            )
        with tarfile.open(tarballs[0]) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith("package/emulator/")]
            tar.extractall(work, members=members, filter="data")
        extracted = Path(work) / "package" / "emulator"
        if not _complete(extracted):
            raise _unavailable(f"{tarballs[0].name} does not contain emulator/DynamoDBLocal.jar", "Report this")
        _publish(extracted, emulator)
    return emulator


def _launcher(cache_dir: Path, emulator: Path, javac: str) -> Path:
    """The directory holding the compiled launcher class (compiled once per source version)."""
    target = cache_dir / f"launcher-{hashlib.sha256(LAUNCHER_SOURCE.encode()).hexdigest()[:12]}"
    if (target / f"{LAUNCHER_CLASS}.class").is_file():
        return target
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".launcher-") as work:
        source = Path(work) / "src" / f"{LAUNCHER_CLASS}.java"
        source.parent.mkdir()
        source.write_text(LAUNCHER_SOURCE, encoding="utf-8")
        classes = Path(work) / "classes"
        classpath = os.pathsep.join([str(emulator / "DynamoDBLocal.jar"), str(emulator / "DynamoDBLocal_lib" / "*")])
        done = subprocess.run(  # noqa: S603 - fixed arguments
            [javac, "-nowarn", "-cp", classpath, "-d", str(classes), str(source)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise _unavailable(
                "its loopback launcher did not compile",
                "Install a JDK 11 or newer",
                _tail(done.stderr + done.stdout),
            )
        _publish(classes, target)
    return target


class DynamoDBLocal:
    """One DynamoDB Local server, in memory, on 127.0.0.1. Use as a context manager, or start()/stop()."""

    def __init__(self, cache_dir: Path = CACHE_DIR):
        self.cache_dir = cache_dir
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self._log: IO[bytes] | None = None

    @property
    def endpoint(self) -> str:
        if self.port is None:
            raise RuntimeError("DynamoDB Local is not running")
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "DynamoDBLocal":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> None:
        missing = [tool for tool in ("java", "javac") if shutil.which(tool) is None]
        if missing:
            raise _unavailable(
                f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed "
                "(DynamoDB Local is a Java program; its loopback launcher is compiled with javac)",
                "Install a JDK 11 or newer (java and javac on PATH)",
            )
        emulator = fetch_emulator(self.cache_dir)
        launcher = _launcher(self.cache_dir, emulator, shutil.which("javac") or "javac")
        try:
            self._start(emulator, launcher)
        except BaseException:
            self.stop()
            raise

    def _start(self, emulator: Path, launcher: Path) -> None:
        lib = emulator / "DynamoDBLocal_lib"
        self._workdir = Path(tempfile.mkdtemp(prefix="dynamodb-local-"))
        port_file = self._workdir / "port"
        self._log = (self._workdir / "server.log").open("w+b")
        classpath = os.pathsep.join([str(emulator / "DynamoDBLocal.jar"), str(lib / "*"), str(launcher)])
        command = [
            shutil.which("java") or "java",
            f"-Djava.library.path={lib}",
            "-cp",
            classpath,
            LAUNCHER_CLASS,
            str(port_file),
            "-inMemory",
            "-disableTelemetry",
        ]
        self._process = subprocess.Popen(  # noqa: S603 - fixed arguments
            command, cwd=self._workdir, stdin=subprocess.PIPE, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not port_file.is_file():
            if self._process.poll() is not None:
                raise _unavailable(
                    f"it exited with status {self._process.returncode} before listening",
                    "Check the Java installation (Java 11 or newer)",
                    self.log_tail(),
                )
            if time.monotonic() > deadline:
                raise _unavailable(
                    f"it was not listening after {STARTUP_TIMEOUT:.0f} s",
                    "Check the Java installation",
                    self.log_tail(),
                )
            time.sleep(0.05)
        self.port = int(port_file.read_text(encoding="ascii"))
        self._wait_until_serving(deadline)

    def _wait_until_serving(self, deadline: float) -> None:
        from botocore.config import Config

        client = self.client(Config(connect_timeout=2, read_timeout=5, retries={"total_max_attempts": 1}))
        while True:
            try:
                client.list_tables(Limit=1)
                return
            except Exception as exc:
                if time.monotonic() > deadline or (self._process is not None and self._process.poll() is not None):
                    raise _unavailable(
                        f"it does not answer on {self.endpoint} ({exc})",
                        "Check the Java installation",
                        self.log_tail(),
                    ) from exc
                time.sleep(0.05)

    def client(self, config: Any = None) -> Any:
        """A DynamoDB client for this server (``config``: a botocore ``Config``): dummy credentials, us-east-1."""
        import boto3

        return boto3.session.Session().client(
            "dynamodb",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - DynamoDB Local accepts any credentials
            config=config,
        )

    def log_tail(self) -> str:
        if self._log is None or self._log.closed:
            return ""
        self._log.flush()
        self._log.seek(0)
        return _tail(self._log.read().decode(errors="replace"))

    def stop(self) -> None:
        """Stop the server and wait until it is gone (closing stdin asks it; terminate and kill if it dawdles)."""
        process, self._process = self._process, None
        if process is not None:
            if process.stdin is not None:
                try:
                    process.stdin.close()
                except OSError:
                    pass
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.terminate()
                try:
                    process.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.port = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
