"""What an attack must not break: `/healthz` and a signed delivery, each timed on a fresh
connection (as a load balancer's health check and Cronofy do), loopback only."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx

from tests.reliability.traffic import RECEIVER
from tests.reliability.workload import signed_headers


@dataclass(frozen=True)
class Target:
    """Where probes go: straight to gunicorn, or through the proxy (https, a host name)."""

    base_url: str
    host: str | None = None  # the Host header (and TLS server name) when it is not the URL's
    verify: ssl.SSLContext | bool = True

    def extensions(self) -> dict[str, str]:
        if self.host and self.base_url.startswith("https:"):
            return {"sni_hostname": self.host}
        return {}

    def headers(self) -> dict[str, str]:
        return {"Host": self.host} if self.host else {}


@dataclass(frozen=True)
class Probe:
    what: str
    seconds: float
    status: int | None = None
    error: str = ""

    def within(self, limit: float) -> bool:
        return self.status is not None and 200 <= self.status < 300 and self.seconds <= limit

    def __str__(self) -> str:
        answer = self.status if self.status is not None else self.error
        return f"{self.what} {answer} in {self.seconds:.2f} s"


@dataclass
class Probes:
    results: list[Probe] = field(default_factory=list)

    def of(self, what: str) -> list[Probe]:
        return [probe for probe in self.results if probe.what == what]

    def slowest(self, what: str) -> float:
        return max((probe.seconds for probe in self.of(what)), default=0.0)

    def all_within(self, limit: float) -> bool:
        return bool(self.results) and all(probe.within(limit) for probe in self.results)

    def none_within(self, what: str, limit: float) -> bool:
        return bool(self.of(what)) and not any(probe.within(limit) for probe in self.of(what))

    def summary(self) -> str:
        return "; ".join(str(probe) for probe in self.results)


async def probe(
    target: Target, what: str, *, body: bytes = b"", secret: str = "", timeout: float
) -> Probe:
    """One timed request on a new connection: GET /healthz, or a signed POST of body."""
    began = time.monotonic()
    async with httpx.AsyncClient(
        base_url=target.base_url, verify=target.verify, timeout=timeout
    ) as client:
        try:
            if what == "healthz":
                response = await client.get(
                    "/healthz", headers=target.headers(), extensions=target.extensions()
                )
            else:
                response = await client.post(
                    RECEIVER,
                    content=body,
                    headers={**signed_headers(body, secret), **target.headers()},
                    extensions=target.extensions(),
                )
        except httpx.HTTPError as exc:
            return Probe(what, time.monotonic() - began, error=type(exc).__name__)
    return Probe(what, time.monotonic() - began, status=response.status_code)


async def probe_rounds(
    target: Target,
    bodies: Iterator[bytes],
    secret: str,
    *,
    rounds: int,
    pause: float,
    timeout: float,
) -> Probes:
    """`rounds` x (healthz, then a delivery), one after the other, `pause` s apart."""
    results = Probes()
    for _ in range(rounds):
        results.results.append(await probe(target, "healthz", timeout=timeout))
        results.results.append(
            await probe(target, "delivery", body=next(bodies), secret=secret, timeout=timeout)
        )
        await asyncio.sleep(pause)
    return results
