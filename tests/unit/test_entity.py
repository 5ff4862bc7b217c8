"""The entity helper's decisions against a fake Pulp API: what is compared, what is written,
what check mode predicts, and that secrets never leave it."""

import copy

import pytest

from ansible_collections.pulpops.replication.plugins.module_utils.client import PulpError, PulpNotFound
from ansible_collections.pulpops.replication.plugins.module_utils.pulp_types import distribution_paths
from ansible_collections.pulpops.replication.plugins.module_utils.entity import (
    UPSTREAM_PULP,
    EnsureContext,
    distribution_entity,
    ensure,
)

SECRET = "hunter2-very-secret"


class FakeClient:
    """Just enough of PulpClient: objects by endpoint, filters by exact field, a write log."""

    base_url = "http://fake"
    domain = "dom"

    def __init__(self, version=(3, 123, 1), endpoints=None):
        self.version = version
        self.objects = {}  # href -> obj
        self.writes = []
        self.endpoints = set(endpoints or ["upstream-pulps/", "distributions/file/file/",
                                           "repositories/file/file/", "contentguards/", "distributions/"])
        self.counter = 0

    @property
    def core_version(self):
        return self.version

    def versions(self):
        return {"core": self.version, "file": self.version}

    def require_version(self, feature, minimum, option=None):
        if self.version < minimum:
            raise PulpError("option '%s' needs pulpcore >= %s; server runs %s" % (option, minimum, self.version))

    def add(self, endpoint, obj):
        self.counter += 1
        obj = dict(obj)
        obj["pulp_href"] = "/api/%s%d/" % (endpoint, self.counter)
        self.objects[obj["pulp_href"]] = obj
        return obj

    def _in(self, endpoint):
        if endpoint == "distributions/":
            return [o for h, o in self.objects.items() if h.startswith("/api/distributions/")]
        if endpoint == "contentguards/":
            return [o for h, o in self.objects.items() if h.startswith("/api/contentguards/")]
        return [o for h, o in self.objects.items() if h.startswith("/api/" + endpoint)]

    def find(self, endpoint, **filters):
        for obj in self._in(endpoint):
            if all(obj.get(k) == v for k, v in filters.items() if k != "limit"):
                return copy.deepcopy(obj)
        return None

    def get(self, path, params=None, allow_404=False):
        if path in self.objects:
            return copy.deepcopy(self.objects[path])
        if path in self.endpoints:
            return {"results": self._in(path)}
        if allow_404:
            return None
        raise PulpNotFound("GET %s: not found (404)" % path)

    def post(self, endpoint, body):
        self.writes.append(("POST", endpoint, body))
        obj = dict(body)
        for name in ("password", "username", "client_key"):
            if name in obj and endpoint == "upstream-pulps/":
                obj.setdefault("hidden_fields", []).append({"name": name, "is_set": bool(obj.pop(name))})
        return self.add(endpoint, obj)

    def patch(self, href, body):
        self.writes.append(("PATCH", href, body))
        obj = self.objects[href]
        for key, value in body.items():
            if key in ("password", "username", "client_key"):
                hidden = [h for h in obj.get("hidden_fields", []) if h["name"] != key]
                hidden.append({"name": key, "is_set": bool(value)})
                obj["hidden_fields"] = hidden
            else:
                obj[key] = value
        return copy.deepcopy(obj)

    def delete(self, href, allow_404=False):
        self.writes.append(("DELETE", href, None))
        del self.objects[href]

    def task_result(self, answer, **kw):
        return answer


def upstream(client, **extra):
    obj = {"name": "central", "base_url": "https://up", "api_root": "/pulp/", "domain": None, "ca_cert": None,
           "tls_validation": True, "policy": "all", "q_select": None,
           "hidden_fields": [{"name": "username", "is_set": True}, {"name": "password", "is_set": True},
                             {"name": "client_key", "is_set": False}]}
    obj.update(extra)
    return client.add("upstream-pulps/", obj)


def test_creating_sends_defaults_and_secrets_but_shows_neither_secret():
    client = FakeClient()
    out = ensure(EnsureContext(client), UPSTREAM_PULP, "central",
                 {"base_url": "https://up", "password": SECRET, "policy": "labeled"})
    assert out["changed"] is True
    assert client.writes == [("POST", "upstream-pulps/", {"api_root": "/pulp/", "base_url": "https://up",
                                                          "password": SECRET, "policy": "labeled",
                                                          "name": "central"})]
    assert out["after"]["password"] == "is set"
    assert SECRET not in repr(out)


def test_an_identical_run_writes_nothing():
    client = FakeClient()
    upstream(client)
    out = ensure(EnsureContext(client), UPSTREAM_PULP, "central",
                 {"base_url": "https://up", "password": SECRET, "policy": "all", "q_select": ""})
    assert out["changed"] is False
    assert client.writes == []
    assert out["diff"]["before"] == out["diff"]["after"]


def test_only_the_fields_that_differ_are_patched():
    client = FakeClient()
    up = upstream(client)
    out = ensure(EnsureContext(client), UPSTREAM_PULP, "central",
                 {"base_url": "https://up", "policy": "labeled", "password": SECRET})
    assert client.writes == [("PATCH", up["pulp_href"], {"policy": "labeled"})]
    assert out["diff"] == {"before": {"name": "central", "base_url": "https://up", "password": "is set",
                                      "policy": "all"},
                           "after": {"name": "central", "base_url": "https://up", "password": "is set",
                                     "policy": "labeled"}}


def test_update_password_always_sends_the_secret_and_marks_it_in_the_diff():
    client = FakeClient()
    up = upstream(client)
    out = ensure(EnsureContext(client), UPSTREAM_PULP, "central", {"password": SECRET}, update_secrets="always")
    assert client.writes == [("PATCH", up["pulp_href"], {"password": SECRET})]
    assert out["changed"] is True
    assert out["diff"]["after"]["password"] == "is set (rewritten)"
    assert SECRET not in repr(out)


def test_a_write_only_field_the_server_reports_unset_is_sent():
    client = FakeClient()
    up = upstream(client)
    out = ensure(EnsureContext(client), UPSTREAM_PULP, "central", {"client_key": "KEY"})
    assert client.writes == [("PATCH", up["pulp_href"], {"client_key": "KEY"})]
    assert out["diff"] == {"before": {"name": "central", "client_key": "is not set"},
                           "after": {"name": "central", "client_key": "is set"}}


def test_check_mode_predicts_the_same_diff_and_writes_nothing():
    wanted = {"base_url": "https://elsewhere", "tls_validation": False, "password": SECRET}
    real_client, check_client = FakeClient(), FakeClient()
    upstream(real_client)
    upstream(check_client)
    predicted = ensure(EnsureContext(check_client, check_mode=True), UPSTREAM_PULP, "central", wanted)
    done = ensure(EnsureContext(real_client), UPSTREAM_PULP, "central", wanted)
    assert check_client.writes == []
    assert predicted["changed"] is done["changed"] is True
    assert predicted["diff"] == done["diff"]


def test_check_mode_delete_writes_nothing():
    client = FakeClient()
    upstream(client)
    out = ensure(EnsureContext(client, check_mode=True), UPSTREAM_PULP, "central", {}, state="absent")
    assert out["changed"] is True and out["after"] is None
    assert client.writes == []


def test_an_option_the_server_is_too_old_for_fails_before_any_read_write():
    client = FakeClient(version=(3, 70, 0))
    with pytest.raises(PulpError) as err:
        ensure(EnsureContext(client), UPSTREAM_PULP, "central", {"base_url": "https://up", "policy": "labeled"})
    assert "policy" in err.value.message and "3, 70, 0" in err.value.message
    assert client.writes == []


def test_create_without_a_required_option_names_it():
    client = FakeClient()
    with pytest.raises(PulpError) as err:
        ensure(EnsureContext(client), UPSTREAM_PULP, "central", {"policy": "all"})
    assert "base_url" in err.value.message
    assert client.writes == []


def test_distribution_references_are_resolved_and_unknown_ones_refused():
    client = FakeClient()
    repo = client.add("repositories/file/file/", {"name": "tools", "versions_href": "/v/"})
    entity = distribution_entity(client, "file")
    out = ensure(EnsureContext(client), entity, "tools", {"base_path": "tools", "repository": "tools"})
    assert client.writes[0][2]["repository"] == repo["pulp_href"]
    assert out["after"]["repository"] == repo["pulp_href"]
    with pytest.raises(PulpError) as err:
        ensure(EnsureContext(client), entity, "other", {"base_path": "other", "repository": "nope"})
    assert "repository 'nope'" in err.value.message
    assert len(client.writes) == 1


def test_a_taken_base_path_names_its_holder():
    client = FakeClient()
    client.add("distributions/file/file/", {"name": "holder", "base_path": "bp"})
    entity = distribution_entity(client, "file")
    with pytest.raises(PulpError) as err:
        ensure(EnsureContext(client), entity, "newcomer", {"base_path": "bp"})
    assert "'holder'" in err.value.message and "base_path 'bp'" in err.value.message
    assert client.writes == []


def test_match_base_path_renames_in_place_with_a_patch_of_the_name_only():
    client = FakeClient()
    dist = client.add("distributions/file/file/", {"name": "old", "base_path": "bp", "repository": None})
    entity = distribution_entity(client, "file")
    out = ensure(EnsureContext(client), entity, "new", {"base_path": "bp"}, match="base_path")
    assert client.writes == [("PATCH", dist["pulp_href"], {"name": "new"})]
    assert out["diff"] == {"before": {"name": "old", "base_path": "bp"}, "after": {"name": "new", "base_path": "bp"}}


def test_rename_onto_a_taken_name_is_refused():
    client = FakeClient()
    client.add("distributions/file/file/", {"name": "old", "base_path": "bp"})
    client.add("distributions/file/file/", {"name": "new", "base_path": "elsewhere"})
    entity = distribution_entity(client, "file")
    with pytest.raises(PulpError) as err:
        ensure(EnsureContext(client), entity, "new", {"base_path": "bp"}, match="base_path")
    assert "'new'" in err.value.message and "elsewhere" in err.value.message
    assert client.writes == []


def test_a_plugin_the_server_lacks_is_a_clear_error():
    client = FakeClient()
    with pytest.raises(PulpError) as err:
        distribution_entity(client, "rpm")
    assert "'rpm'" in err.value.message and "distributions/rpm/rpm/" in err.value.message


def test_distribution_endpoints_per_type():
    assert distribution_paths("file") == ("distributions/file/file/", "repositories/file/file/",
                                          "publications/file/file/")
    assert distribution_paths("container")[0] == "distributions/container/container/"
    assert distribution_paths("deb")[0] == "distributions/deb/apt/"
    assert distribution_paths("python")[1] == "repositories/python/python/"
    assert distribution_paths("ostree/ostree")[0] == "distributions/ostree/ostree/"
    assert distribution_paths("file/") == distribution_paths("file")
    assert distribution_paths("/deb/apt")[0] == "distributions/deb/apt/"


def test_a_type_that_names_no_endpoint_is_a_clear_error():
    for bad in ("/", "", "deb//apt", "a/b/c", " / "):
        with pytest.raises(PulpError) as err:
            distribution_paths(bad)
        assert err.value.message.startswith("type must be a plugin name such as 'file'"), bad


def test_a_base_url_with_credentials_is_shown_without_them():
    from ansible_collections.pulpops.replication.plugins.module_utils.entity import redact
    shown = redact(UPSTREAM_PULP, {"name": "up", "base_url": "https://sync:%s@central.example.com" % SECRET,
                                   "hidden_fields": [{"name": "password", "is_set": True}]})
    assert shown["base_url"] == "https://***@central.example.com" and SECRET not in repr(shown)
    assert shown["password"] == "is set"


def test_repository_version_by_name_and_number():
    client = FakeClient()
    client.add("repositories/file/file/", {"name": "tools", "versions_href": "/v/tools/"})
    client.objects["/v/tools/2/"] = {"pulp_href": "/v/tools/2/", "number": 2}
    entity = distribution_entity(client, "file")
    ensure(EnsureContext(client), entity, "d", {"base_path": "d", "repository_version": "tools/2"})
    assert client.writes[0][2]["repository_version"] == "/v/tools/2/"
    with pytest.raises(PulpError) as err:
        ensure(EnsureContext(client), entity, "e", {"base_path": "e", "repository_version": "tools/9"})
    assert "tools/9" in err.value.message
