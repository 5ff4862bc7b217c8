"""pulpops.replication.replicate against the two real lab servers.

Every scenario runs the module twice with the same options, first in check mode (the plan),
then for real, and checks that the plan's create/update/rename/delete equal the changes the
real run reports from its before/after snapshots.
"""

import os

import pytest
import requests

from tests.integration.harness import run_play

CHANGES = ("create", "update", "rename", "delete")


def make_upstream_pulp(lab, downstream, domain, policy="labeled"):
    # UpstreamPulp names are unique across domains: one per test domain.
    return downstream.post("upstream-pulps/", {
        "name": "up-" + domain, "base_url": lab.upstream_url, "api_root": "/pulp/", "domain": domain,
        "username": lab.username, "password": lab.password, "policy": policy})


def options(lab, domain, **extra):
    args = dict(lab.connection(domain), upstream="up-" + domain, upstream_username=lab.username,
                upstream_password=lab.password, poll_interval=1)
    args.update(extra)
    return args


def plan_then_run(lab, domain, diff=False, **extra):
    """(check-mode result, real result) of one replication."""
    args = options(lab, domain, **extra)
    play = run_play([{"pulpops.replication.replicate": args, "check_mode": True},
                     {"pulpops.replication.replicate": args}], diff=diff)
    assert len(play.results) == 2, play
    return play.results[0], play.results[1]


def assert_plan_matches(planned, real):
    assert not real.get("failed"), real.get("msg")
    for key in CHANGES:
        assert planned["plan"][key] == real["changes"][key], (key, planned["plan"][key], real["changes"][key])
    assert planned["changed"] == real["changed"]


def upstream_dist(upstream, name):
    return upstream.find("distributions/file/file/", name=name)


def patch_upstream(upstream, name, body):
    upstream.task_result(upstream.patch(upstream_dist(upstream, name)["pulp_href"], body))


def hand_made_distribution(downstream, name, base_path):
    downstream.task_result(downstream.post("distributions/file/file/", {"name": name, "base_path": base_path}))


@pytest.mark.versions
def test_plan_equals_outcome_through_first_run_rerun_and_upstream_changes(lab, domains, upstream, downstream):
    lab.seed(domains, 4, "d-")
    make_upstream_pulp(lab, downstream, domains)

    planned, real = plan_then_run(lab, domains, diff=True)
    assert planned["plan"]["create"]["distributions"] == ["d-0001", "d-0002", "d-0003", "d-0004"]
    assert_plan_matches(planned, real)
    assert real["task_group"] and real["durations"]["tasks"]
    assert sorted(real["diff"]["after"]) == ["d-0001", "d-0002", "d-0003", "d-0004"]
    assert planned["diff"]["before"] == {}

    planned, real = plan_then_run(lab, domains)
    assert planned["changed"] is False and real["changed"] is False
    assert real["unchanged"] == ["d-0001", "d-0002", "d-0003", "d-0004"]

    # upstream: add d-0005, remove d-0002, rename d-0003 (same base_path), repoint d-0004 (new content)
    lab.seed(domains, 1, "d-", start=5)
    upstream.task_result(upstream.delete(upstream_dist(upstream, "d-0002")["pulp_href"]))
    patch_upstream(upstream, "d-0003", {"name": "d-0003-renamed"})
    lab.seed(domains, 1, "d-", start=4)

    # Before 3.113 the server cannot take over its own distribution at a base_path under a new name:
    # without reconcile the plan predicts that failure (and the module refuses), so rename first.
    reuse = lab.supports("downstream", "base_path_reuse")
    planned, real = plan_then_run(lab, domains, reconcile=not reuse)
    plan = planned["plan"]
    assert plan["create"]["distributions"] == ["d-0005"]
    if reuse:
        assert plan["delete"] == {"distributions": ["d-0002"], "repositories": ["d-0002", "d-0003"],
                                  "remotes": ["d-0002", "d-0003"]}
        assert plan["rename"] == {"distributions": [{"from": "d-0003", "to": "d-0003-renamed"}]}
    else:
        assert plan["delete"] == {kind: ["d-0002"] for kind in ("distributions", "repositories", "remotes")}
        assert plan["rename"] == {kind: [{"from": "d-0003", "to": "d-0003-renamed"}]
                                  for kind in ("distributions", "repositories", "remotes")}
    # New content is a new repository version; a distribution pinned to versions (3.107+) is switched to it.
    assert plan["update"]["repositories"]["d-0004"] == ["latest_version_href"]
    if lab.supports("downstream", "atomic_finalize"):
        assert plan["update"]["distributions"]["d-0004"] == ["serves"]
    else:
        assert "d-0004" not in plan["update"].get("distributions", {})
    assert_plan_matches(planned, real)


@pytest.mark.parametrize("policy", ["all", "labeled", "nodelete"])
def test_each_policy_deletes_what_the_plan_says(lab, domains, upstream, downstream, policy):
    lab.seed(domains, 2, "p-")
    hand_made_distribution(downstream, "mine", "mine")
    make_upstream_pulp(lab, downstream, domains, policy=policy)

    planned, real = plan_then_run(lab, domains)
    assert_plan_matches(planned, real)
    if policy == "all":
        assert planned["plan"]["delete"] == {"distributions": ["mine"]}
        assert [c["effect"] for c in planned["plan"]["conflicts"]] == ["deleted"]
    else:
        assert planned["plan"]["delete"] == {}

    upstream.task_result(upstream.delete(upstream_dist(upstream, "p-0001")["pulp_href"]))
    planned, real = plan_then_run(lab, domains)
    assert_plan_matches(planned, real)
    expected = {} if policy == "nodelete" else {k: ["p-0001"] for k in ("distributions", "repositories", "remotes")}
    assert planned["plan"]["delete"] == expected


def test_per_request_q_select_replicates_a_subset_and_deletes_nothing(lab, domains, upstream, downstream):
    lab.seed(domains, 2, "q-")
    make_upstream_pulp(lab, downstream, domains, policy="all")
    run_play([{"pulpops.replication.replicate": options(lab, domains)}])
    lab.seed(domains, 2, "q-", start=3)
    upstream.task_result(upstream.delete(upstream_dist(upstream, "q-0001")["pulp_href"]))

    planned, real = plan_then_run(lab, domains, q_select='name="q-0003"')
    assert planned["plan"]["create"]["distributions"] == ["q-0003"]
    assert planned["plan"]["delete"] == {} and planned["plan"]["remove_missing"] is False
    assert_plan_matches(planned, real)


def test_conflicts_show_before_anything_runs_and_a_run_whose_plan_fails_is_refused(lab, domains, downstream):
    lab.seed(domains, 2, "c-")
    hand_made_distribution(downstream, "hand-made", "c-0002")
    make_upstream_pulp(lab, downstream, domains, policy="labeled")

    planned, real = plan_then_run(lab, domains)
    conflict = planned["plan"]["conflicts"][0]
    assert (conflict["name"], conflict["base_path"], conflict["wanted_by"]) == ("hand-made", "c-0002", "c-0002")
    assert conflict["effect"].startswith("fails") and planned["plan"]["fails"] is True
    assert [(f["name"], f["kind"]) for f in planned["plan"]["failures"]] == [("c-0002", "distribution")]

    # The server would fail (PLP0018, base_path taken) after syncing: the module refuses before any write.
    assert real["failed"] is True and real["task_group"] is None
    assert "predicts" in real["msg"] and "distribution 'c-0002'" in real["msg"] and "base_path" in real["msg"]
    assert downstream.list_all("repositories/") == [] and downstream.list_all("remotes/") == []
    assert [d["name"] for d in downstream.list_all("distributions/file/file/")] == ["hand-made"]


def test_on_foreign_fail_refuses_before_any_write(lab, domains, downstream):
    lab.seed(domains, 1, "f-")
    hand_made_distribution(downstream, "hand-made", "f-0001")
    make_upstream_pulp(lab, downstream, domains, policy="labeled")
    play = run_play([{"pulpops.replication.replicate": options(lab, domains, on_foreign="fail")}])
    result = play.results[0]
    assert result["failed"] is True
    assert "distribution 'hand-made'" in result["msg"] and "on_foreign=adopt" in result["msg"]
    assert downstream.list_all("repositories/") == []


def test_base_path_swap_is_a_cycle_in_the_plan_and_reconcile_replicates_it(lab, domains, upstream, downstream):
    lab.seed(domains, 2, "s-")
    make_upstream_pulp(lab, downstream, domains, policy="labeled")
    run_play([{"pulpops.replication.replicate": options(lab, domains)}])
    patch_upstream(upstream, "s-0001", {"base_path": "swap-tmp"})
    patch_upstream(upstream, "s-0002", {"base_path": "s-0001"})
    patch_upstream(upstream, "s-0001", {"base_path": "s-0002"})

    play = run_play([{"pulpops.replication.replicate": options(lab, domains), "check_mode": True}])
    bare = play.results[0]["plan"]
    assert [sorted(item["name"] for item in cycle) for cycle in bare["cycles"]] == [["s-0001", "s-0002"]]
    assert bare["fails"] is True

    planned, real = plan_then_run(lab, domains, reconcile=True)
    assert len(planned["plan"]["reconcile"]) == 4
    assert_plan_matches(planned, real)
    served = {d["base_path"]: d["name"] for d in downstream.list_all("distributions/file/file/")}
    assert served == {"s-0001": "s-0002", "s-0002": "s-0001"}


def test_upstream_rename_with_reconcile_keeps_repository_and_remote(lab, domains, upstream, downstream):
    lab.seed(domains, 1, "r-")
    make_upstream_pulp(lab, downstream, domains, policy="labeled")
    run_play([{"pulpops.replication.replicate": options(lab, domains)}])
    repo_before = downstream.find("repositories/", name="r-0001")["pulp_href"]
    patch_upstream(upstream, "r-0001", {"name": "r-new"})

    planned, real = plan_then_run(lab, domains, reconcile=True)
    assert planned["plan"]["rename"] == {k: [{"from": "r-0001", "to": "r-new"}]
                                         for k in ("distributions", "repositories", "remotes")}
    assert_plan_matches(planned, real)
    assert downstream.find("repositories/", name="r-new")["pulp_href"] == repo_before


def test_check_mode_in_the_controller_returns_what_the_module_process_returns(lab, domains, upstream, downstream):
    lab.seed(domains, 3, "c-")
    make_upstream_pulp(lab, downstream, domains)
    args = options(lab, domains, skip_unchanged=True)
    assert not run_play([{"pulpops.replication.replicate": args}]).results[0].get("failed")
    lab.seed(domains, 1, "c-", start=4)  # one to create, three unchanged

    check = {"pulpops.replication.replicate": args, "check_mode": True}
    in_controller = run_play([check], diff=True, verbosity=3)
    as_module = run_play([dict(check, vars={"pulpops_replication_in_process": False})], diff=True, verbosity=3)

    ours, theirs = in_controller.results[0], as_module.results[0]
    assert not ours.get("failed") and not theirs.get("failed"), (ours.get("msg"), theirs.get("msg"))
    assert ours["plan"]["create"]["distributions"] == ["c-0004"]
    assert sorted(ours["plan"]["unchanged"]) == ["c-0001", "c-0002", "c-0003"]
    for key in ("changed", "plan", "skipped", "conflicts", "neighbours", "unchanged_since_record", "fingerprints",
                "diff"):
        assert ours.get(key) == theirs.get(key), key
    # Only the second play shipped a module; neither printed a password.
    assert "AnsiballZ_replicate.py" not in in_controller.output
    assert "AnsiballZ_replicate.py" in as_module.output
    assert lab.password not in in_controller.output and lab.password not in as_module.output


def break_served_file(lab, upstream, name):
    """Delete, on the upstream's disk, the file that distribution ``name`` serves: a sync of it then fails."""
    dist = upstream_dist(upstream, name)
    version = upstream.get(dist["publication"])["repository_version"]
    content = upstream.list_all("content/file/files/", params={"repository_version": version})
    sha256 = upstream.get(content[0]["artifact"])["sha256"]
    for root, _dirs, files in os.walk(os.path.join(lab.dir, "upstream", "media")):
        if sha256[2:] in files:
            os.remove(os.path.join(root, sha256[2:]))
            return
    raise AssertionError("no stored file for artifact %s of %s" % (sha256, name))


@pytest.mark.versions
def test_a_run_failing_midway_names_what_switched(lab, domains, upstream, downstream):
    lab.seed(domains, 2, "m-")
    make_upstream_pulp(lab, downstream, domains)
    first = run_play([{"pulpops.replication.replicate": options(lab, domains)}]).results[0]
    assert not first.get("failed"), first.get("msg")
    before = {d["name"]: d for d in downstream.list_all("distributions/file/file/")}
    lab.seed(domains, 2, "m-")  # new content for both upstream
    break_served_file(lab, upstream, "m-0002")

    real = run_play([{"pulpops.replication.replicate": options(lab, domains)}]).results[0]
    assert real["failed"] is True and [t["name"] for t in real["failed_tasks"]] == ["m-0002"], real.get("msg")
    after = {d["name"]: d for d in downstream.list_all("distributions/file/file/")}
    m1 = downstream.find("repositories/file/file/", name="m-0001")
    if lab.supports("downstream", "atomic_finalize"):
        # Atomic finalize: nothing switches when a subtask failed.
        assert "switched" not in real
        assert after["m-0001"]["repository_version"] == before["m-0001"]["repository_version"]
        assert m1["latest_version_href"] != before["m-0001"]["repository_version"], "m-0001 synced its new content"
    else:
        # Each distribution serves its repository as soon as its own sync is done: m-0001 already serves the
        # new content, m-0002 the old; the report says so.
        assert (real["switched"], real["not_switched"]) == (["m-0001"], ["m-0002"])
        assert "switches each distribution as its own sync finishes" in real["msg"]
        assert m1["latest_version_href"].endswith("/versions/2/")
        served = requests.get(lab.content_url("downstream", domains, "m-0001", "PULP_MANIFEST"), timeout=10)
        upstream_served = requests.get(lab.content_url("upstream", domains, "m-0001", "PULP_MANIFEST"), timeout=10)
        assert served.status_code == 200 and served.content == upstream_served.content
