"""Which OS user is on the other end of a loopback TCP connection (Linux), for `make run`'s codec server.

The kernel lists every TCP socket with its owner's uid in /proc/net/tcp and /proc/net/tcp6. A
connection accepted from 127.0.0.1:51234 has, on the client's side, a socket whose local address is
127.0.0.1:51234 and whose remote address is the server's: its uid is the connecting process's user.
That is how PostgreSQL's `peer` authentication knows a local user, for TCP instead of a Unix socket.

It answers None whenever it cannot tell (not Linux, not loopback, the socket already gone): the
caller then refuses.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from pathlib import Path

_TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))


def _address(text: str) -> tuple[str, int]:
    """A /proc/net/tcp address (hex words in host byte order, then the port) as (ip, port)."""
    host, port = text.split(":")
    words = [struct.pack("=I", int(host[i:i + 8], 16)) for i in range(0, len(host), 8)]
    raw = b"".join(words)
    ip = ipaddress.ip_address(socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw))
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip), int(port, 16)


def _same(a: tuple[str, int], b: tuple[str, int]) -> bool:
    return a[1] == b[1] and ipaddress.ip_address(a[0]) == ipaddress.ip_address(b[0])


def peer_uid(client: tuple[str, int] | None, server: tuple[str, int] | None) -> int | None:
    """The uid of the process that connected from `client` to `server` over loopback, or None."""
    if client is None or server is None:
        return None
    try:
        if not ipaddress.ip_address(client[0]).is_loopback:
            return None
    except ValueError:
        return None
    for table in _TABLES:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            try:
                local, remote, uid = _address(fields[1]), _address(fields[2]), int(fields[7])
            except (IndexError, ValueError):
                continue
            if _same(local, client) and _same(remote, server):
                return uid
    return None
