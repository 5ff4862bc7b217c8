"""The replica role on every pulpcore release line: one journey per scenario group, on one domain.

`scripts/test versions` runs the tests marked ``versions`` on labs of other releases (3.73.47,
3.105.25, 3.112.2, an old upstream feeding a new downstream, a lab without domains). Each journey
reuses its first replication for the steps after it, as an operator's domain lives through them:
check mode, first run, no-change rerun, a base_path swap, a rename, a repository deleted by hand,
an audit; and a hand-made distribution met with each ``replica_on_foreign``. What differs by
release is asked of the server (``lab.supports``), never assumed.
"""

import pytest
import requests

from tests.integration.harness import ServingWatch, changed_tasks, role_vars, run_play, run_role, unique

pytestmark = pytest.mark.versions


def served(client):
    return sorted((d["name"], d["base_path"]) for d in client.list_all("distributions/file/file/"))


def state(client):
    """Everything replication could touch in the domain, to prove that nothing changed."""
    return {
        "distributions": sorted((d["name"], d["base_path"], d.get("repository_version") or d.get("publication")
                                 or d.get("repository") or "") for d in client.list_all("distributions/file/file/")),
        "repositories": sorted(r["name"] for r in client.list_all("repositories/file/file/")),
        "remotes": sorted(r["name"] for r in client.list_all("remotes/file/file/")),
    }


def assert_exact(outcome):
    assert outcome["failed"] is False, (outcome["msg"], outcome["task"], outcome["output"][-4000:])
    audit = outcome["replica_result"]["audit"]
    assert audit and sum(v for k, v in audit.items() if k != "skipped") == 0, audit


def patch(client, name, body):
    dist = client.find("distributions/file/file/", name=name)
    client.task_result(client.patch(dist["pulp_href"], body))


def urls(lab, domain, base_paths):
    return [lab.content_url("downstream", domain, path, "PULP_MANIFEST") for path in base_paths]


def same_manifests(lab, domain, base_paths):
    for path in base_paths:
        down = requests.get(lab.content_url("downstream", domain, path, "PULP_MANIFEST"), timeout=10)
        up = requests.get(lab.content_url("upstream", domain, path, "PULP_MANIFEST"), timeout=10)
        assert down.status_code == 200 and down.content == up.content, path


def test_a_domain_through_first_run_rerun_swap_rename_repair_and_audit(lab, domains, upstream, downstream):
    lab.seed(domains, count=3, prefix="dist-")
    variables = role_vars(lab, domains, unique("up"))
    paths = ["dist-0001", "dist-0002", "dist-0003"]

    predicted = run_role(variables, check=True)
    assert predicted["failed"] is False, predicted["output"][-3000:]
    assert state(downstream)["distributions"] == [], "check mode wrote nothing"
    plan = predicted["replica_result"]["plan"]
    assert plan["create"]["distributions"] == paths
    assert plan["atomic"] is lab.supports("downstream", "atomic_finalize")

    first = run_role(variables)
    assert_exact(first)
    for key in ("create", "update", "rename", "delete"):
        assert first["replica_result"]["changes"][key] == plan[key], key
    same_manifests(lab, domains, paths)

    again = run_role(variables)
    assert again["failed"] is False and "nothing changed" in again["replica_result"]["skipped_reason"]
    assert changed_tasks(again["output"]) == 0

    # Upstream: dist-0001 and dist-0002 trade base_paths; the downstream keeps serving both.
    patch(upstream, "dist-0001", {"base_path": "swap-tmp"})
    patch(upstream, "dist-0002", {"base_path": "dist-0001"})
    patch(upstream, "dist-0001", {"base_path": "dist-0002"})
    with ServingWatch(urls(lab, domains, paths)) as watch:
        swapped = run_role(variables)
    assert_exact(swapped)
    assert swapped["replica_result"]["plan"]["cycles"], "the plan names the cycle"
    assert served(downstream) == [("dist-0001", "dist-0002"), ("dist-0002", "dist-0001"), ("dist-0003", "dist-0003")]
    assert watch.fetches > 10 and watch.errors == []

    # Upstream: dist-0003 renamed on its base_path; the reconcile phase renames first on every release.
    patch(upstream, "dist-0003", {"name": "dist-renamed"})
    with ServingWatch(urls(lab, domains, ["dist-0003"])) as watch:
        renamed = run_role(variables)
    assert_exact(renamed)
    assert ("dist-renamed", "dist-0003") in served(downstream)
    assert downstream.find("repositories/file/file/", name="dist-0003") is None
    assert watch.fetches > 10 and watch.errors == []

    # A replicated repository deleted by hand: the run notices, replicates, and verify repairs what the
    # server recreated empty.
    repo = downstream.find("repositories/file/file/", name="dist-0002")
    downstream.task_result(downstream.delete(repo["pulp_href"]))
    repaired = run_role(variables)
    assert_exact(repaired)
    same_manifests(lab, domains, paths)

    audit = run_play([{"pulpops.replication.replica_audit": dict(
        lab.connection(domains), upstream=variables["replica_upstream"]["name"], upstream_username=lab.username,
        upstream_password=lab.password)}], check=True).results[0]
    assert audit.get("failed") is not True and audit["exact"] is True, audit.get("table")


def test_a_hand_made_distribution_met_with_fail_then_skip_then_adopt(lab, domains, downstream):
    lab.seed(domains, count=2, prefix="dist-")
    name = unique("up")

    # Nested under a wanted base_path: no label frees it, the plan predicts the failure, nothing is written.
    nested = downstream.post("distributions/file/file/", {"name": "nested", "base_path": "dist-0001/inner"})
    downstream.task_result(nested)
    before = state(downstream)
    refused = run_role(role_vars(lab, domains, name, replica_on_foreign="adopt"))
    assert refused["failed"] is True and "Preflight" in refused["task"], refused["output"][-3000:]
    assert "predicts" in refused["msg"] and "dist-0001" in refused["msg"]
    assert state(downstream) == before and downstream.find("upstream-pulps/", name=name) is None
    downstream.task_result(downstream.delete(downstream.find("distributions/file/file/", name="nested")["pulp_href"]))

    mine = downstream.post("repositories/file/file/", {"name": "hand-made-repo"})
    downstream.task_result(downstream.post("distributions/file/file/", {
        "name": "hand-made", "base_path": "dist-0001", "repository": mine["pulp_href"]}))
    before = state(downstream)

    failed = run_role(role_vars(lab, domains, name))  # replica_on_foreign: fail, the default
    assert failed["failed"] is True and "Preflight" in failed["task"]
    assert "hand-made" in failed["msg"] and "replica_on_foreign" in failed["msg"]
    assert state(downstream) == before and downstream.find("upstream-pulps/", name=name) is None

    skip = role_vars(lab, domains, name, replica_on_foreign="skip")  # verify on, as by default
    skipped = run_role(skip)
    if lab.supports("downstream", "request_q_select"):
        assert skipped["failed"] is False, skipped["output"][-3000:]
        assert ("hand-made", "dist-0001") in served(downstream) and ("dist-0002", "dist-0002") in served(downstream)
        result = skipped["replica_result"]
        assert result["plan"]["excluded"] == ["dist-0001"]
        assert result["audit"]["skipped"] == 1 and result["record"]["written"] is True, result
        again = run_role(skip)
        assert "nothing changed" in again["replica_result"]["skipped_reason"] and changed_tasks(again["output"]) == 0
    else:
        # Leaving a distribution out takes a per-request q_select (3.113): refused before the lock or any write.
        assert skipped["failed"] is True and "Check" in skipped["task"], skipped["output"][-3000:]
        assert "on_foreign" in skipped["msg"] and "3.113.0" in skipped["msg"]
        assert lab.version_text("downstream") in skipped["msg"]
        assert state(downstream) == before and downstream.find("upstream-pulps/", name=name) is None
        assert downstream.find("contentguards/core/content_redirect/", name="pulpops-replication-lock") is None

    adopted = run_role(role_vars(lab, domains, name, replica_on_foreign="adopt"))
    assert_exact(adopted)
    assert ("dist-0001", "dist-0001") in served(downstream)
    assert downstream.get(mine["pulp_href"], allow_404=True) is not None, "its repository was not deleted"
    if not lab.supports("downstream", "base_path_reuse"):
        steps = [(s["action"], s.get("to")) for s in adopted["replica_result"]["reconciled"]]
        assert ("rename", "dist-0001") in steps, "renamed first: this server takes over by name only"
    same_manifests(lab, domains, ["dist-0001", "dist-0002"])
