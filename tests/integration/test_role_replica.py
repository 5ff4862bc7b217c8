"""The replica role against the two real lab servers: each test is one scenario.

Given an upstream domain with some distributions, when the role runs, then the downstream
domain of the same name serves the upstream's content and nothing else changed.
"""

import concurrent.futures

import pytest
import requests

from tests.integration.harness import (
    ServingWatch,
    bare_replicate,
    changed_tasks,
    make_upstream_pulp,
    role_vars,
    run_role,
    task_statuses,
    unique,
)

PLAN_READ = "Plan | Compute what replication would change"


def served_names(client):
    return sorted((d["name"], d["base_path"]) for d in client.list_all("distributions/file/file/"))


def manifest_urls(lab, domain, base_paths):
    return [lab.content_url("downstream", domain, bp, "PULP_MANIFEST") for bp in base_paths]


def downstream_state(client):
    """Everything replication could touch in the domain, to prove that nothing changed."""
    return {
        "distributions": sorted((d["name"], d["base_path"], d.get("repository_version") or d.get("publication") or "")
                                for d in client.list_all("distributions/file/file/")),
        "repositories": sorted(r["name"] for r in client.list_all("repositories/file/file/")),
        "remotes": sorted(r["name"] for r in client.list_all("remotes/file/file/")),
    }


def assert_exact(outcome):
    assert outcome["failed"] is False, (outcome["msg"], outcome["task"], outcome["output"][-4000:])
    assert outcome["replica_result"]["audit"].get("missing", 0) == 0


def move(upstream, name, base_path):
    dist = upstream.find("distributions/file/file/", name=name)
    upstream.task_result(upstream.patch(dist["pulp_href"], {"base_path": base_path}))


def rename(upstream, name, new_name):
    dist = upstream.find("distributions/file/file/", name=name)
    upstream.task_result(upstream.patch(dist["pulp_href"], {"name": new_name}))


@pytest.fixture
def replicated(lab, domains, downstream):
    """Given an upstream with three distributions that the role replicated once."""
    lab.seed(domains, count=3, prefix="dist-")
    name = unique("up")
    outcome = run_role(role_vars(lab, domains, name))
    assert_exact(outcome)
    return name


def test_first_replication_then_noop_rerun_and_check_mode_predicts_the_run(lab, domains, downstream):
    lab.seed(domains, count=3, prefix="dist-")
    name = unique("up")
    variables = role_vars(lab, domains, name)

    predicted = run_role(variables, check=True, diff=True)
    assert predicted["failed"] is False, predicted["output"][-3000:]
    assert downstream_state(downstream)["distributions"] == []  # check mode wrote nothing
    plan = predicted["replica_result"]["plan"]
    assert plan["create"]["distributions"] == ["dist-0001", "dist-0002", "dist-0003"]

    first = run_role(variables)
    assert_exact(first)
    assert served_names(downstream) == [("dist-000%d" % i, "dist-000%d" % i) for i in (1, 2, 3)]
    changes = first["replica_result"]["changes"]
    for key in ("create", "update", "rename", "delete"):
        assert changes[key] == plan[key], key
    assert first["replica_result"]["failed_tasks"] == []
    assert set(first["replica_result"]["phases"]) >= {"lock", "upstream", "plan", "preflight", "reconcile",
                                                      "replicate", "verify"}
    # The UpstreamPulp was created for this run: the check phase planned for exactly that, so the plan is not read again.
    assert task_statuses(first["output"], PLAN_READ) == ["skipping"], first["output"][-3000:]

    again = run_role(variables)
    assert_exact(again)
    assert changed_tasks(again["output"]) == 0, again["output"][-3000:]


def test_a_first_run_narrowed_by_q_select_reads_its_plan_again_and_keeps_to_the_scope(lab, domains, downstream):
    """The check phase plans without the UpstreamPulp's q_select: with one, the plan phase reads the plan again."""
    lab.seed(domains, count=3, prefix="dist-")
    outcome = run_role(role_vars(lab, domains, unique("up"), upstream_q_select='name="dist-0002"'))
    assert_exact(outcome)
    assert task_statuses(outcome["output"], PLAN_READ) in (["ok"], ["changed"]), outcome["output"][-3000:]
    assert outcome["replica_result"]["plan"]["create"]["distributions"] == ["dist-0002"]
    assert served_names(downstream) == [("dist-0002", "dist-0002")]


@pytest.mark.parametrize("layout", ["swap", "rotate"])
def test_upstream_base_path_swap_and_rotation_never_stop_serving(lab, domains, upstream, downstream, replicated, layout):
    if layout == "swap":
        moves = [("dist-0001", "tmp"), ("dist-0002", "dist-0001"), ("dist-0001", "dist-0002")]
    else:
        moves = [("dist-0001", "tmp"), ("dist-0003", "dist-0001"), ("dist-0002", "dist-0003"),
                 ("dist-0001", "dist-0002")]
    for name, path in moves:
        move(upstream, name, path)
    wanted = sorted((d["name"], d["base_path"]) for d in upstream.list_all("distributions/file/file/"))

    with ServingWatch(manifest_urls(lab, domains, ["dist-0001", "dist-0002", "dist-0003"])) as watch:
        outcome = run_role(role_vars(lab, domains, replicated))
    assert_exact(outcome)
    assert outcome["replica_result"]["plan"]["cycles"], "the plan names the cycle"
    assert served_names(downstream) == wanted
    assert watch.fetches > 10 and watch.errors == []


def test_upstream_rename_keeps_the_base_path_serving(lab, domains, upstream, downstream, replicated):
    rename(upstream, "dist-0002", "dist-renamed")
    with ServingWatch(manifest_urls(lab, domains, ["dist-0002"])) as watch:
        outcome = run_role(role_vars(lab, domains, replicated))
    assert_exact(outcome)
    assert ("dist-renamed", "dist-0002") in served_names(downstream)
    assert downstream.find("repositories/file/file/", name="dist-0002") is None
    assert watch.fetches > 10 and watch.errors == []


def test_two_upstreams_with_disjoint_scopes_take_turns(lab, domains, downstream):
    other = unique("t2")
    lab.create_domain("upstream", other)
    lab.seed(domains, count=2, prefix="a-")
    lab.seed(other, count=2, prefix="b-")
    first = role_vars(lab, domains, unique("upa"))
    second = role_vars(lab, domains, unique("upb"))
    second["replica_upstream"]["domain"] = other
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(run_role, [first, second]))
    for outcome in outcomes:
        assert_exact(outcome)
        assert "PLP0018" not in outcome["output"]
    assert [pair[0] for pair in served_names(downstream)] == ["a-0001", "a-0002", "b-0001", "b-0002"]
    waits = sorted(o["replica_result"]["lock"]["waited"] for o in outcomes)
    assert waits[1] > 0, "one run waited for the other's lock"


def test_hot_spare_pair_sharing_one_scope(lab, domains, downstream):
    lab.seed(domains, count=2, prefix="hs-")
    pair = [role_vars(lab, domains, unique(tag), replica_allow_shared_domain=True, replica_on_foreign="adopt")
            for tag in ("primary", "spare")]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(run_role, pair))
    for outcome in outcomes:
        assert_exact(outcome)
        assert "PLP0018" not in outcome["output"]
    assert [pair[0] for pair in served_names(downstream)] == ["hs-0001", "hs-0002"]


def hand_made(downstream, base_path):
    repo = downstream.post("repositories/file/file/", {"name": "hand-made-repo"})
    downstream.task_result(downstream.post("distributions/file/file/", {
        "name": "hand-made", "base_path": base_path, "repository": repo["pulp_href"]}))
    return repo


@pytest.mark.parametrize("policy", ["labeled", "all"])
def test_hand_made_distribution_fails_in_preflight_with_nothing_changed(lab, domains, downstream, policy):
    lab.seed(domains, count=2, prefix="dist-")
    hand_made(downstream, "dist-0001")
    before = downstream_state(downstream)
    name = unique("up")
    outcome = run_role(role_vars(lab, domains, name, policy=policy))
    assert outcome["failed"] is True
    assert "Preflight" in outcome["task"]
    assert "hand-made" in outcome["msg"] and "replica_on_foreign" in outcome["msg"]
    assert downstream_state(downstream) == before
    assert downstream.find("upstream-pulps/", name=name) is None


def test_hand_made_distribution_is_skipped_and_verify_reports_it_as_skipped(lab, domains, downstream):
    lab.seed(domains, count=2, prefix="dist-")
    hand_made(downstream, "dist-0001")
    before = downstream_state(downstream)
    name = unique("up")
    variables = role_vars(lab, domains, name, replica_on_foreign="skip")  # verify on, as by default
    skipped = run_role(variables)
    if not lab.supports("downstream", "request_q_select"):
        # Leaving a distribution out takes a per-request q_select (3.113): refused before the lock or any write.
        assert skipped["failed"] is True and "Check" in skipped["task"], skipped["output"][-3000:]
        assert "on_foreign" in skipped["msg"] and "3.113.0" in skipped["msg"]
        assert lab.version_text("downstream") in skipped["msg"]
        assert downstream_state(downstream) == before
        assert downstream.find("upstream-pulps/", name=name) is None
        assert downstream.find("contentguards/core/content_redirect/", name="pulpops-replication-lock") is None
        return
    assert skipped["failed"] is False, skipped["output"][-3000:]
    assert ("hand-made", "dist-0001") in served_names(downstream)
    assert ("dist-0002", "dist-0002") in served_names(downstream)
    result = skipped["replica_result"]
    assert result["plan"]["excluded"] == ["dist-0001"]
    assert result["audit"]["skipped"] == 1 and result["audit"]["missing"] == 0
    assert result["record"]["written"] is True, result["record"]

    again = run_role(variables)
    assert again["failed"] is False, again["output"][-3000:]
    assert again["replica_result"]["skipped_reason"], again["replica_result"]
    assert changed_tasks(again["output"]) == 0


def test_hand_made_distribution_is_adopted_without_deleting_its_repository(lab, domains, downstream):
    lab.seed(domains, count=2, prefix="dist-")
    repo = hand_made(downstream, "dist-0001")
    adopted = run_role(role_vars(lab, domains, unique("up"), replica_on_foreign="adopt"))
    assert_exact(adopted)
    assert ("dist-0001", "dist-0001") in served_names(downstream)
    assert downstream.get(repo["pulp_href"], allow_404=True) is not None, "its repository was not deleted"
    if not lab.supports("downstream", "base_path_reuse"):
        steps = [(s["action"], s.get("to")) for s in adopted["replica_result"]["reconciled"]]
        assert ("rename", "dist-0001") in steps, "the role renamed it, as this server cannot take it over by base_path"


def test_a_plan_that_predicts_a_failure_stops_before_any_write(lab, domains, downstream):
    # A hand-made distribution nested under a wanted base_path: adopting it cannot free that base_path.
    lab.seed(domains, count=2, prefix="dist-")
    hand_made(downstream, "dist-0001/inner")
    before = downstream_state(downstream)
    name = unique("up")
    outcome = run_role(role_vars(lab, domains, name, replica_on_foreign="adopt"))
    assert outcome["failed"] is True and "Preflight" in outcome["task"], outcome["output"][-3000:]
    assert "predicts" in outcome["msg"] and "dist-0001" in outcome["msg"]
    assert outcome["replica_result"]["plan"]["fails"] is True
    assert downstream_state(downstream) == before
    assert downstream.find("upstream-pulps/", name=name) is None


def test_a_neighbour_with_policy_all_is_refused_unless_allowed(lab, domains, downstream):
    lab.seed(domains, count=1, prefix="dist-")
    make_upstream_pulp(lab, downstream, domains, name=unique("greedy"), policy="all", q_select='name="none"')
    refused = run_role(role_vars(lab, domains, unique("up")))
    assert refused["failed"] is True
    assert "policy 'all'" in refused["msg"] and "replica_allow_shared_domain" in refused["msg"]
    allowed = run_role(role_vars(lab, domains, unique("up2"), replica_allow_shared_domain=True))
    assert allowed["failed"] is False, allowed["output"][-3000:]


@pytest.mark.parametrize("fault", ["wrong_password", "upstream_down", "tls_mismatch"])
def test_upstream_faults_fail_clearly_change_nothing_and_release_the_lock(lab, domains, downstream, fault):
    lab.seed(domains, count=1, prefix="dist-")
    variables = role_vars(lab, domains, unique("up"))
    if fault == "wrong_password":
        variables["replica_upstream"]["password"] = "not-the-password-42"
    elif fault == "upstream_down":
        variables["replica_upstream"]["base_url"] = "http://127.0.0.1:9"
    else:
        variables["replica_upstream"]["base_url"] = lab.upstream_url.replace("http://", "https://")
    before = downstream_state(downstream)
    outcome = run_role(variables)
    assert outcome["failed"] is True
    assert outcome["msg"]
    assert "not-the-password-42" not in outcome["output"]
    assert downstream_state(downstream) == before
    assert downstream.find("contentguards/core/content_redirect/", name="pulpops-replication-lock") is None


def test_stale_repository_404_is_repaired_by_verify(lab, domains, upstream, downstream):
    lab.seed(domains, count=2, prefix="dist-")
    name = unique("up")
    server = make_upstream_pulp(lab, downstream, domains, name=name)
    bare_replicate(downstream, server["pulp_href"])
    # An operator deletes a replicated repository by hand; a bare replication recreates it
    # but never syncs it again, so its base_path answers 404.
    repo = downstream.find("repositories/file/file/", name="dist-0001")
    downstream.task_result(downstream.delete(repo["pulp_href"]))
    bare_replicate(downstream, server["pulp_href"])
    url = manifest_urls(lab, domains, ["dist-0001"])[0]
    assert requests.get(url, timeout=10).status_code == 404, "the bare server left the base_path unserved"
    outcome = run_role(role_vars(lab, domains, name))
    assert_exact(outcome)
    assert requests.get(url, timeout=10).status_code == 200
