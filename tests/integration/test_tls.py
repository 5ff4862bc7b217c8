"""The collection over HTTPS with the lab's private CA, certificate validation on everywhere.

A session fixture starts a TLS lab of its own (``PULPLAB_TLS=1``: its own PULPLAB_DIR, ports and
CA, pulpcore's venv shared with the main lab) and stops it at the end. Given an upstream and a
downstream that speak HTTPS only, when the replica role runs with the CA (as PEM text or as a
file), then it replicates, reruns without a change, predicts in check mode and audits exactly; when
the trust is wrong (no CA, another host's certificate, an expired one, a CA file that is no PEM),
then the run fails with one line naming the host and what to do, nothing changed and the lock is
released; REQUESTS_CA_BUNDLE in the environment never replaces the configured CA.
"""

import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading

import pytest

from tests.integration.conftest import PULPLAB, Lab
from tests.integration.harness import ansible_playbook, role_outcome, role_play, role_vars, run_play, run_role, unique
from tests.integration.test_role_replica import downstream_state

PORTS = int(os.environ.get("PULPLAB_TLS_PORTS", "25916"))  # upstream content; +1 its API, +10 and +11 the downstream's
TLS_LAB_ENV = {
    "PULPLAB_TLS": "1",
    "PULPLAB_DIR": os.environ.get("PULPLAB_TLS_DIR", os.path.join(tempfile.gettempdir(), "pulplab-tls")),
    "PULPLAB_UPSTREAM_CONTENT_PORT": str(PORTS),
    "PULPLAB_UPSTREAM_API_PORT": str(PORTS + 1),
    "PULPLAB_DOWNSTREAM_CONTENT_PORT": str(PORTS + 10),
    "PULPLAB_DOWNSTREAM_API_PORT": str(PORTS + 11),
    "PULPLAB_PG_PORT": os.environ.get("PULPLAB_TLS_PG_PORT", "25930"),
    "PULPLAB_PASSWORD_HASHER": os.environ.get("PULPLAB_PASSWORD_HASHER", "fast"),
    "PULPLAB_WORKERS": "1",
    "PULPLAB_VENV": os.path.join(os.environ.get("PULPLAB_DIR") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), ".lab"), "venv"),
}
LOCK = "pulpops-replication-lock"


def pulplab(*args, capture=False):
    env = dict(os.environ, **TLS_LAB_ENV)
    return subprocess.run([sys.executable, PULPLAB] + list(args), env=env, check=True, text=True,
                          stdout=subprocess.PIPE if capture else None).stdout


class TlsLab(Lab):
    def __init__(self, env):
        super().__init__(env)
        self.ca_file = env["PULPLAB_CA_CERT"]
        self.tls_dir = os.path.dirname(self.ca_file)
        with open(self.ca_file) as handle:
            self.ca_text = handle.read()

    def client(self, side, domain="default", **kwargs):
        kwargs.setdefault("ca_cert", self.ca_file)
        return super().client(side, domain=domain, **kwargs)

    def seed(self, domain, count=3, prefix="dist-", **_kwargs):
        pulplab("seed", "--server", "upstream", "--domain", domain, "--count", str(count), "--prefix", prefix,
                "--poll-interval", "0.2", capture=True)

    def domains(self):
        name = unique("tls")
        for side in ("upstream", "downstream"):
            self.create_domain(side, name)
        return name


@pytest.fixture(scope="module")
def tlslab():
    pulplab("start")
    env = {}
    for line in pulplab("env", capture=True).splitlines():
        key, _sep, value = line.replace("export ", "", 1).partition("=")
        env[key] = value
    try:
        yield TlsLab(env)
    finally:
        pulplab("stop")


def tls_vars(lab, domain, name, ca_as="text", **extra):
    variables = role_vars(lab, domain, name, **extra)
    variables["replica_ca_cert"] = lab.ca_file
    variables["replica_upstream"].update(tls_validation=True, ca_cert=lab.ca_text if ca_as == "text" else lab.ca_file)
    return variables


def assert_unchanged_and_unlocked(lab, domain, before):
    downstream = lab.client("downstream", domain)
    assert downstream_state(downstream) == before
    assert downstream.find("contentguards/core/content_redirect/", name=LOCK) is None


def test_the_role_replicates_reruns_predicts_and_audits_over_https(tlslab):
    domain = tlslab.domains()
    tlslab.seed(domain, count=2, prefix="s-")
    variables = tls_vars(tlslab, domain, unique("up"))

    predicted = run_role(variables, check=True, diff=True)
    assert predicted["failed"] is False, predicted["output"][-3000:]
    assert predicted["replica_result"]["plan"]["create"]["distributions"] == ["s-0001", "s-0002"]

    first = run_role(variables)
    assert first["failed"] is False, first["output"][-3000:]
    assert first["replica_result"]["audit"] and sum(first["replica_result"]["audit"].values()) == 0
    downstream = tlslab.client("downstream", domain)
    served = sorted(d["base_path"] for d in downstream.list_all("distributions/file/file/"))
    assert served == ["s-0001", "s-0002"]
    upstream_pulp = downstream.find("upstream-pulps/", name=variables["replica_upstream"]["name"])
    assert upstream_pulp["tls_validation"] is True and upstream_pulp["ca_cert"].strip() == tlslab.ca_text.strip()

    again = run_role(variables, verbosity=3, diff=True)
    assert again["failed"] is False, again["output"][-3000:]
    assert again["replica_result"]["skipped_reason"]
    assert tlslab.password not in again["output"]


def test_a_ca_file_path_works_too_and_requests_ca_bundle_never_replaces_it(tlslab):
    domain = tlslab.domains()
    tlslab.seed(domain, count=1, prefix="b-")
    variables = tls_vars(tlslab, domain, unique("up"), ca_as="file")
    workdir = tempfile.mkdtemp(prefix="role-")
    # The system's bundle, which does not hold the lab's CA, as an execution environment would set it.
    system_bundle = ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt"
    env = {"REQUESTS_CA_BUNDLE": system_bundle, "CURL_CA_BUNDLE": system_bundle}
    proc = ansible_playbook(workdir, role_play(), variables, env=env)
    outcome = role_outcome(proc.stdout, proc.returncode)
    assert outcome["failed"] is False, outcome["output"][-3000:]
    assert sum(outcome["replica_result"]["audit"].values()) == 0


class BadCertificateServer:
    """A TLS endpoint on loopback that presents one certificate of the lab's TLS directory and answers nothing.

    With ``want_client_cert`` it asks the client for a certificate and records what was presented.
    """

    def __init__(self, tls_dir, name, want_client_cert=False):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(os.path.join(tls_dir, name + ".pem"), os.path.join(tls_dir, name + ".key"))
        if want_client_cert:
            self.context.verify_mode = ssl.CERT_OPTIONAL
            self.context.load_verify_locations(os.path.join(tls_dir, "ca.pem"))
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.presented = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    self.presented.append(tls.getpeercert())
                    tls.recv(1024)
                    tls.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            except (ssl.SSLError, OSError):
                conn.close()

    def url(self, host="127.0.0.1"):
        return "https://%s:%d" % (host, self.port)


@pytest.mark.parametrize("fault", ["no_ca", "wrong_host", "expired"])
def test_an_upstream_certificate_that_cannot_be_trusted_fails_clearly_changes_nothing_and_unlocks(tlslab, fault):
    domain = tlslab.domains()
    tlslab.seed(domain, count=1, prefix="f-")
    variables = tls_vars(tlslab, domain, unique("up"))
    if fault == "no_ca":
        variables["replica_upstream"].pop("ca_cert")
        expected = "No CA this machine trusts signed the server's certificate"
    else:
        server = BadCertificateServer(tlslab.tls_dir, "wrong-host" if fault == "wrong_host" else "expired")
        variables["replica_upstream"]["base_url"] = server.url()
        expected = "another host" if fault == "wrong_host" else "has expired"
    before = downstream_state(tlslab.client("downstream", domain))
    outcome = run_role(variables)
    assert outcome["failed"] is True
    assert "TLS verification failed" in outcome["msg"] and "127.0.0.1" in outcome["msg"], outcome["msg"]
    assert expected in outcome["msg"], outcome["msg"]
    assert "Traceback" not in outcome["output"]
    assert_unchanged_and_unlocked(tlslab, domain, before)


def test_the_downstream_without_the_ca_reports_the_failed_subtasks_and_switches_nothing(tlslab):
    domain = tlslab.domains()
    tlslab.seed(domain, count=2, prefix="d-")
    name = unique("up")
    connection = {"pulp_url": tlslab.downstream_url, "username": tlslab.username, "password": tlslab.password,
                  "pulp_domain": domain, "ca_cert": tlslab.ca_file}
    up = {"upstream_username": tlslab.username, "upstream_password": tlslab.password}
    created = run_play([{"pulpops.replication.upstream_pulp": dict(
        connection, name=name, base_url=tlslab.upstream_url, domain=domain, policy="labeled", tls_validation=True,
        **up)}])
    assert not created[0].get("failed"), created[0]
    before = downstream_state(tlslab.client("downstream", domain))
    run = run_play([{"pulpops.replication.replicate": dict(connection, upstream=name, upstream_ca_cert=tlslab.ca_text,
                                                           **up)}])
    result = run[0]
    assert result["failed"] is True
    assert result["failed_tasks"], result["msg"]
    assert any("certificate" in task["error"].lower() or "ssl" in task["error"].lower()
               for task in result["failed_tasks"]), result["failed_tasks"]
    assert downstream_state(tlslab.client("downstream", domain))["distributions"] == before["distributions"]


def test_a_ca_file_that_is_missing_or_not_pem_is_named_before_any_request(tlslab, tmp_path):
    not_pem = tmp_path / "ca.txt"
    not_pem.write_text("not a certificate")
    base = {"pulp_url": tlslab.downstream_url, "username": tlslab.username, "password": tlslab.password,
            "lock_name": "never-taken", "owner": "tls-test", "state": "acquired"}
    results = run_play([{"pulpops.replication.domain_lock": dict(base, ca_cert=str(tmp_path / "gone.pem"))},
                        {"pulpops.replication.domain_lock": dict(base, ca_cert=str(not_pem))}])
    assert results[0]["failed"] and results[0]["msg"] == "ca_cert: no such file %r" % str(tmp_path / "gone.pem")
    assert results[1]["failed"] and "is not a PEM certificate file" in results[1]["msg"]
    downstream = tlslab.client("downstream")
    assert downstream.find("contentguards/core/content_redirect/", name="never-taken") is None


def test_client_certificates_are_presented_in_the_handshake(tlslab):
    server = BadCertificateServer(tlslab.tls_dir, "server", want_client_cert=True)
    results = run_play([{"pulpops.replication.domain_lock": {
        "pulp_url": server.url(), "username": "u", "password": "p", "ca_cert": tlslab.ca_file,
        "client_cert": os.path.join(tlslab.tls_dir, "client.pem"),
        "client_key": os.path.join(tlslab.tls_dir, "client.key"),
        "lock_name": "l", "owner": "o", "state": "acquired", "request_timeout": 5}}])
    assert results[0]["failed"] is True  # the stand-in server answers nothing useful
    subjects = [dict(item[0] for item in cert.get("subject", ())) for cert in server.presented if cert]
    assert {"commonName": "pulplab client"} in subjects, server.presented
    assert "BEGIN" not in results.output  # the key's text is never shown


# ------------------------------------------------------------------ least privilege
def least_privilege(lab, domain, without=()):
    args = ["users", "--domain", domain] + [item for role in without for item in ("--without", role)]
    return json.loads(pulplab(*args, capture=True))


def test_the_role_runs_as_a_least_privilege_replicator_reading_with_a_read_only_user(tlslab):
    domain = tlslab.domains()
    tlslab.seed(domain, count=2, prefix="p-")
    users = least_privilege(tlslab, domain)
    variables = tls_vars(tlslab, domain, unique("up"))
    variables.update(replica_username=users["downstream"]["username"], replica_password=users["password"])
    variables["replica_upstream"].update(username=users["upstream"]["username"], password=users["password"])

    first = run_role(variables)
    assert first["failed"] is False, (first["msg"], first["output"][-3000:])
    assert sum(first["replica_result"]["audit"].values()) == 0
    served = sorted(d["base_path"] for d in tlslab.client("downstream", domain).list_all("distributions/file/file/"))
    assert served == ["p-0001", "p-0002"]
    again = run_role(variables)
    assert again["failed"] is False and again["replica_result"]["skipped_reason"], again["output"][-3000:]
    assert users["password"] not in first["output"] + again["output"]


def test_a_replicator_missing_one_permission_fails_clearly_and_changes_nothing(tlslab):
    domain = tlslab.domains()
    tlslab.seed(domain, count=1, prefix="m-")
    users = least_privilege(tlslab, domain, without=["core.upstreampulp_creator"])
    variables = tls_vars(tlslab, domain, unique("up"))
    variables.update(replica_username=users["downstream"]["username"], replica_password=users["password"])
    variables["replica_upstream"].update(username=users["upstream"]["username"], password=users["password"])
    before = downstream_state(tlslab.client("downstream", domain))

    outcome = run_role(variables)
    assert outcome["failed"] is True
    assert "core.add_upstreampulp" in outcome["msg"] and "upstream-pulps/" in outcome["msg"], outcome["msg"]
    assert_unchanged_and_unlocked(tlslab, domain, before)
    assert tlslab.client("downstream", domain).find("upstream-pulps/", name=variables["replica_upstream"]["name"]) is None


def test_every_module_works_over_https_and_no_key_shows_in_vvv_diff(tlslab):
    domain = tlslab.domains()
    tlslab.seed(domain, count=1, prefix="k-")
    connection = {"pulp_url": tlslab.downstream_url, "username": tlslab.username, "password": tlslab.password,
                  "pulp_domain": domain, "ca_cert": tlslab.ca_file}
    key_file = os.path.join(tlslab.tls_dir, "client.key")
    with open(key_file) as handle:
        key_body = [line for line in handle.read().splitlines() if line and not line.startswith("-----")]
    results = run_play([
        {"pulpops.replication.upstream_pulp": dict(
            connection, name=unique("up"), base_url=tlslab.upstream_url, domain=domain, tls_validation=True,
            upstream_ca_cert=tlslab.ca_file, upstream_client_cert=os.path.join(tlslab.tls_dir, "client.pem"),
            upstream_client_key=key_file, upstream_username=tlslab.username, upstream_password=tlslab.password)},
        {"pulpops.replication.distribution": dict(connection, name="hand", base_path="hand", type="file")},
        {"pulpops.replication.domain_lock": dict(connection, state="acquired", owner="tls", ttl=60)},
        {"pulpops.replication.domain_lock": dict(connection, state="released", owner="tls")},
    ], diff=True, verbosity=3)
    for result in results.results:
        assert not result.get("failed"), result.get("msg")
    assert results[0]["upstream_pulp"]["client_key"] == "is set"
    assert results[0]["upstream_pulp"]["ca_cert"].strip() == tlslab.ca_text.strip()
    assert results[1]["changed"] is True
    assert not any(line in results.output for line in key_body)
    assert tlslab.password not in results.output
