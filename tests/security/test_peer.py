"""The OS user at the other end of a loopback connection (security/peer.py), as the kernel lists it."""

from __future__ import annotations

import os
import socket
import sys

import pytest

from security.peer import peer_uid

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/net/tcp")


@pytest.mark.parametrize("family, host", [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")])
def test_the_connecting_process_user_is_found(family, host):
    with socket.socket(family) as server:
        try:
            server.bind((host, 0))
        except OSError:
            pytest.skip(f"no {host} here")
        server.listen()
        with socket.create_connection(server.getsockname()[:2]) as client:
            conn, address = server.accept()
            with conn:
                assert peer_uid(address[:2], server.getsockname()[:2]) == os.getuid()
                assert client  # still connected while asked


def test_nothing_is_claimed_when_it_cannot_be_known():
    assert peer_uid(("203.0.113.5", 40000), ("127.0.0.1", 8234)) is None  # not loopback
    assert peer_uid(("127.0.0.1", 1), ("127.0.0.1", 2)) is None  # no such connection
    assert peer_uid(None, ("127.0.0.1", 8234)) is None
