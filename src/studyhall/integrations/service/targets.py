"""Where a webhook may be sent. In production: https only, and never to an address inside the
platform's own network (loopback, private, link-local such as cloud metadata, reserved), checked
when an endpoint is saved and again at each attempt, against every address its name resolves to,
and the attempt then connects to the address that was checked (a name cannot re-resolve to an
internal address in between). Development and test admit http and local receivers."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from studyhall.kit.errors import Unprocessable


class TargetRefused(Exception):
    """A URL this platform will not send to; the message says why."""


@dataclass(frozen=True)
class Target:
    """Where to connect: ``url`` (its host replaced by the checked address in production), the
    original host for the TLS server name and the original ``Host`` header."""

    url: str
    host: str
    host_header: str
    pinned: bool


def _split(url: str, production: bool) -> tuple[str, str, int]:
    parts = urlsplit(url)
    allowed = ("https",) if production else ("https", "http")
    if parts.scheme not in allowed:
        raise TargetRefused(
            "the URL must use https" if production else "the URL must use http or https"
        )
    if parts.username or parts.password:
        raise TargetRefused("the URL must not carry a user name or password")
    host = parts.hostname
    if not host:
        raise TargetRefused("the URL has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise TargetRefused("the URL's port is not a number from 1 to 65535") from exc
    return parts.scheme, host, port


def _internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


async def _addresses(host: str, port: int) -> list[str]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TargetRefused(f"the host {host!r} does not resolve") from exc
    return [str(info[4][0]) for info in infos]


async def resolve(url: str, *, production: bool) -> Target:
    """The checked target of ``url``, or ``TargetRefused``."""
    scheme, host, port = _split(url, production)
    if not production:
        return Target(url=url, host=host, host_header=urlsplit(url).netloc, pinned=False)
    addresses = await _addresses(host, port)
    refused = [address for address in addresses if _internal(address)]
    if refused or not addresses:
        raise TargetRefused(
            f"the host {host!r} resolves to an internal address; webhooks go to public hosts only"
        )
    parts = urlsplit(url)
    address = addresses[0]
    literal = f"[{address}]" if ":" in address else address
    netloc = f"{literal}:{port}"
    pinned = parts._replace(netloc=netloc, scheme=scheme).geturl()
    return Target(url=pinned, host=host, host_header=parts.netloc, pinned=True)


async def check(url: str, *, production: bool) -> None:
    """422 ``webhook_url_refused`` for a URL an endpoint may not have."""
    try:
        await resolve(url, production=production)
    except TargetRefused as exc:
        raise Unprocessable(
            f"This webhook URL is refused: {exc}.",
            code="webhook_url_refused",
            field="url",
            errors=[
                {"in": "body", "field": "url", "message": str(exc), "type": "webhook_url_refused"}
            ],
        ) from exc
