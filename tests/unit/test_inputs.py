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
    present.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
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


def test_credentials_in_a_url_are_refused_without_repeating_them():
    for option, value in (("pulp_url", "https://admin:S3cret@pulp.example.com"),
                          ("base_url", "http://u:p@ss:Zq9x@up.example.com:24817/")):
        errors = inputs.input_errors(dict(GOOD, **{option: value}), {}, urls=("base_url",))
        assert errors == ["%s must not hold credentials (user:password@ before the host): they would show in "
                          "messages and logs; give them in the username and password options" % option]
        assert "S3cret" not in errors[0] and "Zq9x" not in errors[0] and "ss:" not in errors[0]


def test_a_password_that_breaks_the_url_is_not_repeated_in_the_message():
    for password in ("Zq9x/Pw", "Zq9x#Pw", "Zq9x?Pw"):
        errors = inputs.input_errors(dict(GOOD, pulp_url="http://admin:%s@127.0.0.1:9" % password), {})
        assert len(errors) == 1 and errors[0].startswith("pulp_url "), errors
        assert "Zq9" not in errors[0], errors


def test_urls_a_client_cannot_use_are_named_not_a_crash():
    cases = {"http://[::1": "Invalid IPv6 URL", "https://h:99999": "out of range", "https://h:abc": "h:abc",
             "https://admin:S3cret@h:99999": "***@h:99999"}
    for value, part in cases.items():
        errors = inputs.input_errors(dict(GOOD, pulp_url=value), {})
        assert len(errors) == 1 and errors[0].startswith("pulp_url ") and part in errors[0], errors
        assert "S3cret" not in errors[0]
    assert inputs.input_errors(dict(GOOD, pulp_url="https://h:0"), {}) == ["pulp_url: port 0 is not a usable port, got 'https://h:0'"]
    assert inputs.input_errors(dict(GOOD, pulp_url="http://[::1]:24817"), {}) == []


def test_label_values_must_be_strings():
    params = dict(GOOD, pulp_labels={"env": 1, "team": "a", "on": True})
    assert inputs.input_errors(params, {}) == ["pulp_labels.env must be a string, got int 1: quote it",
                                               "pulp_labels.on must be a string, got bool True: quote it"]
    assert inputs.input_errors(dict(GOOD, pulp_labels={"env": "1", "flag": None}), {}) == []  # pulpcore allows null
    assert inputs.input_errors(dict(GOOD, pulp_labels={"k": ["a"]}), {}) == [
        "pulp_labels.k must be a string, got list ['a']"]


def test_an_output_path_that_is_a_directory_is_named(tmp_path):
    errors = inputs.input_errors(dict(GOOD, report_path=str(tmp_path)), {}, out_dirs=("report_path",))
    assert errors == ["report_path: %r is a directory; give the path of a file to write" % str(tmp_path)]


def test_an_empty_option_that_must_not_be_is_named():
    for empty in ("", "  "):
        assert inputs.input_errors(dict(GOOD, q_select=empty), {}, non_empty=("q_select",)) == [
            "q_select must not be empty: omit it instead"]
    assert inputs.input_errors(dict(GOOD, q_select='name="a"'), {}, non_empty=("q_select",)) == []
    assert inputs.input_errors(dict(GOOD), {}, non_empty=("q_select",)) == []


def test_a_ca_file_that_is_not_pem_is_named_before_any_request(tmp_path):
    not_pem = tmp_path / "ca.txt"
    not_pem.write_text("just text")
    errors = inputs.input_errors(dict(GOOD, ca_cert=str(not_pem)), {})
    assert errors == ["ca_cert: %r is not a PEM certificate file (no -----BEGIN CERTIFICATE-----)" % str(not_pem)]


def test_upstream_ca_cert_takes_pem_text_or_a_pem_file_and_names_anything_else(tmp_path):
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    as_file = tmp_path / "up-ca.pem"
    as_file.write_text(pem)
    for value in (pem, str(as_file)):
        assert inputs.input_errors(dict(GOOD, upstream_ca_cert=value), {}, pems=inputs.UPSTREAM_READ_PEMS) == []
    assert inputs.input_errors(dict(GOOD, upstream_ca_cert=str(tmp_path / "gone.pem")), {},
                               pems=inputs.UPSTREAM_READ_PEMS) == ["upstream_ca_cert: no such file %r" % str(tmp_path / "gone.pem")]
    assert inputs.input_errors(dict(GOOD, upstream_ca_cert="-----BEGIN RSA PRIVATE KEY-----\nx\n-----END RSA PRIVATE KEY-----"),
                               {}, pems=inputs.UPSTREAM_READ_PEMS) == ["upstream_ca_cert holds text that is not a PEM certificate"]
    key = tmp_path / "k.pem"
    key.write_text(pem)  # a certificate where a key belongs
    assert inputs.input_errors(dict(GOOD, client_key=str(key)), {}) == [
        "client_key: %r is not a PEM key file (no PRIVATE KEY-----)" % str(key)]
