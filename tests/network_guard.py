"""Refuses, and records, every connection and name lookup a test makes to anything but the
loopback: our code runs offline in the tests (a model hub or a package registry is never a
data source), and a test that reaches out fails instead of passing on a lucky network."""

from __future__ import annotations

import ipaddress
import socket

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def is_loopback(host) -> bool:
    if host is None:  # getaddrinfo(None, port): the local wildcard, for a server to bind
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]").split("%")[0]
    if host.lower() in LOOPBACK_NAMES or host in ("", "0.0.0.0", "::"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class NetworkRefused(OSError):
    """What a refused connection raises: an OSError, as an unreachable host would."""


class Guard:
    """Patches socket.socket.connect/connect_ex and socket.getaddrinfo; ``attempts`` lists
    every refused (what, address)."""

    def __init__(self):
        self.attempts: list[tuple[str, object]] = []
        self._saved = {}

    def _refuse(self, what, address):
        self.attempts.append((what, address))
        raise NetworkRefused(f"tests run offline: {what} {address!r} refused (only the loopback is allowed)")

    def install(self):
        guard = self
        connect, connect_ex, getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo
        self._saved = {"connect": connect, "connect_ex": connect_ex, "getaddrinfo": getaddrinfo}

        def checked(address):
            if isinstance(address, tuple) and address and not is_loopback(address[0]):
                guard._refuse("connect", address)

        def guarded_connect(sock, address):
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                checked(address)
            return connect(sock, address)

        def guarded_connect_ex(sock, address):
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                checked(address)
            return connect_ex(sock, address)

        def guarded_getaddrinfo(host, *args, **kwargs):
            if not is_loopback(host):
                guard._refuse("name lookup", host)
            return getaddrinfo(host, *args, **kwargs)

        socket.socket.connect, socket.socket.connect_ex = guarded_connect, guarded_connect_ex
        socket.getaddrinfo = guarded_getaddrinfo
        return self

    def remove(self):
        socket.socket.connect = self._saved["connect"]
        socket.socket.connect_ex = self._saved["connect_ex"]
        socket.getaddrinfo = self._saved["getaddrinfo"]
