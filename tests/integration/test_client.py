"""The REST client against the two real lab servers."""

import os
import socket
import ssl
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlsplit

import pytest

from ansible_collections.pulpops.replication.plugins.module_utils.client import (
    PulpAuthError,
    PulpClient,
    PulpConnectionError,
    PulpValidationError,
)

from tests.integration.harness import run_play, unique


def test_domains_are_detected_and_urls_built_for_them(lab, domains):
    client = lab.client("downstream", domain=domains)
    assert client.domain_enabled is True
    assert client.api_base == "/pulp/%s/api/v3/" % domains
    assert client.core_version >= (3, 0, 0)
    assert client.get("repositories/")["count"] == 0


def test_session_login_replaces_basic_auth(lab):
    client = lab.client("downstream")
    client.get("tasks/", params={"limit": 1})
    assert client.login() is True
    assert client.session.cookies.get("sessionid")
    # An unsafe request on the session needs the CSRF header: the client sends it.
    name = unique("guard")
    guard = client.post("contentguards/core/content_redirect/", {"name": name})
    client.delete(guard["pulp_href"])


def test_paging_follows_next_links_over_several_pages(lab, upstream, domains):
    lab.seed(domains, count=5, prefix="page-")
    upstream.login()  # status + login are made once per client; count only the pages
    before = upstream.request_count
    items = upstream.list_all("distributions/file/file/", page_size=2)
    assert sorted(d["name"] for d in items) == ["page-%04d" % i for i in range(1, 6)]
    assert upstream.request_count - before == 3  # pages of 2, 2 and 1


def test_task_wait_returns_the_finished_task(upstream):
    repo = upstream.post("repositories/file/file/", {"name": unique("repo")})
    task = upstream.task_result(upstream.delete(repo["pulp_href"]))
    assert task["state"] == "completed"
    assert upstream.get(repo["pulp_href"], allow_404=True) is None


def test_task_group_wait_on_a_real_replication(lab, upstream, downstream, domains):
    lab.seed(domains, count=2, prefix="grp-")
    server = downstream.post("upstream-pulps/", {
        "name": unique("up"), "base_url": lab.upstream_url, "api_root": "/pulp/", "domain": domains,
        "username": lab.username, "password": lab.password,
    })
    group_href = downstream.post(server["pulp_href"] + "replicate/")["task_group"]

    def finished(group, tasks):
        active = [t for t in tasks if t["state"] in ("waiting", "running", "canceling")]
        names = [t["name"] for t in tasks]
        failed = [t for t in tasks if t["state"] == "failed"]
        return not active and (any(n.endswith("finalize_replication") for n in names) or bool(failed))

    group, tasks = downstream.wait_task_group(group_href, timeout=300, poll_interval=1, finished=finished)
    assert group["pulp_href"] == group_href
    assert all(t["state"] == "completed" for t in tasks), [(t["name"], t["state"]) for t in tasks]
    assert sorted(d["name"] for d in downstream.list_all("distributions/file/file/")) == ["grp-0001", "grp-0002"]


def test_400_is_translated_into_field_lines(downstream):
    with pytest.raises(PulpValidationError) as info:
        downstream.post("distributions/file/file/", {"name": unique("d")})
    assert "base_path: This field is required." in info.value.message
    assert info.value.status == 400


def test_bad_credentials_name_the_user_and_never_the_password(lab):
    client = PulpClient(lab.downstream_url, username="admin", password="wrong-secret-123")
    with pytest.raises(PulpAuthError) as info:
        client.get("repositories/")
    assert "user 'admin'" in info.value.message
    assert "wrong-secret-123" not in info.value.message


def test_a_password_outside_latin_1_logs_in_and_a_wrong_one_is_a_clean_401(lab):
    """Given a downstream user whose password holds a-umlaut, the euro sign and a CJK character, when the
    client and a module read with it, then both the session login and basic auth succeed (the
    credentials go as UTF-8, which Django REST framework decodes first), and a wrong password is a
    clean 401 naming the user, never the password."""
    admin = lab.client("downstream")
    password = "p\u00e4ss-\u20ac-\u4e2d-Zq9"
    user = admin.post("users/", {"username": unique("utf8-user"), "password": password})
    try:
        for use_session in (True, False):
            client = PulpClient(lab.downstream_url, username=user["username"], password=password,
                                use_session=use_session)
            assert client.get("distributions/", params={"limit": 1}) is not None
            assert client.login() is use_session
        play = run_play([{"pulpops.replication.distribution": dict(
            lab.connection(), username=user["username"], password=password, name=unique("utf8-dist"),
            base_path=unique("utf8-dist"))}], check=True)
        assert not play[0].get("failed"), play
        assert play[0]["changed"] is True  # a create is predicted: the reads went through
        wrong = PulpClient(lab.downstream_url, username=user["username"], password=password + "x")
        with pytest.raises(PulpAuthError) as info:
            wrong.get("distributions/")
        assert "user '%s'" % user["username"] in info.value.message and "Zq9" not in info.value.message
    finally:
        admin.delete(user["pulp_href"])


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_refused_port_names_the_url():
    port = free_port()
    client = PulpClient("http://127.0.0.1:%d" % port, "admin", "pw", retries=1, backoff=0.01)
    with pytest.raises(PulpConnectionError) as info:
        client.get("repositories/")
    assert "127.0.0.1:%d" % port in info.value.message
    assert "could not connect" in info.value.message


class ResetFirstRelay:
    """A loopback relay to ``target`` (host, port) that resets the first connection it accepts,
    as a server closing a keep-alive connection under the client does, and relays the rest."""

    def __init__(self, target):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _addr = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            if self.accepted == 1:
                conn.recv(65536)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                conn.close()  # RST: ConnectionResetError on the client's side
                continue
            server = socket.create_connection(self.target)
            for source, sink in ((conn, server), (server, conn)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.listener.close()


def test_fetch_of_content_survives_a_reset_connection(lab, upstream, domains):
    """The audit's content fetches (PulpClient.fetch) against the real content app: a reset is retried."""
    lab.seed(domains, count=1, prefix="dist-")
    manifest = urlsplit(upstream.list_all("distributions/file/file/")[0]["base_url"] + "PULP_MANIFEST")
    relay = ResetFirstRelay((manifest.hostname, manifest.port))
    try:
        client = PulpClient(lab.downstream_url, lab.username, lab.password, retries=3, backoff=0.05)
        direct = client.fetch(manifest.geturl())
        relayed = client.fetch("http://127.0.0.1:%d%s" % (relay.port, manifest.path))
    finally:
        relay.close()
    assert direct.status_code == 200 and direct.content
    assert relay.accepted >= 2  # the first connection was reset, the retry went through
    assert (relayed.status_code, relayed.content) == (direct.status_code, direct.content)


@pytest.fixture
def self_signed_server():
    workdir = tempfile.mkdtemp()
    cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            body = b'{"versions": [], "domain_enabled": false}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "https://127.0.0.1:%d" % server.server_address[1], cert
    server.shutdown()


def test_tls_failure_with_a_self_signed_certificate(self_signed_server):
    url, cert = self_signed_server
    with pytest.raises(PulpConnectionError) as info:
        PulpClient(url, retries=0).status()
    assert "TLS verification failed for %s" % url in info.value.message
    # The same server is trusted once its CA is given, or verification is off.
    assert PulpClient(url, ca_cert=cert).status()["domain_enabled"] is False
    assert PulpClient(url, validate_certs=False).status()["domain_enabled"] is False
