"""No-change runs: the role skips the server's replication when nothing changed upstream.

Given an upstream domain that the role replicated and verified once, when nothing changed the
next run posts nothing and says why; when one thing changed (content, base_path, a removed
distribution, a downstream repository deleted by hand) the run replicates and the audit after
it is exact.
"""

import tempfile

import pytest

from tests.integration.harness import ansible_playbook, changed_tasks, read_result, result_task, role_vars, run_role, unique


# What new content in dist-0002 changes: a new repository version, and the distribution switched to it.
NEW_CONTENT_OF_DIST_0002 = {"distributions": {"dist-0002": ["serves"]}, "repositories": {"dist-0002": ["latest_version_href"]}}


def served(client):
    return sorted((d["name"], d["base_path"]) for d in client.list_all("distributions/file/file/"))


def upstream_pulp(downstream, name):
    return downstream.find("upstream-pulps/", name=name)


def record_guard(downstream, name):
    pk = upstream_pulp(downstream, name)["pulp_href"].rstrip("/").rsplit("/", 1)[-1]
    return downstream.find("contentguards/", name="pulpops-replication-record-" + pk)


def assert_exact(outcome):
    assert outcome["failed"] is False, (outcome["msg"], outcome["task"], outcome["output"][-4000:])
    audit = outcome["replica_result"]["audit"]
    assert audit and sum(audit.values()) == 0, audit


@pytest.fixture
def replicated(lab, domains, downstream):
    """Given an upstream with three distributions that the role replicated, verified and recorded."""
    lab.seed(domains, count=3, prefix="dist-")
    name = unique("up")
    outcome = run_role(role_vars(lab, domains, name))
    assert_exact(outcome)
    assert outcome["replica_result"]["record"]["written"] is True, outcome["replica_result"]["record"]
    assert record_guard(downstream, name) is not None
    return name


def test_no_change_run_posts_nothing_and_says_why(lab, domains, downstream, replicated):
    last = upstream_pulp(downstream, replicated)["last_replication"]

    outcome = run_role(role_vars(lab, domains, replicated))

    assert outcome["failed"] is False, outcome["output"][-3000:]
    assert "nothing changed" in outcome["replica_result"]["skipped_reason"]
    assert changed_tasks(outcome["output"]) == 0
    assert upstream_pulp(downstream, replicated)["last_replication"] == last  # no replication ran
    assert set(outcome["replica_result"]["phases"]) == {"check"}  # no lock, no plan, no audit, no unlock


def test_a_skipped_run_after_a_replicating_run_in_one_play_reports_only_itself(lab, domains, downstream, replicated):
    """The role twice on one host (a loop over domains does that): the skipping second run must not
    report the first run's plan, changes, lock or phases as its own."""
    lab.seed(domains, count=1, prefix="dist-", start=2)  # so that the first run replicates dist-0002
    include = {"ansible.builtin.include_role": {"name": "pulpops.replication.replica"}}
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        dict(include, name="First run (replicates)"),
        {"name": "Keep the first result", "ansible.builtin.set_fact": {"first_result": "{{ replica_result }}"}},
        dict(include, name="Second run (nothing changed since the first)"),
        result_task("{'first': first_result, 'second': replica_result}"),
    ]}]
    proc = ansible_playbook(tempfile.mkdtemp(prefix="twice-"), play, role_vars(lab, domains, replicated))
    results = read_result(proc.stdout)

    assert proc.returncode == 0 and results, proc.stdout[-4000:]
    first, second = results["first"], results["second"]
    assert first["skipped_reason"] == "" and first["changes"]["update"] == NEW_CONTENT_OF_DIST_0002
    assert first["lock"]["acquired"] is True and first["record"]["written"] is True
    assert {"check", "lock", "replicate", "verify", "unlock"} <= set(first["phases"])
    assert "nothing changed" in second["skipped_reason"]
    assert second["changes"] == {} and second["failed_tasks"] == [] and second["reconciled"] == []
    assert second["lock"] == {"owner": "", "waited": 0, "acquired": False}
    assert second["record"] == {"written": False, "problems": []} and second["audit"] == {}
    assert set(second["phases"]) == {"check"}
    assert second["plan"]["record"]["unchanged"] is True


def test_force_full_replicates_although_nothing_changed(lab, domains, downstream, replicated):
    last = upstream_pulp(downstream, replicated)["last_replication"]

    outcome = run_role(role_vars(lab, domains, replicated, replica_force_full=True))

    assert_exact(outcome)
    assert outcome["replica_result"]["skipped_reason"] == ""
    assert upstream_pulp(downstream, replicated)["last_replication"] != last


def test_check_mode_shows_the_skip(lab, domains, replicated):
    outcome = run_role(role_vars(lab, domains, replicated), check=True)
    assert outcome["failed"] is False, outcome["output"][-3000:]
    assert "nothing changed" in outcome["replica_result"]["skipped_reason"]


def test_new_content_in_one_repository_replicates_just_that_one(lab, domains, upstream, downstream, replicated):
    lab.seed(domains, count=1, prefix="dist-", start=2)  # a new version and a new publication of dist-0002

    outcome = run_role(role_vars(lab, domains, replicated))

    assert_exact(outcome)
    assert outcome["replica_result"]["partial_q_select"] == 'name__in="dist-0002"'
    assert outcome["replica_result"]["changes"]["update"] == NEW_CONTENT_OF_DIST_0002
    again = run_role(role_vars(lab, domains, replicated))
    assert "nothing changed" in again["replica_result"]["skipped_reason"], again["output"][-3000:]


def test_changed_base_path_replicates(lab, domains, upstream, downstream, replicated):
    dist = upstream.find("distributions/file/file/", name="dist-0003")
    upstream.task_result(upstream.patch(dist["pulp_href"], {"base_path": "moved/dist-0003"}))

    outcome = run_role(role_vars(lab, domains, replicated))

    assert_exact(outcome)
    assert outcome["replica_result"]["skipped_reason"] == ""
    assert ("dist-0003", "moved/dist-0003") in served(downstream)


def test_removed_upstream_distribution_replicates_and_deletes(lab, domains, upstream, downstream, replicated):
    dist = upstream.find("distributions/file/file/", name="dist-0001")
    upstream.task_result(upstream.delete(dist["pulp_href"]))

    outcome = run_role(role_vars(lab, domains, replicated))

    assert_exact(outcome)
    assert outcome["replica_result"]["partial_q_select"] is None  # a deletion needs the full run
    assert [n for n, _bp in served(downstream)] == ["dist-0002", "dist-0003"]


def test_downstream_repository_deleted_by_hand_is_repaired(lab, domains, downstream, replicated):
    repo = downstream.find("repositories/file/file/", name="dist-0002")
    downstream.task_result(downstream.delete(repo["pulp_href"]))

    outcome = run_role(role_vars(lab, domains, replicated))

    assert_exact(outcome)
    assert outcome["replica_result"]["skipped_reason"] == ""
    assert downstream.find("repositories/file/file/", name="dist-0002") is not None
    again = run_role(role_vars(lab, domains, replicated))
    assert "nothing changed" in again["replica_result"]["skipped_reason"], again["output"][-3000:]
