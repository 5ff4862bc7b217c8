"""replica_audit against the real lab: exact replicas and every kind of drift."""

import json
import xml.etree.ElementTree as ET

import pytest

from tests.integration.harness import bare_replicate, make_upstream_pulp, run_play


def audit_task(lab, domain, upstream_name, **options):
    task = dict(lab.connection(domain), upstream=upstream_name, upstream_username=lab.username,
                upstream_password=lab.password)
    task.update(options)
    return {"pulpops.replication.replica_audit": task}


@pytest.fixture
def replica(lab, domains, downstream):
    """Given an upstream with four published distributions, replicated once into the downstream."""
    lab.seed(domains, count=4, prefix="dist-")
    server = make_upstream_pulp(lab, downstream, domains, policy="labeled")
    tasks = bare_replicate(downstream, server["pulp_href"])
    assert all(t["state"] == "completed" for t in tasks)
    return server


def test_an_exact_replica_reports_zero_differences(lab, domains, replica, tmp_path):
    report, xml = str(tmp_path / "report.json"), str(tmp_path / "junit.xml")
    play = run_play([audit_task(lab, domains, replica["name"], report_path=report, junit_path=xml)], check=True)
    result = play[0]
    assert result.get("failed") is not True, play
    assert result["exact"] is True
    assert result["changed"] is False
    assert result["differences"] == []
    assert result["distributions"] == 4
    with open(report) as handle:
        assert json.load(handle)["exact"] is True
    suite = ET.parse(xml).getroot()
    assert suite.get("tests") == "4" and suite.get("failures") == "0"


@pytest.mark.versions
def test_each_kind_of_drift_is_reported_with_its_name(lab, domains, upstream, downstream, replica, tmp_path):
    # missing: a new upstream distribution that was never replicated
    lab.seed(domains, count=1, prefix="dist-", start=5)
    # stale: new content published upstream for dist-0001
    lab.seed(domains, count=1, prefix="dist-", start=1)
    # extra: dist-0002 removed upstream
    gone = upstream.find("distributions/file/file/", name="dist-0002")
    upstream.task_result(upstream.delete(gone["pulp_href"]))
    # dangling: the downstream repository of dist-0003 deleted by hand
    repo = downstream.find("repositories/file/file/", name="dist-0003")
    downstream.task_result(downstream.delete(repo["pulp_href"]))
    # foreign + unserved: dist-0004 loses its owner label and is pointed at an empty repository
    dist4 = downstream.find("distributions/file/file/", name="dist-0004")
    downstream.post(dist4["pulp_href"] + "unset_label/", {"key": "UpstreamPulp"})
    empty = downstream.post("repositories/file/file/", {"name": "hand-made-empty"})
    repoint = {"repository": empty["pulp_href"]}
    if "repository_version" in dist4:  # pulpcore 3.107+ pins a version, which must be cleared
        repoint["repository_version"] = None
    downstream.task_result(downstream.patch(dist4["pulp_href"], repoint))

    xml = str(tmp_path / "junit.xml")
    play = run_play([audit_task(lab, domains, replica["name"], junit_path=xml, fail_on_difference=True)])
    result = play[0]
    assert result["failed"] is True
    assert "not exact" in result["msg"]
    found = {(d["kind"], d["name"]) for d in result["differences"]}
    assert ("missing", "dist-0005") in found
    assert ("stale", "dist-0001") in found
    assert ("extra", "dist-0002") in found
    assert ("dangling", "dist-0003") in found
    assert ("foreign", "dist-0004") in found
    assert ("unserved", "dist-0004") in found
    assert result["exact"] is False
    assert any("dist-0005" in line for line in result["table"])
    failures = {case.get("name") for case in ET.parse(xml).getroot() if case.find("failure") is not None}
    assert "dist-0001 (dist-0001)" in failures and "dist-0005 (dist-0005)" in failures


def test_unknown_upstream_pulp_is_a_clear_error(lab, domains):
    play = run_play([audit_task(lab, domains, "no-such-upstream")])
    assert play[0]["failed"] is True
    assert "no UpstreamPulp named 'no-such-upstream'" in play[0]["msg"]
    assert lab.password not in play.output


def test_content_names_narrow_the_content_comparison(lab, domains, replica):
    # stale: new content published upstream for dist-0001 (not replicated)
    lab.seed(domains, count=1, prefix="dist-", start=1)
    others = run_play([audit_task(lab, domains, replica["name"], content_names=["dist-0002", "dist-0003"])])[0]
    assert others.get("failed") is not True, others
    assert others["exact"] is True, others["differences"]
    assert others["distributions"] == 4 and others["content_checked"] == 2
    named = run_play([audit_task(lab, domains, replica["name"], content_names=["dist-0001"])])[0]
    assert named["content_checked"] == 1
    assert {(d["kind"], d["name"]) for d in named["differences"]} == {("stale", "dist-0001")}, named["differences"]
