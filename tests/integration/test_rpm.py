"""RPM and mixed plugin types through the replica role, against real servers with pulp_rpm.

Given an upstream domain with rpm and file distributions, when the role runs, then every base_path
of the downstream serves the upstream's metadata byte for byte (repodata/repomd.xml, PULP_MANIFEST),
a package the metadata lists downloads from the downstream, and a rerun changes nothing.
"""

import xml.etree.ElementTree as ET

import pytest
import requests

from tests.integration.harness import ServingWatch, changed_tasks, role_vars, run_play, run_role, unique

INDEX = {"rpm/rpm": "repodata/repomd.xml", "file/file": "PULP_MANIFEST"}
REPO_NS = "{http://linux.duke.edu/metadata/repo}"


@pytest.fixture
def rpm_lab(lab):
    if not (lab.has_plugin("upstream", "rpm") and lab.has_plugin("downstream", "rpm")):
        pytest.skip("this lab runs without pulp_rpm (PULPLAB_PLUGINS)")
    return lab


def distributions(client):
    """{name: (type, base_path)} of a domain's rpm and file distributions."""
    found = {}
    for type_path in INDEX:
        for dist in client.list_all("distributions/%s/" % type_path):
            found[dist["name"]] = (type_path, dist["base_path"])
    return found


def index_bytes(lab, side, domain, type_path, base_path):
    answer = requests.get(lab.content_url(side, domain, base_path, INDEX[type_path]), timeout=10)
    assert answer.status_code == 200, (side, base_path, answer.status_code)
    return answer.content


def assert_serves_like_upstream(lab, domain, upstream, downstream):
    wanted = distributions(upstream)
    assert distributions(downstream) == wanted
    for name, (type_path, base_path) in wanted.items():
        assert index_bytes(lab, "downstream", domain, type_path, base_path) == \
            index_bytes(lab, "upstream", domain, type_path, base_path), name


def a_package_url(lab, domain, base_path):
    """The downstream URL of a package listed in the served primary metadata (the lab's repos are uncompressed or gz)."""
    import gzip

    repomd = ET.fromstring(index_bytes(lab, "downstream", domain, "rpm/rpm", base_path))
    href = [d.find(REPO_NS + "location").get("href") for d in repomd.findall(REPO_NS + "data")
            if d.get("type") == "primary"][0]
    body = requests.get(lab.content_url("downstream", domain, base_path, href), timeout=10).content
    primary = ET.fromstring(gzip.decompress(body) if href.endswith(".gz") else body)
    location = primary.find("{http://linux.duke.edu/metadata/common}package/{http://linux.duke.edu/metadata/common}location")
    return lab.content_url("downstream", domain, base_path, location.get("href"))


def assert_exact(outcome):
    assert outcome["failed"] is False, (outcome["msg"], outcome["task"], outcome["output"][-4000:])
    audit = outcome["replica_result"]["audit"]
    assert audit and sum(audit.values()) == 0, audit


@pytest.fixture
def mixed(rpm_lab, domains):
    """An upstream domain with two file and two rpm distributions, replicated once by the role."""
    rpm_lab.seed(domains, count=4, prefix="mx-", kind="mixed")
    variables = role_vars(rpm_lab, domains, unique("up"))
    return variables


def test_a_mixed_domain_replicates_serves_a_package_reruns_unchanged_as_check_mode_predicted(
        rpm_lab, domains, upstream, downstream, mixed):
    predicted = run_role(mixed, check=True)
    assert predicted["failed"] is False, predicted["output"][-3000:]
    plan = predicted["replica_result"]["plan"]
    assert plan["create"]["distributions"] == ["mx-file-0001", "mx-file-0002", "mx-rpm-0001", "mx-rpm-0002"]

    first = run_role(mixed)
    assert_exact(first)
    for key in ("create", "update", "rename", "delete"):
        assert first["replica_result"]["changes"][key] == plan[key], key
    assert_serves_like_upstream(rpm_lab, domains, upstream, downstream)
    package = requests.get(a_package_url(rpm_lab, domains, "mx-rpm-0001"), timeout=10)
    assert package.status_code == 200 and package.content[:4] == b"\xed\xab\xee\xdb", "an RPM file (lead magic)"

    again = run_role(mixed)
    assert again["failed"] is False and "nothing changed" in again["replica_result"]["skipped_reason"]
    assert changed_tasks(again["output"]) == 0


def test_a_new_package_upstream_is_replicated_and_served(rpm_lab, domains, upstream, downstream, mixed):
    assert_exact(run_role(mixed))
    before = index_bytes(rpm_lab, "downstream", domains, "rpm/rpm", "mx-rpm-0002")
    rpm_lab.seed(domains, count=1, prefix="mx-rpm-", kind="rpm", start=2)  # one more package, a new publication
    outcome = run_role(mixed)
    assert_exact(outcome)
    after = index_bytes(rpm_lab, "downstream", domains, "rpm/rpm", "mx-rpm-0002")
    assert after != before and after == index_bytes(rpm_lab, "upstream", domains, "rpm/rpm", "mx-rpm-0002")
    assert outcome["replica_result"]["changes"]["update"]["repositories"] == {"mx-rpm-0002": ["latest_version_href"]}


def test_an_rpm_and_a_file_distribution_trading_base_paths_are_unserved_only_between_two_moves(
        rpm_lab, domains, upstream, downstream, mixed):
    assert_exact(run_role(mixed))
    rpm = upstream.find("distributions/rpm/rpm/", name="mx-rpm-0001")
    fil = upstream.find("distributions/file/file/", name="mx-file-0001")
    for dist, path in ((rpm, "swap-tmp"), (fil, "mx-rpm-0001"), (rpm, "mx-file-0001")):
        upstream.task_result(upstream.patch(dist["pulp_href"], {"base_path": path}))
    # The base_path itself answers 200 (a listing) whichever type serves it.
    roots = [rpm_lab.content_url("downstream", domains, path) for path in ("mx-rpm-0001", "mx-file-0001")]
    with ServingWatch(roots) as watch:
        outcome = run_role(mixed)
    assert_exact(outcome)
    moves = [(s["action"], s["name"]) for s in outcome["replica_result"]["reconciled"]]
    assert moves and all(action == "move" for action, _name in moves), moves
    assert_serves_like_upstream(rpm_lab, domains, upstream, downstream)
    # A distribution's type is fixed and a base_path is unique across types: each base_path answers 404 between
    # the PATCH that moves one distribution away and the one that moves the other in (docs/concepts.md).
    assert watch.fetches > 10, watch.fetches
    assert watch.longest_gap() < 2.0, (watch.longest_gap(), watch.errors)
    assert len(watch.errors) <= 8, watch.errors


def test_an_rpm_distribution_renamed_upstream_keeps_serving(rpm_lab, domains, upstream, downstream, mixed):
    assert_exact(run_role(mixed))
    dist = upstream.find("distributions/rpm/rpm/", name="mx-rpm-0002")
    upstream.task_result(upstream.patch(dist["pulp_href"], {"name": "mx-rpm-renamed"}))
    url = rpm_lab.content_url("downstream", domains, "mx-rpm-0002", "repodata/repomd.xml")
    with ServingWatch([url]) as watch:
        outcome = run_role(mixed)
    assert_exact(outcome)
    assert distributions(downstream)["mx-rpm-renamed"] == ("rpm/rpm", "mx-rpm-0002")
    assert watch.fetches > 10 and watch.errors == []


def test_a_downstream_rpm_repository_deleted_by_hand_is_repaired(rpm_lab, domains, upstream, downstream, mixed):
    assert_exact(run_role(mixed))
    repo = downstream.find("repositories/rpm/rpm/", name="mx-rpm-0001")
    downstream.task_result(downstream.delete(repo["pulp_href"]))
    outcome = run_role(mixed)
    assert_exact(outcome)
    assert_serves_like_upstream(rpm_lab, domains, upstream, downstream)


def test_the_rpm_distribution_module_creates_renames_in_place_and_guards(rpm_lab, domains, downstream):
    rpm_lab.seed(domains, count=1, prefix="own-", kind="rpm", server="downstream")
    repo = downstream.find("repositories/rpm/rpm/", name="own-0001")
    connection = rpm_lab.connection(domains)
    guard = downstream.post("contentguards/core/content_redirect/", {"name": unique("guard")})
    steps = [
        {"pulpops.replication.distribution": dict(connection, type="rpm", name="el9", base_path="el9",
                                                  repository=repo["name"])},
        {"pulpops.replication.distribution": dict(connection, type="rpm", name="el9", base_path="el9",
                                                  repository=repo["name"])},
        {"pulpops.replication.distribution": dict(connection, type="rpm", name="el9-v2", base_path="el9",
                                                  match="base_path", content_guard=guard["name"])},
    ]
    created, again, renamed = run_play(steps).results
    assert created["changed"] is True and again["changed"] is False, (created, again)
    assert renamed["changed"] is True and renamed["distribution"]["name"] == "el9-v2"
    dist = downstream.find("distributions/rpm/rpm/", name="el9-v2")
    assert dist["base_path"] == "el9" and dist["content_guard"] == guard["pulp_href"]


@pytest.mark.missing_plugin
def test_a_downstream_without_pulp_rpm_names_the_rpm_distributions_then_fails_or_warns(lab, domains, upstream, downstream):
    if not lab.has_plugin("upstream", "rpm") or lab.has_plugin("downstream", "rpm"):
        pytest.skip("needs an upstream with pulp_rpm and a downstream without it (PULPLAB_DOWNSTREAM_PLUGINS=file)")
    lab.seed(domains, count=4, prefix="np-", kind="mixed")
    name = unique("up")
    refused = run_role(role_vars(lab, domains, name))  # replica_on_missing_plugin: fail, the default
    assert refused["failed"] is True and "Check" in refused["task"], refused["output"][-3000:]
    assert "np-rpm-0001" in refused["msg"] and "np-rpm-0002" in refused["msg"] and "rpm plugin" in refused["msg"]
    assert refused["replica_result"]["unreplicable"] == [
        {"plugin": "rpm", "type": "rpm/rpm", "distributions": ["np-rpm-0001", "np-rpm-0002"]}]
    assert downstream.list_all("distributions/file/file/") == [] and downstream.find("upstream-pulps/", name=name) is None

    warned = run_role(role_vars(lab, domains, name, replica_on_missing_plugin="warn"))
    assert warned["failed"] is False, warned["output"][-3000:]
    assert "cannot replicate" in warned["output"] and "np-rpm-0001" in warned["output"]
    assert sorted(d["name"] for d in downstream.list_all("distributions/file/file/")) == ["np-file-0001", "np-file-0002"]
    audit = warned["replica_result"]["audit"]
    assert audit["plugin"] == 1 and sum(v for k, v in audit.items() if k != "plugin") == 0, audit

    bad = run_play([{"pulpops.replication.distribution": dict(lab.connection(domains), type="rpm", name="el9",
                                                              base_path="el9")}]).results[0]
    assert bad["failed"] is True and bad["msg"].startswith("option 'type'") and "pulp_rpm" in bad["msg"], bad["msg"]
