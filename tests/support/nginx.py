"""Run the shipped production front, deploy/nginx.conf, in front of a test gunicorn.

The file is rendered for the test (loopback ports, a certificate made by trustme, paths in the
test's tmp folder) by replacing its production values, each of which must be found, so the
test runs the file as shipped and notices when it changes shape. It is included inside an
`http { }` block like the one Debian's /etc/nginx/nginx.conf wraps around conf.d/*.conf, and
Debian's nginx runs it with its own prefix, pid and temporary folders.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.server import ROOT, free_port

NGINX = "/usr/sbin/nginx"
SHIPPED = ROOT / "deploy" / "nginx.conf"
HOST = "links.example.com"  # the shipped file's server_name; PUBLIC_BASE_URL in the tests
PUBLIC_BASE_URL = f"https://{HOST}"
# The server's settings behind this front, as the README's production section has them; the
# loopback name too, for the test harness's own health check straight at gunicorn.
SERVER_SETTINGS = {
    "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
    "TRUSTED_PROXIES": "1",
    "TRUSTED_HOSTS": f"{HOST},127.0.0.1",
}
INSTALL_HINT = (
    "nginx is not installed, so the production front cannot be tested: "
    "`sudo apt-get install nginx` (Debian/Ubuntu); the test runs it unprivileged on loopback."
)

# What Debian's nginx.conf sets around `include /etc/nginx/conf.d/*.conf;`, so that a
# directive the shipped file repeats at the wrong level fails here as it would there.
MAIN_CONF = """\
{user}
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{
    worker_connections 2048;
}}
http {{
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    default_type application/octet-stream;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    access_log {dir}/access.log;
    gzip on;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/webapp.conf;
}}
"""


def nginx_path() -> str:
    """Debian's nginx; without it, skip locally and fail in CI (CI=true), like Chromium."""
    if Path(NGINX).is_file() and os.access(NGINX, os.X_OK):
        return NGINX
    found = shutil.which("nginx")
    if found:
        return found
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"CI=true: {INSTALL_HINT}", pytrace=False)
    pytest.skip(INSTALL_HINT)


def _replace(text: str, pattern: str, replacement: str) -> str:
    rendered, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert count, f"deploy/nginx.conf no longer contains {pattern!r}: update tests/support/nginx.py"
    return rendered


def render(
    text: str,
    *,
    upstream: str,
    http_port: int,
    https_port: int,
    certificate: Path,
    key: Path,
    acme_root: Path,
) -> str:
    """The shipped file with its production values replaced by the test's."""
    text = _replace(text, r"^\s*listen \[::\]:\d+.*;\n", "")  # loopback IPv4 is enough
    text = _replace(text, r"listen 80\b", f"listen 127.0.0.1:{http_port}")
    text = _replace(text, r"listen 443\b", f"listen 127.0.0.1:{https_port}")
    text = _replace(text, r"server 127\.0\.0\.1:8000;", f"server {upstream};")
    text = _replace(
        text, rf"/etc/letsencrypt/live/{re.escape(HOST)}/fullchain\.pem", str(certificate)
    )
    text = _replace(text, rf"/etc/letsencrypt/live/{re.escape(HOST)}/privkey\.pem", str(key))
    return _replace(text, r"/var/www/letsencrypt", str(acme_root))


@dataclass
class Front:
    http_port: int
    https_port: int
    directory: Path
    trust: ssl.SSLContext  # trusts the test certificate authority
    process: subprocess.Popen

    @property
    def https_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def error_log(self) -> str:
        path = self.directory / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _certificate(directory: Path) -> tuple[ssl.SSLContext, Path, Path]:
    import trustme

    authority = trustme.CA()
    issued = authority.issue_cert(HOST, "127.0.0.1")
    certificate, key = directory / "fullchain.pem", directory / "privkey.pem"
    certificate.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    issued.private_key_pem.write_to_path(str(key))
    trust = ssl.create_default_context()
    authority.configure_trust(trust)
    return trust, certificate, key


def _wait_for_port(port: int, process: subprocess.Popen, directory: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"nginx exited with {process.returncode}:\n"
                + (directory / "error.log").read_text(errors="replace")[-3000:]
            )
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise TimeoutError("nginx did not listen within 15 s")


@contextmanager
def running_front(tmp_path: Path, upstream_port: int) -> Iterator[Front]:
    """nginx with deploy/nginx.conf in front of 127.0.0.1:upstream_port; stopped after."""
    binary = nginx_path()
    directory = tmp_path / "nginx"
    for name in ("logs", "acme", "client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (directory / name).mkdir(parents=True, exist_ok=True)
    trust, certificate, key = _certificate(directory)
    http_port, https_port = free_port(), free_port()
    (directory / "webapp.conf").write_text(
        render(
            SHIPPED.read_text(),
            upstream=f"127.0.0.1:{upstream_port}",
            http_port=http_port,
            https_port=https_port,
            certificate=certificate,
            key=key,
            acme_root=directory / "acme",
        )
    )
    # As root, nginx's workers would otherwise switch to an account that cannot enter the
    # test's tmp folder; as anyone else the directive is not needed.
    user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""
    main = directory / "nginx.conf"
    main.write_text(MAIN_CONF.format(user=user, dir=directory))
    command = [binary, "-p", str(directory), "-c", str(main), "-e", str(directory / "error.log")]
    test = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    assert test.returncode == 0, f"nginx -t refused the rendered config:\n{test.stderr}"
    process = subprocess.Popen(
        [*command, "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    front = Front(http_port, https_port, directory, trust, process)
    try:
        _wait_for_port(https_port, process, directory)
        yield front
    except BaseException:
        sys.stderr.write(f"--- nginx error log ---\n{front.error_log()[-3000:]}\n")
        raise
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
