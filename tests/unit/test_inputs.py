"""Input checks made before any request (plugins/module_utils/inputs.py)."""

from ansible_collections.pulpops.replication.plugins.module_utils import inputs
from ansible_collections.pulpops.replication.plugins.module_utils.client import PulpError

SPEC = {"name": {"type": "str"}, "ca_cert": {"type": "path"}, "labels": {"type": "dict"}, "count": {"type": "int"}}
GOOD = {"pulp_url": "https://pulp.example.com", "request_timeout": 60}


def test_a_list_or_dict_given_to_a_string_option_is_named():
    errors = inputs.input_errors(GOOD, SPEC, raw={"name": ["a", "b"], "ca_cert": {"k": 1}, "labels": {"k": "v"}})
    assert errors == ["ca_cert must be a string, got a dict", "name must be a string, got a list"]


def test_numbers_that_cannot_be_are_named():
    params = dict(GOOD, request_timeout=0, count=-1, ttl=5)
    errors = inputs.input_errors(params, SPEC, positive=("request_timeout", "ttl"), non_negative=("count",))
    assert errors == ["request_timeout must be greater than 0, got 0", "count must be 0 or more, got -1"]


def test_urls_must_be_http_with_a_host():
    for bad in ("not a url", "ftp://host", "https://", "pulp.example.com"):
        assert inputs.input_errors(dict(GOOD, pulp_url=bad), {}) == [
            "pulp_url must be an http:// or https:// URL such as https://pulp.example.com, got %r" % bad]
    assert inputs.input_errors(dict(GOOD, base_url="http://up:24817"), {}, urls=("base_url",)) == []


def test_files_must_exist_and_report_directories_too(tmp_path):
    present = tmp_path / "ca.pem"
    present.write_text("pem")
    params = dict(GOOD, ca_cert=str(present), client_key=str(tmp_path / "missing.pem"),
                  report_path=str(tmp_path / "no" / "r.json"), junit_path=str(tmp_path / "j.xml"))
    errors = inputs.input_errors(params, {}, out_dirs=("report_path", "junit_path"))
    assert errors == ["client_key: no such file %r" % str(tmp_path / "missing.pem"),
                      "report_path: directory %r does not exist" % str(tmp_path / "no")]


def test_a_failure_in_a_missing_domain_names_the_domain(monkeypatch):
    monkeypatch.setattr(inputs, "missing_domain", lambda params: "pulp_domain: no domain 'x' on u; create it first")

    def run(module):
        raise PulpError("The server at u has no 'file' distributions")

    try:
        inputs.domain_aware(run)(type("M", (), {"params": {"pulp_domain": "x"}})())
    except PulpError as exc:
        assert exc.message == "pulp_domain: no domain 'x' on u; create it first"
    else:
        raise AssertionError("no error")


def test_a_failure_in_an_existing_domain_is_left_as_it_is(monkeypatch):
    monkeypatch.setattr(inputs, "missing_domain", lambda params: None)

    def run(module):
        raise PulpError("original")

    try:
        inputs.domain_aware(run)(type("M", (), {"params": {"pulp_domain": "x"}})())
    except PulpError as exc:
        assert exc.message == "original"


def test_the_default_domain_is_never_looked_up():
    assert inputs.missing_domain({"pulp_domain": "default", "pulp_url": "http://nowhere.invalid"}) is None
