"""Session fixtures for the official-SDK suite: one warden stack (mock provider + Envoy + the
warden module) started through the `warden_stack` binary, shared by every test; the policy tests
get a second one under tests/policy-config.json.

Environment:
  WARDEN_STACK_BIN   the binary (default <repo>/target/debug/warden_stack; `cargo build -p warden-e2e`)
  WARDEN_WASM        the module (default <repo>/dist/warden.wasm), WARDEN_VENV, WARDEN_FIXTURES
                     are read by the binary itself.
"""

import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
TEXT = "héllo wörld ✓"
# The mock's usage numbers (tests/src/mock/scenario.rs).
INPUT, OUTPUT, CACHED, CACHE_WRITE = 25, 12, 5, 3


def _self_signed_cert(workdir):
    """A certificate for 127.0.0.1 (the HTTPS listener: botocore sends bearer tokens over TLS only)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "warden-e2e")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = workdir / "cert.pem", workdir / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _stack_binary():
    return pathlib.Path(os.environ.get("WARDEN_STACK_BIN", REPO / "target" / "debug" / "warden_stack"))


def _run_stack(plugin_config=None, stack_options=None):
    """Starts a warden_stack (with an HTTPS listener) and yields its ready info until torn down;
    `stack_options` adds `StackOptions` fields (e.g. `sidecar`, `sidecar_env`)."""
    binary = _stack_binary()
    if not binary.exists():
        pytest.fail(f"{binary} not found: run `cargo build -p warden-e2e` first (or set WARDEN_STACK_BIN)")
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="warden-sdk-"))
    options = workdir / "options.json"
    ready = workdir / "ready.json"
    cert, key = _self_signed_cert(workdir)
    opts = {"concurrency": 2, "tls_cert": str(cert), "tls_key": str(key)}
    if plugin_config is not None:
        opts["plugin_config"] = plugin_config
    opts.update(stack_options or {})
    options.write_text(json.dumps(opts))
    log = open(workdir / "warden_stack.log", "wb")
    proc = subprocess.Popen([str(binary), str(options), str(ready)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 90
    while not ready.exists():
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            log.close()
            pytest.fail("warden_stack did not start:\n" + (workdir / "warden_stack.log").read_text(errors="replace"))
        time.sleep(0.1)
    info = json.loads(ready.read_text())
    info["ca_file"] = str(cert)
    try:
        yield info
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def stack():
    yield from _run_stack()


# The policy profiles (secure, trusting, strict) the Rust policy tests use too.
POLICY_CONFIG = REPO / "tests" / "policy-config.json"


@pytest.fixture(scope="session")
def policy_stack():
    """A second stack, under tests/policy-config.json: started only when a policy test runs."""
    yield from _run_stack(json.loads(POLICY_CONFIG.read_text()))


@pytest.fixture(scope="session")
def base_url(stack):
    return stack["base_url"]


@pytest.fixture(scope="session")
def https_url(stack):
    return stack["https_url"]


class Mock:
    """What the mock provider saw; cleared before each test."""

    def __init__(self, url):
        self.url = url

    def clear(self):
        urllib.request.urlopen(urllib.request.Request(self.url + "/__mock/requests", method="DELETE")).read()

    def requests(self):
        with urllib.request.urlopen(self.url + "/__mock/requests") as r:
            return json.loads(r.read())

    def last(self):
        items = self.requests()
        assert items, "the mock received no request"
        return items[-1]


@pytest.fixture
def mock(stack):
    m = Mock(stack["mock_url"])
    m.clear()
    return m


class AccessLog:
    """Access-log lines (the `warden` records parsed), matched to requests by the x-request-id
    Envoy generates and forwards to the mock."""

    def __init__(self, path, mock):
        self.path = pathlib.Path(path)
        self.mock = mock

    def lines(self):
        # Envoy flushes on a timer: the last line may be half written, so only whole lines count.
        whole = self.path.read_text().split("\n")[:-1]
        parsed = [json.loads(l) for l in whole if l.strip()]
        for line in parsed:
            if isinstance(line.get("warden"), str):
                line["warden"] = json.loads(line["warden"])
        return parsed

    def record(self):
        """The interaction record of the last request the mock received, waiting for the flush."""
        request_id = self.mock.last()["headers"].get("x-request-id")
        deadline = time.time() + 5
        while True:
            found = [l for l in self.lines() if l.get("request_id") == request_id]
            if found or time.time() > deadline:
                assert found, f"no access-log line for x-request-id {request_id}"
                return found[-1]["warden"]
            time.sleep(0.05)


@pytest.fixture
def access_log(stack, mock):
    return AccessLog(stack["access_log"], mock)


def scenario(name):
    """The header that makes the mock answer with a given scenario."""
    return {"x-mock-scenario": name}


def tool_calls(*calls, layout=None):
    """Headers that make the mock answer with exactly these tool calls: `(name, arguments)` pairs;
    `layout` is `text_then_tools` or `mixed_chunk`."""
    headers = {"x-mock-tool-calls": json.dumps([{"name": n, "arguments": a} for n, a in calls])}
    if layout:
        headers["x-mock-scenario"] = layout
    return headers
