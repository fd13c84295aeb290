"""The socket guard every test runs under really does stop outbound connections."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import OutboundConnection


def test_outbound_connection_fails_the_test() -> None:
    with pytest.raises(OutboundConnection):
        socket.create_connection(("93.184.216.34", 80), timeout=1)
    with pytest.raises(OutboundConnection):
        socket.getaddrinfo("example.com", 443)


def test_loopback_is_allowed() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname(), timeout=1)
    client.close()
    server.close()
