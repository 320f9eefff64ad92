"""Nothing in the package or the benchmarks reaches the network, but the places that must:
`push` (the Hub, through huggingface_hub) and the server with its load client (the loopback).
Data comes from disk; a package registry is for installing dependencies by name."""

import ast
import socket
import subprocess
from pathlib import Path

import pytest
from network_guard import Guard, NetworkRefused, is_loopback

ROOT = Path(__file__).resolve().parents[1]
# Modules whose import means a connection can be opened (clients, raw sockets, mail, FTP).
NETWORK_MODULES = {"socket", "ssl", "http.client", "urllib.request", "urllib3", "requests", "httpx", "aiohttp",
                   "websockets", "ftplib", "smtplib", "poplib", "imaplib", "telnetlib", "xmlrpc.client"}
# Where a network module may be imported, and why. `push` reaches the Hub through
# huggingface_hub's own client, which is not imported as a network module here.
ALLOWED = {
    "weighted_bert/serve/runner.py": "the server: binds the socket its workers share and listens",
    "benchmarks/serve.py": "the load client: a free port, then HTTP to the server it started on 127.0.0.1",
    "weighted_bert/streaming/engines.py": "one TCP connection to the Ray or Spark address the user set, to say at "
                                          "once when nothing answers there",
}
# The registries' host names, written in parts so that this file is not itself a hit.
REGISTRY_HOSTS = ["pypi" + ".org", "files." + "pythonhosted.org", "registry." + "npmjs.org",
                  "deb." + "debian.org", "security." + "debian.org"]


def network_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                 [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
                 if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
        found |= {n for n in names if n in NETWORK_MODULES or n.split(".")[0] in NETWORK_MODULES - {"http", "urllib"}}
    return found


def sources() -> list[Path]:
    return sorted([*ROOT.joinpath("weighted_bert").rglob("*.py"), *ROOT.joinpath("benchmarks").rglob("*.py")])


def test_no_module_imports_a_network_client_but_the_allowed_ones():
    offenders = {}
    for path in sources():
        name = path.relative_to(ROOT).as_posix()
        if name not in ALLOWED and network_imports(path):
            offenders[name] = sorted(network_imports(path))
    assert not offenders, f"network clients imported outside {sorted(ALLOWED)}: {offenders}"


def test_the_import_check_sees_every_form(tmp_path):
    """The check above must be able to fail: each way of importing a client is caught."""
    for line in ("import http.client", "from urllib.request import urlopen", "import requests",
                 "from aiohttp import ClientSession", "import socket as s", "from http import client"):
        (tmp_path / "m.py").write_text(line + "\n")
        assert network_imports(tmp_path / "m.py"), line
    (tmp_path / "m.py").write_text("import json\nfrom http import HTTPStatus\nfrom urllib.parse import quote\n")
    assert not network_imports(tmp_path / "m.py")


def test_no_registry_host_name_in_the_tree():
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    hits = []
    for name in filter(None, files):
        path = ROOT / name.decode()
        if path.is_file():
            text = path.read_bytes().decode("utf-8", "replace").lower()
            hits += [f"{name.decode()}: {host}" for host in REGISTRY_HOSTS if host in text]
    assert not hits


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.8.9.1", True), ("::1", True),
                                            ("[::1]", True), ("localhost", True), (None, True),
                                            ("10.0.0.1", False), ("8.8.8.8", False), ("huggingface.co", False)])
def test_only_the_loopback_counts_as_local(host, loopback):
    assert is_loopback(host) is loopback


def test_the_guard_refuses_and_records_what_is_not_loopback():
    """The guard every test runs under (tests/conftest.py) lets the loopback through and refuses the rest."""
    guard = Guard().install()
    try:
        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))
            server.listen()
            with socket.create_connection(server.getsockname(), timeout=5):
                pass
        assert guard.attempts == []
        with pytest.raises(NetworkRefused):
            socket.getaddrinfo("example.org", 443)
        with socket.socket() as s, pytest.raises(NetworkRefused):
            s.connect(("192.0.2.1", 80))  # TEST-NET-1: never routed
        assert [what for what, _ in guard.attempts] == ["name lookup", "connect"]
    finally:
        guard.remove()
