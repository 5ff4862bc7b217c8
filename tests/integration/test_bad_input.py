"""Bad input sweep: every module option given a wrong type or an impossible value.

Given a downstream domain holding an UpstreamPulp, a distribution and a lock guard,
when each module runs (through ansible-playbook) with one option of a wrong type or
an impossible value, then the task fails with one line that names the option (or the
object it could not find), and the domain's objects are exactly what they were.

The connection options are the same code in every module (PulpModule), so each of
them is swept on ``distribution``; every other module also gets a malformed
``pulp_url``, an unknown ``pulp_domain`` and a negative ``request_timeout``.

The test writes what it tried (option, value, message) to docs/bad-input-report.md
(names that change from run to run are replaced by placeholders, so the file is stable).
"""

import concurrent.futures
import json
import os
import re

import yaml

from tests.conftest import REPO
from tests.integration.harness import make_upstream_pulp, run_play, unique

REPORT = os.path.join(REPO, "docs", "bad-input-report.md")
MODULES = ("upstream_pulp", "distribution", "replicate", "domain_lock", "replica_audit")
LIST = ["x1", "y2"]  # no letter of the messages: secrets given this are masked in the output
NO_FILE = "/nonexistent/bad-input/file.pem"
NO_DIR_FILE = "/nonexistent/bad-input/report.out"
URL_SECRET = "Zq9-url-secret"  # a password written into a URL: refused, and masked wherever it would show

# (option, value, extra options, words of which the message must hold one). None: the option's name.
CONNECTION_CASES = [
    ("pulp_url", LIST, {}, None),
    ("pulp_url", "not a url", {}, None),
    ("pulp_url", "ftp://127.0.0.1:21", {}, None),
    ("pulp_url", "http://admin:%s@127.0.0.1:24827" % URL_SECRET, {}, None),
    ("pulp_url", "http://127.0.0.1:99999", {}, None),
    ("pulp_url", "http://[::1", {}, None),
    ("username", LIST, {}, None),
    ("password", LIST, {}, None),
    ("password", "wrong-password", {}, ["password"]),
    ("password", "wrong-p\u00e4ssw\u20acrd", {}, ["password"]),
    ("validate_certs", "maybe", {}, None),
    ("ca_cert", LIST, {}, None),
    ("ca_cert", NO_FILE, {}, None),
    ("client_cert", LIST, {}, None),
    ("client_cert", NO_FILE, {}, None),
    ("client_key", LIST, {}, None),
    ("client_key", NO_FILE, {}, None),
    ("pulp_domain", LIST, {}, None),
    ("pulp_domain", "no-such-domain", {}, None),
    ("pulp_api_root", LIST, {}, None),
    ("pulp_api_root", "/nope/", {}, ["/nope/"]),
    ("request_timeout", "abc", {}, None),
    ("request_timeout", -1, {}, None),
    ("request_timeout", 0, {}, None),
]
# The options of the modules that read the upstream themselves (replicate, replica_audit).
UPSTREAM_READ_CASES = [
    ("upstream", LIST, {}, None),
    ("upstream", "no-such-upstream", {}, None),
    ("upstream_username", LIST, {}, None),
    ("upstream_password", LIST, {}, None),
    ("upstream_validate_certs", "maybe", {}, None),
    ("upstream_ca_cert", LIST, {}, None),
    ("upstream_ca_cert", NO_FILE, {}, None),
    ("upstream_client_cert", LIST, {}, None),
    ("upstream_client_cert", NO_FILE, {}, None),
    ("upstream_client_key", LIST, {}, None),
    ("upstream_client_key", NO_FILE, {}, None),
]
EVERY_MODULE_CASES = [
    ("pulp_url", "not a url", {}, None),
    ("pulp_domain", "no-such-domain", {}, None),
    ("request_timeout", -1, {}, None),
]

CASES = {
    "upstream_pulp": [
        ("name", LIST, {}, None),
        ("name", "no-such-upstream", {}, ["base_url"]),
        ("state", "bogus", {}, None),
        ("base_url", LIST, {}, None),
        ("base_url", "not a url", {}, None),
        ("base_url", "https://sync:%s@central.example.com" % URL_SECRET, {}, None),
        ("api_root", LIST, {}, None),
        ("domain", LIST, {}, None),
        ("upstream_username", LIST, {}, None),
        ("upstream_password", LIST, {}, None),
        ("upstream_ca_cert", LIST, {}, None),
        ("upstream_client_cert", LIST, {}, None),
        ("upstream_client_key", LIST, {}, None),
        ("tls_validation", "maybe", {}, None),
        ("policy", "bogus", {}, None),
        ("q_select", LIST, {}, None),
        ("download_concurrency", "abc", {}, None),
        ("download_concurrency", -3, {}, None),
        ("max_retries", "abc", {}, None),
        ("max_retries", -1, {}, None),
        ("total_timeout", "abc", {}, None),
        ("total_timeout", -3.0, {}, None),
        ("connect_timeout", "abc", {}, None),
        ("connect_timeout", -1.0, {}, None),
        ("sock_connect_timeout", "abc", {}, None),
        ("sock_connect_timeout", -1.0, {}, None),
        ("sock_read_timeout", "abc", {}, None),
        ("sock_read_timeout", -1.0, {}, None),
        ("update_password", "bogus", {}, None),
    ],
    "distribution": [
        ("name", LIST, {}, None),
        ("type", LIST, {}, None),
        ("type", "nosuchtype", {}, None),
        ("type", "/", {}, None),
        ("base_path", LIST, {}, None),
        ("pulp_labels", "notadict", {}, None),
        ("pulp_labels", {"key": ["not", "a", "string"]}, {}, None),
        ("pulp_labels", {"env": 1}, {}, None),
        ("repository", LIST, {}, None),
        ("repository", "no-such-repository", {}, None),
        ("repository_version", LIST, {}, None),
        ("repository_version", "no-such-repository/3", {}, None),
        ("publication", LIST, {}, None),
        ("publication", "/pulp/no-such/api/v3/publications/file/file/0/", {}, None),
        ("content_guard", LIST, {}, None),
        ("content_guard", "no-such-guard", {}, None),
        ("state", "bogus", {}, None),
        ("match", "bogus", {}, None),
    ] + CONNECTION_CASES,
    "replicate": UPSTREAM_READ_CASES + [
        ("base_url", LIST, {}, None),
        ("base_url", "not a url", {}, None),
        ("api_root", LIST, {}, None),
        ("domain", LIST, {}, None),
        ("policy", "bogus", {}, None),
        ("q_select", LIST, {}, None),
        ("q_select", "name=(", {}, ["q_select", "q: Syntax error"]),
        ("q_select", "", {}, None),
        ("wait", "maybe", {}, None),
        ("timeout", "abc", {}, None),
        ("timeout", -1, {}, None),
        ("poll_interval", "abc", {}, None),
        ("poll_interval", 0, {}, None),
        ("mode", "bogus", {}, None),
        ("skip_unchanged", "maybe", {}, None),
        ("record_tag", LIST, {}, None),
        ("fingerprints", "notadict", {}, None),
        ("reconcile", "maybe", {}, None),
        ("on_foreign", "bogus", {}, None),
        ("force_resync", "maybe", {}, None),
    ] + EVERY_MODULE_CASES,
    "domain_lock": [
        ("state", "bogus", {}, None),
        ("lock_name", LIST, {}, None),
        ("owner", LIST, {}, None),
        ("ttl", "abc", {}, None),
        ("ttl", 0, {}, None),
        ("ttl", -5, {}, None),
        ("timeout", "abc", {}, None),
        ("timeout", -1, {}, None),
        ("poll_interval", "abc", {}, None),
        ("poll_interval", 0, {}, None),
        ("force", "maybe", {}, None),
        ("lock_href", LIST, {"state": "released"}, None),
        ("lock_href", "/pulp/api/v3/contentguards/core/content_redirect/0001/", {}, ["state=released"]),
        ("lock_href", "/pulp/api/v3/distributions/file/file/0001/", {"state": "released"}, None),
    ] + EVERY_MODULE_CASES,
    "replica_audit": UPSTREAM_READ_CASES + [
        ("q_select", LIST, {}, None),
        ("q_select", "name=(", {}, ["q_select", "q: Syntax error"]),
        ("check_content", "maybe", {}, None),
        ("content_names", {"x1": "y2"}, {}, None),
        ("skipped_names", {"x1": "y2"}, {}, None),
        ("parallel", "abc", {}, None),
        ("parallel", 0, {}, None),
        ("parallel", -2, {}, None),
        ("report_path", LIST, {}, None),
        ("report_path", NO_DIR_FILE, {}, None),
        ("report_path", "/tmp", {}, None),
        ("junit_path", LIST, {}, None),
        ("junit_path", NO_DIR_FILE, {}, None),
        ("fail_on_difference", "maybe", {}, None),
    ] + EVERY_MODULE_CASES,
}

SNAPSHOT_ENDPOINTS = ("distributions/", "repositories/", "remotes/", "publications/", "upstream-pulps/",
                      "contentguards/")


def snapshot(client):
    """Every object of the domain that a module could touch, by href."""
    objects = {}
    for endpoint in SNAPSHOT_ENDPOINTS:
        for item in client.list_all(endpoint):
            objects[item["pulp_href"]] = item
    return objects


def base_options(module, lab, domain, upstream_name):
    conn = lab.connection(domain)
    upstream_login = {"upstream_username": lab.username, "upstream_password": lab.password}
    return {
        "upstream_pulp": dict(conn, name=upstream_name),
        "distribution": dict(conn, name="bad-input-dist", base_path="bad-input-dist"),
        "replicate": dict(conn, upstream=upstream_name, **upstream_login),
        "domain_lock": dict(conn, lock_name="bad-input-lock", owner="bad-input", ttl=60, timeout=0),
        "replica_audit": dict(conn, upstream=upstream_name, **upstream_login),
    }[module]


def run_module_cases(module, lab, domain, upstream_name):
    tasks = []
    for option, value, extra, _words in CASES[module]:
        options = base_options(module, lab, domain, upstream_name)
        options.update(extra)
        options[option] = value
        tasks.append({"name": "%s %s=%s" % (module, option, json.dumps(value)), "timeout": 300,
                      "pulpops.replication." + module: options})
    return run_play(tasks, env={"ANSIBLE_PIPELINING": "1"})


def documented_options(module):
    """The options of a module's DOCUMENTATION (sanity keeps it equal to the argument_spec), fragments included."""
    source = open(os.path.join(REPO, "plugins", "modules", module + ".py")).read()
    doc = yaml.safe_load(re.search(r'DOCUMENTATION = r?"""(.*?)"""', source, re.S).group(1))
    options = set(doc["options"])
    if "pulpops.replication.connection" in doc.get("extends_documentation_fragment", []):
        fragment = open(os.path.join(REPO, "plugins", "doc_fragments", "connection.py")).read()
        options |= set(yaml.safe_load(re.search(r'DOCUMENTATION = r?"""(.*?)"""', fragment, re.S).group(1))["options"])
    return options


def test_the_sweep_covers_every_option_of_every_module():
    """Given each module's documented options, every one of them is in the sweep (connection options on distribution)."""
    connection = {case[0] for case in CONNECTION_CASES}
    for module in MODULES:
        swept = {case[0] for case in CASES[module]}
        missing = documented_options(module) - swept - (connection if module != "distribution" else set())
        assert not missing, "%s: options not in the bad-input sweep: %s" % (module, sorted(missing))


def placeholders(text, lab, domain, upstream_name):
    # Ansible lists the valid booleans from a set, in a different order each run.
    text = re.sub(r"Valid booleans include: .*", "Valid booleans include: ...", text)
    for real, mark in ((upstream_name, "<upstream>"), (domain, "<domain>"), (lab.downstream_url, "<downstream>"),
                       (lab.upstream_url, "<upstream-url>")):
        text = text.replace(real, mark)
    return text


def write_report(rows):
    lines = [
        "# Bad input sweep: what was tried",
        "",
        "Generated by `tests/integration/test_bad_input.py` (do not edit; rerun the test to refresh):",
        "`.venv/bin/python -m pytest tests/integration/test_bad_input.py`. Each row is one task run through",
        "`ansible-playbook` against the lab's downstream, in a domain holding an UpstreamPulp, a distribution",
        "and a lock guard. Every row failed with the message shown, and a snapshot of the domain's",
        "distributions, repositories, remotes, publications, UpstreamPulps and content guards taken",
        "before and after the sweep was identical. The connection options are shared code",
        "(`PulpModule`), swept in full on `distribution`.",
    ]
    lines += ["", "## What was tried", "", "| Module | Option | Value | Failed | Message |", "| --- | --- | --- | --- | --- |"]
    for module, option, value, failed, message in rows:
        lines.append("| %s | %s | `%s` | %s | %s |" % (module, option, json.dumps(value), "yes" if failed else "**no**",
                                                       message.replace("|", "\\|")))
    lines.append("")
    with open(REPORT, "w") as handle:
        handle.write("\n".join(lines))


def test_every_option_with_bad_input_fails_clearly_and_changes_nothing(lab, domains, downstream):
    upstream_name = unique("bad-up")
    make_upstream_pulp(lab, downstream, domains, name=upstream_name)
    downstream.task_result(downstream.post("distributions/file/file/", {"name": "kept", "base_path": "kept"}))
    downstream.post("contentguards/core/content_redirect/", {"name": "kept-guard"})
    before = snapshot(downstream)

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(MODULES)) as pool:
        plays = dict(zip(MODULES, pool.map(lambda m: run_module_cases(m, lab, domains, upstream_name), MODULES)))

    after = snapshot(downstream)
    rows, problems = [], []
    for module in MODULES:
        play = plays[module]
        assert len(play.results) == len(CASES[module]), play
        for (option, value, _extra, words), result in zip(CASES[module], play.results):
            message = str(result.get("msg", ""))
            rows.append((module, option, value, bool(result.get("failed")),
                         placeholders(message, lab, domains, upstream_name)))
            words = words or [option]
            if not result.get("failed"):
                problems.append("%s %s=%r did not fail" % (module, option, value))
            elif "\n" in message.strip() or not any(word in message for word in words):
                problems.append("%s %s=%r: message does not name %s in one line: %r"
                                % (module, option, value, words, message))
            elif "Unexpected error" in message or "Traceback" in message:
                problems.append("%s %s=%r: unexpected error: %r" % (module, option, value, message))
            if "lab-admin-password" in json.dumps(result) or URL_SECRET in json.dumps(result):
                problems.append("%s %s=%r: the password shows in the result" % (module, option, value))
    write_report(rows)
    assert not problems, "\n".join(problems)
    assert after == before
    assert not os.path.exists(os.path.dirname(NO_DIR_FILE))
