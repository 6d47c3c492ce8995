"""One HTTP POST to a checked target, connecting to an address the SSRF guard approved.

The standard library's http.client, told which address to connect to (targets.Target):
the Host header and TLS (SNI and certificate check) still use the URL's host name, so a DNS
answer that changes after the check cannot send the request elsewhere. Connect and read
timeouts apply; redirects are not followed (a 3xx is a failure, as in Standard Webhooks);
only the first bytes of the answer are read (the delivery log keeps 1 KiB).
"""

from __future__ import annotations

import http.client
import socket
import ssl

from webapp.outbound.targets import Target
from webapp.outbox.senders import HttpAnswer

MAX_RESPONSE_BYTES = 4096
USER_AGENT = "PublicLinksDashboard-Webhooks/1"


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, target: Target, address: str, connect: float, read: float) -> None:
        super().__init__(target.host, target.port, timeout=connect)
        self.pinned_address = address
        self.read_timeout = read

    def connect(self) -> None:
        self.sock = socket.create_connection((self.pinned_address, self.port), self.timeout)
        self.sock.settimeout(self.read_timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, target: Target, address: str, connect: float, read: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(target.host, target.port, timeout=connect, context=self.tls)
        self.pinned_address = address
        self.read_timeout = read

    def connect(self) -> None:
        sock = socket.create_connection((self.pinned_address, self.port), self.timeout)
        sock.settimeout(self.read_timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def post(
    target: Target,
    body: bytes,
    headers: dict[str, str],
    *,
    connect_timeout: float,
    read_timeout: float,
) -> HttpAnswer:
    """POST to the first of the target's addresses that accepts a connection; never raises
    for network trouble, it reports it."""
    connection_class = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    last_error = "no address to connect to"
    for address in target.addresses:
        connection = connection_class(target, address, connect_timeout, read_timeout)
        try:
            connection.request(
                "POST", target.path, body=body, headers={"User-Agent": USER_AGENT, **headers}
            )
            response = connection.getresponse()
            text = response.read(MAX_RESPONSE_BYTES).decode("utf-8", "replace")
            return HttpAnswer(response.status, text)
        except (ConnectionRefusedError, socket.gaierror) as error:
            last_error = str(error) or type(error).__name__
            continue  # the next address may answer
        except TimeoutError:
            return HttpAnswer(None, error="timed out")
        except (OSError, http.client.HTTPException, ValueError) as error:
            return HttpAnswer(None, error=str(error) or type(error).__name__)
        finally:
            connection.close()
    return HttpAnswer(None, error=last_error)
