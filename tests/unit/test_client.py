# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure-logic tests of the REST client: a fake transport stands in for the server, no network."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from urllib.parse import urlsplit

import pytest
import requests

from ansible_collections.pulpops.replication.plugins.module_utils import client as pulp_client
from ansible_collections.pulpops.replication.plugins.module_utils.client import (
    GROUP_COUNT_FIELDS,
    PulpAuthError,
    PulpClient,
    PulpConnectionError,
    PulpError,
    PulpTimeout,
    PulpValidationError,
    flatten_errors,
    parse_version,
)

BASE = "https://pulp.example.com"
PASSWORD = "s3cret-Pa55word"


def response(status, body=None):
    answer = requests.models.Response()
    answer.status_code = status
    answer._content = b"" if body is None else json.dumps(body).encode()
    answer.headers["Content-Type"] = "application/json"
    return answer


class FakePulp:
    """Answers requests.Session.request: /status/ and login/ by default, scripted answers otherwise.

    ``script(method, path_suffix, *answers)`` queues answers (a status code, a (status, body) pair
    or an exception to raise); the last one repeats. Every call is recorded in ``calls``.
    """

    def __init__(self, domain_enabled=True, login_status=201, core="3.123.1"):
        self.domain_enabled = domain_enabled
        self.login_status = login_status
        self.core = core
        self.calls = []
        self.scripts = []

    def script(self, method, suffix, *answers):
        self.scripts.append((method, suffix, list(answers)))

    def calls_to(self, method, suffix):
        return [call for call in self.calls if call["method"] == method and call["path"].endswith(suffix)]

    def __call__(self, session, method, url, **kwargs):
        path = urlsplit(url).path
        self.calls.append({"method": method, "path": path, "headers": dict(kwargs.get("headers") or {}),
                           "auth": kwargs.get("auth"), "data": kwargs.get("data"),
                           "params": kwargs.get("params")})
        for script_method, suffix, answers in self.scripts:
            if script_method == method and path.endswith(suffix):
                answer = answers.pop(0) if len(answers) > 1 else answers[0]
                if isinstance(answer, Exception):
                    raise answer
                status, body = answer if isinstance(answer, tuple) else (answer, {})
                return response(status, body)
        if path.endswith("/status/"):
            return response(200, {"domain_enabled": self.domain_enabled,
                                  "versions": [{"component": "core", "version": self.core}]})
        if path.endswith("/login/"):
            if self.login_status in (200, 201):
                session.cookies.set("sessionid", "session-1")
                session.cookies.set("csrftoken", "csrf-token-1")
            return response(self.login_status, {"detail": "login answer %d" % self.login_status})
        return response(200, {"count": 0, "next": None, "results": []})


@pytest.fixture
def fake(monkeypatch):
    server = FakePulp()

    def request(session, method, url, **kwargs):
        return server(session, method, url, **kwargs)

    monkeypatch.setattr(requests.Session, "request", request)
    monkeypatch.setattr(pulp_client.time, "sleep", lambda seconds: None)
    return server


def make_client(**kwargs):
    kwargs.setdefault("username", "admin")
    kwargs.setdefault("password", PASSWORD)
    return PulpClient(BASE, **kwargs)


# ------------------------------------------------------------ error bodies
def test_flatten_errors_names_each_field_and_keeps_top_level_messages_bare():
    body = {
        "name": ["This field must be unique."],
        "non_field_errors": ["Either repository or publication."],
        "detail": "Not allowed.",
        "remote": {"url": ["Enter a valid URL."]},
    }
    assert flatten_errors(body) == [
        "name: This field must be unique.",
        "Either repository or publication.",
        "Not allowed.",
        "remote.url: Enter a valid URL.",
    ]


def test_flatten_errors_of_lists_scalars_and_nothing():
    assert flatten_errors([{"base_path": ["taken"]}, "plain"]) == ["base_path: taken", "plain"]
    assert flatten_errors("just text") == ["just text"]
    assert flatten_errors(None) == []
    assert flatten_errors({}) == []


# ---------------------------------------------------------------- versions
@pytest.mark.parametrize("text, expected", [
    ("3.123.1", (3, 123, 1)),
    ("3.73", (3, 73, 0)),
    ("3.70.0.dev", (3, 70, 0)),
    ("3.22.0rc1", (3, 22, 0)),
    ("4", (4, 0, 0)),
    ("unknown", (0, 0, 0)),
])
def test_parse_version(text, expected):
    assert parse_version(text) == expected


def test_require_version_names_the_option_and_the_servers_version(fake):
    fake.core = "3.112.2"
    pulp = make_client()
    pulp.require_version("policy", (3, 73, 0), option="policy")
    with pytest.raises(PulpError) as caught:
        pulp.require_version("per-request q_select", (3, 113, 0), option="q_select")
    assert caught.value.message == (
        "option 'q_select' needs pulpcore >= 3.113.0; the server at %s runs pulpcore 3.112.2" % BASE)


# -------------------------------------------------------------------- URLs
def test_urls_with_domains_enabled_carry_the_domain(fake):
    pulp = PulpClient(BASE + "/", domain="team-a")
    assert pulp.api_base == "/pulp/team-a/api/v3/"
    assert pulp.href("distributions/file/file/") == "/pulp/team-a/api/v3/distributions/file/file/"
    assert pulp.url("tasks/") == BASE + "/pulp/team-a/api/v3/tasks/"
    assert pulp.url("/pulp/team-a/api/v3/tasks/1/") == BASE + "/pulp/team-a/api/v3/tasks/1/"
    assert pulp.url("http://elsewhere:24817/x/") == "http://elsewhere:24817/x/"


def test_urls_with_domains_disabled_honour_the_api_root(fake):
    fake.domain_enabled = False
    pulp = PulpClient(BASE, domain="default", api_root="custom")
    assert pulp.api_base == "/custom/api/v3/"
    assert pulp.url("remotes/") == BASE + "/custom/api/v3/remotes/"
    assert fake.calls_to("GET", "/custom/api/v3/status/"), "status is read under the API root, never domain-scoped"


def test_a_domain_on_a_server_without_domains_is_an_error_naming_the_option(fake):
    """Without domains every path is the default domain's: a named domain must not silently act there."""
    fake.domain_enabled = False
    pulp = PulpClient(BASE, domain="team-a")
    with pytest.raises(PulpError) as caught:
        pulp.url("remotes/")
    assert caught.value.message.startswith("pulp_domain: domain 'team-a' was asked for")
    assert "has no domains" in caught.value.message
    upstream = PulpClient(BASE, domain="team-a", domain_option="domain")
    with pytest.raises(PulpError) as caught:
        upstream.href("distributions/")
    assert caught.value.message.startswith("domain: domain 'team-a'")
    assert not fake.calls_to("GET", "/remotes/") and not fake.calls_to("GET", "/distributions/")


def test_status_is_read_once_per_client(fake):
    pulp = PulpClient(BASE)
    for path in ("tasks/", "remotes/", "domains/"):
        pulp.url(path)
    assert pulp.core_version == (3, 123, 1)
    assert len(fake.calls_to("GET", "/status/")) == 1


def test_a_relative_url_is_refused():
    with pytest.raises(PulpError) as caught:
        PulpClient("pulp.example.com")
    assert "pulp_url must be an absolute URL" in caught.value.message


# ------------------------------------------------------------------ retries
def test_safe_methods_are_retried_on_502_503_504(fake):
    fake.script("GET", "/repositories/", 502, 503, 504, (200, {"results": [{"name": "r1"}]}))
    pulp = make_client(retries=3)
    assert pulp.get("repositories/") == {"results": [{"name": "r1"}]}
    assert len(fake.calls_to("GET", "/repositories/")) == 4


def test_safe_methods_give_up_after_the_retries_with_the_last_status(fake):
    fake.script("GET", "/repositories/", 503)
    pulp = make_client(retries=2)
    with pytest.raises(PulpError) as caught:
        pulp.get("repositories/")
    assert caught.value.status == 503
    assert len(fake.calls_to("GET", "/repositories/")) == 3


def test_safe_methods_are_retried_on_connection_errors(fake):
    fake.script("GET", "/remotes/", requests.exceptions.ConnectionError("reset by peer"),
                requests.exceptions.Timeout("read timed out"), (200, {"results": []}))
    pulp = make_client(retries=3)
    assert pulp.get("remotes/") == {"results": []}
    assert len(fake.calls_to("GET", "/remotes/")) == 3


def test_fetch_retries_a_reset_connection_and_sends_no_credentials(fake):
    fake.script("GET", "/pulp/content/d/a/PULP_MANIFEST",
                requests.exceptions.ConnectionError(("Connection aborted.", ConnectionResetError(104, "reset by peer"))),
                (200, {"manifest": 1}))
    pulp = make_client(retries=3)
    answer = pulp.fetch("https://content.example.com/pulp/content/d/a/PULP_MANIFEST")
    assert (answer.status_code, answer.json()) == (200, {"manifest": 1})
    calls = fake.calls_to("GET", "/PULP_MANIFEST")
    assert len(calls) == 2 and all(call["auth"] is None for call in calls)


def test_fetch_of_a_server_that_stays_away_is_a_clean_connection_error(fake):
    fake.script("GET", "/PULP_MANIFEST", requests.exceptions.ConnectionError("Connection refused"))
    pulp = make_client(retries=1)
    with pytest.raises(PulpConnectionError) as caught:
        pulp.fetch("https://content.example.com/pulp/content/d/a/PULP_MANIFEST")
    assert "could not connect" in caught.value.message and "PULP_MANIFEST" in caught.value.message


def test_a_connection_that_never_comes_is_a_connection_error(fake):
    fake.script("GET", "/remotes/", requests.exceptions.ConnectionError("Connection refused"))
    pulp = make_client(retries=1)
    with pytest.raises(PulpConnectionError) as caught:
        pulp.get("remotes/")
    assert "could not connect" in caught.value.message
    assert len(fake.calls_to("GET", "/remotes/")) == 2


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_unsafe_methods_are_never_retried_on_server_errors(fake, method):
    fake.script(method, "/distributions/file/file/", 503)
    pulp = make_client(retries=5)
    with pytest.raises(PulpError) as caught:
        pulp.request(method, "distributions/file/file/", json_body={"name": "d"})
    assert caught.value.status == 503
    assert len(fake.calls_to(method, "/distributions/file/file/")) == 1


def test_a_post_is_never_retried_on_connection_errors(fake):
    fake.script("POST", "/remotes/file/file/", requests.exceptions.ConnectionError("reset by peer"),
                (201, {"pulp_href": "/r/"}))
    pulp = make_client(retries=5)
    with pytest.raises(PulpConnectionError):
        pulp.post("remotes/file/file/", {"name": "r"})
    assert len(fake.calls_to("POST", "/remotes/file/file/")) == 1


# ------------------------------------------------------------ authentication
def test_a_session_logs_in_once_with_basic_auth_and_then_sends_the_csrf_token_on_writes(fake):
    pulp = make_client(domain="team-a")
    pulp.get("repositories/")
    pulp.post("repositories/file/file/", {"name": "r"})
    pulp.delete("/pulp/team-a/api/v3/repositories/file/file/1/")

    logins = fake.calls_to("POST", "/login/")
    assert len(logins) == 1
    assert logins[0]["auth"].username == b"admin" and logins[0]["auth"].password == PASSWORD.encode()
    read = fake.calls_to("GET", "/repositories/")[0]
    assert read["auth"] is None and "X-CSRFToken" not in read["headers"]
    for write in fake.calls_to("POST", "/repositories/file/file/") + fake.calls_to("DELETE", "/file/1/"):
        assert write["auth"] is None
        assert write["headers"]["X-CSRFToken"] == "csrf-token-1"
        assert write["headers"]["Referer"] == BASE + "/"


def test_without_a_session_every_request_carries_basic_auth(fake):
    pulp = make_client(use_session=False)
    pulp.get("repositories/")
    pulp.post("repositories/file/file/", {"name": "r"})
    assert not fake.calls_to("POST", "/login/")
    for call in fake.calls_to("GET", "/repositories/") + fake.calls_to("POST", "/repositories/file/file/"):
        assert call["auth"].password == PASSWORD.encode()
        assert "X-CSRFToken" not in call["headers"]


def test_a_server_without_login_keeps_basic_auth(fake):
    fake.login_status = 404
    pulp = make_client()
    pulp.post("repositories/file/file/", {"name": "r"})
    write = fake.calls_to("POST", "/repositories/file/file/")[0]
    assert write["auth"].username == b"admin"
    assert "X-CSRFToken" not in write["headers"]


# -------------------------------------------------------------- error texts
@pytest.mark.parametrize("where, answer, error", [
    ("login", (401, {"detail": "Invalid username/password."}), PulpAuthError),
    ("request", (403, {"detail": "You do not have permission to perform this action."}), PulpAuthError),
    ("request", (400, {"name": ["This field must be unique."]}), PulpValidationError),
    ("request", (500, "Internal Server Error"), PulpError),
    ("request", requests.exceptions.ConnectionError("Failed to establish a new connection: refused"), PulpConnectionError),
])
def test_the_password_never_appears_in_an_error(fake, where, answer, error):
    if where == "login":
        fake.script("POST", "/login/", answer)
    else:
        fake.script("POST", "/repositories/file/file/", answer)
    pulp = make_client()
    with pytest.raises(error) as caught:
        pulp.post("repositories/file/file/", {"name": "r"})
    assert PASSWORD not in caught.value.message
    assert PASSWORD not in str(caught.value)
    assert PASSWORD not in repr(caught.value.body)


def test_an_auth_error_names_the_user_and_what_to_check(fake):
    fake.script("POST", "/login/", (401, {"detail": "Invalid username/password."}))
    pulp = make_client()
    with pytest.raises(PulpAuthError) as caught:
        pulp.get("repositories/")
    message = caught.value.message
    assert message.startswith("POST /pulp/default/api/v3/login/ was denied (401) for user 'admin' on %s: " % BASE)
    assert "Invalid username/password." in message
    assert message.endswith("Check username and password (or the client certificate).")


def test_a_validation_error_lists_the_fields(fake):
    fake.script("POST", "/distributions/file/file/", (400, {"base_path": ["Overlaps with existing distribution."]}))
    pulp = make_client()
    with pytest.raises(PulpValidationError) as caught:
        pulp.post("distributions/file/file/", {"name": "d", "base_path": "d"})
    assert caught.value.fields == {"base_path": ["Overlaps with existing distribution."]}
    assert caught.value.message.endswith("was refused (400): base_path: Overlaps with existing distribution.")


# -------------------------------------------------------------- task waits
def test_waiting_for_many_tasks_keeps_each_filter_short_enough_for_the_server(fake):
    hrefs = ["/pulp/bench-1795656326/api/v3/tasks/019abcde-1234-7abc-9def-%012d/" % i for i in range(250)]
    fake.script("GET", "/tasks/", (200, {"results": [{"pulp_href": href, "state": "completed"} for href in hrefs]}))
    pulp = make_client(domain="bench-1795656326")
    done = pulp.wait_tasks(hrefs, batch=100)
    assert set(done) == set(hrefs)
    polls = fake.calls_to("GET", "/tasks/")
    assert len(polls) > 2, "250 long hrefs need more than the 3 polls a batch of 100 would make"
    for call in polls:
        request = requests.Request("GET", BASE + call["path"], params=call["params"]).prepare()
        assert len("GET %s HTTP/1.1" % request.path_url) < 4094


def test_credentials_written_into_a_url_never_reach_a_message():
    assert pulp_client.hide_userinfo("GET https://admin:p@ss@pulp:24817/x/ failed") == "GET https://***@pulp:24817/x/ failed"
    assert pulp_client.hide_userinfo("see http://host/a@b and https://u:v@h") == "see http://host/a@b and https://***@h"
    assert pulp_client.hide_userinfo(None) is None
    error = PulpError("could not reach http://admin:S3cret@h:1/pulp/")
    assert "S3cret" not in error.message and "S3cret" not in str(error)


def test_a_url_with_credentials_is_shown_without_them(fake):
    """An UpstreamPulp's base_url (set by hand on the server) may hold user:password@."""
    pulp = PulpClient("http://admin:S3cret@pulp.example.com", domain="default")
    with pytest.raises(PulpError) as caught:
        pulp.require_version("a feature", (9, 0, 0))
    assert "the server at http://***@pulp.example.com runs" in caught.value.message
    fake.script("GET", "/remotes/", (403, {"detail": "no"}))
    with pytest.raises(PulpError) as caught:
        pulp.get("remotes/")
    assert "S3cret" not in caught.value.message and "***@pulp.example.com" in caught.value.message


def test_a_password_outside_latin_1_is_sent_as_utf_8(fake):
    """requests encodes str credentials as latin-1 and fails on other characters (showing one of them)."""
    pulp = make_client(password="hunter\u20ac2024", use_session=False)
    pulp.get("remotes/")
    call = fake.calls_to("GET", "/remotes/")[0]
    prepared = requests.Request("GET", BASE + "/x/", auth=call["auth"]).prepare()
    import base64
    sent = base64.b64decode(prepared.headers["Authorization"].split()[1]).decode("utf-8")
    assert sent == "admin:hunter\u20ac2024"


def test_a_url_requests_cannot_use_is_a_clean_error(fake):
    fake.script("GET", "/remotes/", requests.exceptions.InvalidURL("Failed to parse: https://admin:S3cret@h:99999/x"))
    with pytest.raises(PulpConnectionError) as caught:
        make_client().get("remotes/")
    assert "cannot be sent" in caught.value.message and "S3cret" not in caught.value.message
    assert len(fake.calls_to("GET", "/remotes/")) == 1, "nothing was sent: no retry"


def test_a_port_out_of_range_is_refused_when_the_client_is_built():
    for bad in ("https://h:99999", "http://[::1"):
        with pytest.raises(PulpError) as caught:
            PulpClient(bad)
        assert "pulp_url must be an absolute URL" in caught.value.message


def test_a_downstream_older_than_what_replication_relies_on_is_a_clear_error(fake):
    """Before 3.73 replicate() writes no ownership labels and knows no policy: refuse before reading anything."""
    from ansible_collections.pulpops.replication.plugins.module_utils.replication import Replication
    from ansible_collections.pulpops.replication.plugins.modules import replica_audit

    fake.core = "3.72.0"
    expected = ("replication with pulpops.replication (the ownership labels and policy of pulpcore 3.73) needs "
                "pulpcore >= 3.73.0; the server at %s runs pulpcore 3.72.0" % BASE)
    with pytest.raises(PulpError) as caught:
        Replication(make_client(), {"upstream": "up", "base_url": None})
    assert caught.value.message == expected

    class Module:
        params = {"upstream": "up", "pulp_domain": "default", "pulp_url": BASE}
        client = make_client()

    with pytest.raises(PulpError) as caught:
        replica_audit.run(Module)
    assert caught.value.message == expected
    assert not fake.calls_to("GET", "/upstream-pulps/")
    fake.core = "3.73.0"
    Replication(make_client(), {"upstream": "up", "base_url": "https://up.example.com"})
    assert len(fake.calls_to("GET", "/upstream-pulps/")) == 1


def test_an_upstream_pulp_on_a_server_without_them_is_a_clear_error(fake):
    from ansible_collections.pulpops.replication.plugins.module_utils.entity import UPSTREAM_PULP, EnsureContext, ensure

    fake.core = "3.22.1"
    with pytest.raises(PulpError) as caught:
        ensure(EnsureContext(make_client()), UPSTREAM_PULP, "up", {"base_url": "https://up.example.com"})
    assert caught.value.message == "UpstreamPulp needs pulpcore >= 3.23.0; the server at %s runs pulpcore 3.22.1" % BASE
    assert not fake.calls_to("GET", "/upstream-pulps/")


def test_the_password_of_an_option_url_is_found_for_masking_even_where_it_breaks_the_url():
    for password in ("p@ss", "Zq9x/Pw", "Zq9x#Pw", "Zq9x Pw", "Zq9x?Pw"):
        value = "https://admin:%s@127.0.0.1:9/pulp/" % password
        assert pulp_client.url_passwords(value) == {password}
        shown = pulp_client.hide_option_userinfo(value)
        assert shown == "https://***@127.0.0.1:9/pulp/" and "Zq9" not in shown
    assert pulp_client.url_passwords("https://admin@h/") == set()
    assert pulp_client.url_passwords("https://h/") == set()
    assert pulp_client.url_passwords(["https://a:b@h"]) == set()
    assert pulp_client.hide_option_userinfo("https://h/") == "https://h/"


def test_an_answer_that_breaks_off_is_retried_when_safe_and_a_clean_error_otherwise(fake):
    fake.script("GET", "/remotes/", requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead"),
                (200, {"count": 0, "next": None, "results": []}))
    assert make_client().get("remotes/") == {"count": 0, "next": None, "results": []}
    assert len(fake.calls_to("GET", "/remotes/")) == 2
    fake.script("POST", "/repositories/file/file/", requests.exceptions.ChunkedEncodingError("Connection broken"))
    with pytest.raises(PulpConnectionError) as caught:
        make_client().post("repositories/file/file/", {"name": "r"})
    assert "failed while reading the answer" in caught.value.message
    assert "The server may have acted on it" in caught.value.message
    assert len(fake.calls_to("POST", "/repositories/file/file/")) == 1


def test_the_referer_of_a_write_names_the_origin_without_credentials(fake):
    pulp = PulpClient("https://u:Zq9@pulp.example.com/", username="admin", password=PASSWORD)
    pulp.post("repositories/file/file/", {"name": "r"})
    write = fake.calls_to("POST", "/repositories/file/file/")[0]
    assert write["headers"]["Referer"] == "https://pulp.example.com/"


def test_the_upstream_client_ignores_its_domain_on_an_upstream_without_domains(fake):
    """pulpcore's own replicate() reads such an upstream without the domain: the plan reads what it reads."""
    from ansible_collections.pulpops.replication.plugins.module_utils.replication import upstream_client

    fake.domain_enabled = False
    upstream = upstream_client({"base_url": "https://up.example.com", "domain": "team-a"}, {"upstream": "up"})
    assert upstream.api_base == "/pulp/api/v3/"


def test_the_other_upstream_pulps_are_listed_without_credentials_in_their_urls(fake):
    from ansible_collections.pulpops.replication.plugins.module_utils.replication import upstream_pulps

    fake.script("GET", "/upstream-pulps/", (200, {"count": 2, "next": None, "results": [
        {"name": "up", "base_url": "https://up.example.com", "pulp_href": "/pulp/default/api/v3/upstream-pulps/1/"},
        {"name": "other", "base_url": "https://sync:Zq9@other.example.com", "policy": "labeled"}]}))
    found, others = upstream_pulps(make_client(), "up")
    assert found["name"] == "up"
    assert others[0]["base_url"] == "https://***@other.example.com"


def test_the_plan_predicts_base_path_reuse_only_where_the_server_does_it(fake):
    from ansible_collections.pulpops.replication.plugins.module_utils.replication import Replication

    for core, reuse in (("3.112.4", False), ("3.113.0", True)):
        fake.core = core
        params = {"upstream": "up", "base_url": "https://up.example.com"}
        assert Replication(make_client(), params).upstream_view["base_path_reuse"] is reuse


def test_a_task_error_that_quotes_an_upstream_url_hides_its_credentials():
    task = {"error": {"description": "401 for url: https://sync:Zq9@up.example.com/pulp/api/v3/"}}
    assert pulp_client.task_error_text(task) == "401 for url: https://***@up.example.com/pulp/api/v3/"


def test_domain_lock_on_a_server_without_content_redirect_guards_is_a_clear_error(fake):
    from ansible_collections.pulpops.replication.plugins.modules import domain_lock

    fake.core = "3.17.2"

    class Module:
        params = {"lock_name": "l", "owner": "me", "ttl": 60, "state": "acquired", "timeout": 0, "poll_interval": 1}
        check_mode = False
        client = make_client()

    with pytest.raises(PulpError) as caught:
        domain_lock.run(Module)
    assert caught.value.message.startswith("domain_lock (it keeps its lease in a content_redirect content guard) "
                                           "needs pulpcore >= 3.18.0; the server at %s runs pulpcore 3.17.2" % BASE)
    assert not fake.calls_to("GET", "/contentguards/core/content_redirect/")


def test_before_pulpcore_3_11_the_core_component_is_read_from_its_old_name(fake):
    fake.script("GET", "/status/", (200, {"versions": [{"component": "pulpcore", "version": "3.10.4"}]}))
    assert make_client().core_version == (3, 10, 4)


def test_a_server_that_stays_silent_costs_two_timeouts_not_four(fake):
    fake.script("GET", "/remotes/", requests.exceptions.Timeout("read timed out"),
                requests.exceptions.Timeout("read timed out"), (200, {"results": []}))
    pulp = make_client(retries=3)
    with pytest.raises(PulpConnectionError) as caught:
        pulp.get("remotes/")
    assert len(fake.calls_to("GET", "/remotes/")) == 2
    assert "timed out" in caught.value.message


def test_a_permission_refusal_names_the_permission_and_says_nothing_changed(fake):
    fake.script("POST", "/upstream-pulps/", (403, {"detail": "You do not have permission to perform this action."}))
    pulp = make_client()
    with pytest.raises(PulpAuthError) as caught:
        pulp.post("upstream-pulps/", {"name": "x"})
    message = caught.value.message
    assert "core.add_upstreampulp" in message and "nothing was changed" in message
    assert "Check username and password" not in message


def test_the_permission_of_each_call_the_collection_makes():
    from ansible_collections.pulpops.replication.plugins.module_utils.client import needed_permission

    api = "/pulp/d/api/v3/"
    assert needed_permission("POST", api + "upstream-pulps/") == "core.add_upstreampulp"
    assert needed_permission("POST", api + "upstream-pulps/0190/replicate/") == "core.replicate_upstreampulp"
    assert needed_permission("PATCH", api + "upstream-pulps/0190/") == "core.change_upstreampulp"
    assert needed_permission("DELETE", api + "contentguards/core/content_redirect/0190/") == \
        "core.delete_contentredirectcontentguard"
    assert needed_permission("POST", api + "distributions/file/file/0190/set_label/") == "file.change_filedistribution"
    assert needed_permission("PATCH", api + "repositories/rpm/rpm/0190/") == "rpm.change_rpmrepository"
    assert needed_permission("GET", api + "status/") is None


# --------------------------------------------------------- kept sessions
class MemoryStore:
    """What client.use_session_store expects, in memory (the keeper's protocol is tested in test_session_keeper)."""

    def __init__(self):
        self.kept = {}
        self.logouts = {}
        self.dropped = []

    def get(self, key):
        return self.kept.get(key)

    def put(self, key, cookies, logout):
        self.kept[key] = cookies
        self.logouts[key] = logout

    def drop(self, key):
        self.dropped.append(key)
        self.kept.pop(key, None)

    def note(self, key, value):
        self.kept[key] = value

    def recall(self, key):
        return self.kept.get(key)


@pytest.fixture
def store():
    kept = MemoryStore()
    pulp_client.use_session_store(kept)
    yield kept
    pulp_client.use_session_store(None)


def test_a_kept_session_is_reused_by_the_next_client_without_a_login(fake, store):
    make_client().get("repositories/")
    second = make_client()
    second.post("repositories/file/file/", {"name": "r"})

    assert len(fake.calls_to("POST", "/login/")) == 1 and second.login_count == 0
    write = fake.calls_to("POST", "/repositories/file/file/")[0]
    assert write["auth"] is None and write["headers"]["X-CSRFToken"] == "csrf-token-1"
    (logout,) = store.logouts.values()
    assert logout["url"] == BASE + "/pulp/default/api/v3/login/" and PASSWORD not in json.dumps(logout)


def test_another_password_or_trust_never_gets_a_kept_session(fake, store):
    make_client().get("repositories/")
    make_client(password="other-" + PASSWORD).get("repositories/")
    make_client(validate_certs=False).get("repositories/")
    make_client(username="reader").get("repositories/")

    sessions = [key for key in store.kept if not key.startswith("status ")]
    assert len(fake.calls_to("POST", "/login/")) == 4 and len(sessions) == 4
    assert all(PASSWORD not in key for key in store.kept)


def test_a_kept_session_the_server_refuses_is_dropped_and_the_request_sent_again_after_a_new_login(fake, store):
    make_client().get("repositories/")
    fake.script("POST", "/repositories/file/file/", (403, {"detail": "Authentication credentials were not provided."}),
                (201, {"pulp_href": "/r/"}))
    second = make_client()

    assert second.post("repositories/file/file/", {"name": "r"}) == {"pulp_href": "/r/"}
    assert len(store.dropped) == 1 and second.login_count == 1
    assert len(fake.calls_to("POST", "/login/")) == 2 and len(fake.calls_to("POST", "/repositories/file/file/")) == 2


def test_a_refusal_of_a_fresh_login_is_not_tried_again(fake, store):
    fake.script("GET", "/repositories/", (403, {"detail": "You do not have permission to perform this action."}))
    with pytest.raises(PulpAuthError):
        make_client().get("repositories/")
    assert len(fake.calls_to("GET", "/repositories/")) == 1 and store.dropped == []


def test_the_status_is_read_once_per_run_through_the_store(fake, store):
    make_client().get("repositories/")
    assert make_client(domain="other").core_version == (3, 123, 1)
    assert len(fake.calls_to("GET", "/status/")) == 1
    assert make_client().status(refresh=True)["domain_enabled"] is True
    assert len(fake.calls_to("GET", "/status/")) == 2


def test_a_task_group_is_polled_by_its_counts_and_read_in_full_once_no_task_is_active(fake):
    group = "/pulp/default/api/v3/task-groups/g1/"
    busy = {"all_tasks_dispatched": False, "waiting": 3, "running": 2, "canceling": 0}
    idle = {"all_tasks_dispatched": True, "waiting": 0, "running": 0, "canceling": 0}
    done = dict(idle, pulp_href=group, tasks=[{"pulp_href": "/t/1/", "name": "sync", "state": "completed"}])
    fake.script("GET", "/task-groups/g1/", (200, busy), (200, busy), (200, idle), (200, done))
    fake.script("GET", "/tasks/", (200, {"count": 1, "next": None, "results": [
        {"pulp_href": "/t/1/", "name": "sync", "state": "completed", "error": None}]}))

    _group, tasks = make_client().wait_task_group(group, finished=lambda g, ts: all(t["state"] == "completed" for t in ts))

    assert tasks == [{"pulp_href": "/t/1/", "name": "sync", "state": "completed", "error": None}]
    polls = fake.calls_to("GET", "/task-groups/g1/")
    assert [(c["params"] or {}).get("fields") for c in polls] == [GROUP_COUNT_FIELDS] * 3 + [None]
    assert len(fake.calls_to("GET", "/tasks/")) == 1
    assert "fields" not in fake.calls_to("GET", "/tasks/")[0]["params"]


def test_a_group_idle_but_not_finished_is_polled_on(fake):
    group = "/pulp/default/api/v3/task-groups/g1/"
    idle = {"all_tasks_dispatched": False, "waiting": 0, "running": 0, "canceling": 0}
    first = dict(idle, tasks=[{"pulp_href": "/t/1/", "name": "replicate_distributions", "state": "completed"}])
    last = dict(idle, all_tasks_dispatched=True, tasks=first["tasks"] + [
        {"pulp_href": "/t/2/", "name": "finalize_replication", "state": "completed"}])
    fake.script("GET", "/task-groups/g1/", (200, idle), (200, first), (200, idle), (200, last))
    fake.script("GET", "/tasks/", (200, {"count": 2, "next": None, "results": last["tasks"]}))

    _group, tasks = make_client().wait_task_group(
        group, finished=lambda g, ts: any(t["name"] == "finalize_replication" for t in ts))

    assert [t["name"] for t in tasks] == ["replicate_distributions", "finalize_replication"]
    assert len(fake.calls_to("GET", "/task-groups/g1/")) == 4


def test_a_group_that_runs_out_of_time_names_the_tasks_still_running(fake):
    group = "/pulp/default/api/v3/task-groups/g1/"
    busy = {"all_tasks_dispatched": True, "waiting": 0, "running": 1, "canceling": 0,
            "tasks": [{"pulp_href": "/t/1/", "name": "synchronize", "state": "running"}]}
    fake.script("GET", "/task-groups/g1/", (200, busy))

    with pytest.raises(PulpTimeout) as caught:
        make_client().wait_task_group(group, timeout=0.3, poll_interval=0.05)

    assert "synchronize (running)" in str(caught.value)
    assert [t["name"] for t in caught.value.pending] == ["synchronize"]


def test_a_finished_group_s_tasks_are_read_with_only_the_fields_asked_for(fake):
    group = "/pulp/default/api/v3/task-groups/g1/"
    done = {"pulp_href": group, "tasks": [{"pulp_href": "/t/1/", "name": "sync", "state": "completed"}]}
    fake.script("GET", "/task-groups/g1/", (200, done))
    fake.script("GET", "/tasks/", (200, {"count": 1, "next": None, "results": [
        {"pulp_href": "/t/1/", "name": "sync", "state": "completed", "started_at": None, "finished_at": None}]}))

    make_client().wait_task_group(group, task_fields="pulp_href,name,state,started_at,finished_at",
                                  finished=lambda g, ts: all(t["state"] == "completed" for t in ts))

    params = fake.calls_to("GET", "/tasks/")[0]["params"]
    assert params["fields"] == "pulp_href,name,state,started_at,finished_at"
    assert params["task_group"] == group


def test_a_long_wait_keeps_polling_at_its_interval(monkeypatch):
    """Thousands of polls (a replication of hours at a fraction of a second) neither overflow nor outgrow the interval."""
    slept = []
    monkeypatch.setattr(pulp_client.time, "sleep", slept.append)
    client = make_client()
    for attempt in (0, 1, 5, 40, 1511, 10 ** 6):
        client._poll(None, 0.5, attempt)  # pylint: disable=protected-access
    assert slept[0] == pytest.approx(0.1) and slept[1] == pytest.approx(0.16) and slept[2:] == [0.5] * 4
