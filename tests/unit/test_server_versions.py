"""What changes with the downstream's pulpcore release: the feature table, and the plan on servers
without atomic finalize (before 3.107) or without base-path reuse (before 3.113).

The integration twins run on real 3.73.47, 3.105.25 and 3.112.2 servers (scripts/test versions).
"""

import pytest

from ansible_collections.pulpops.replication.plugins.module_utils import plan as P
from ansible_collections.pulpops.replication.plugins.module_utils import record as R
from ansible_collections.pulpops.replication.plugins.module_utils import server_features as F
from ansible_collections.pulpops.replication.plugins.module_utils import snapshot as S
from tests.unit.snapshots import LABEL, T2, Down, href, plan, server, up_dist


def old_server(policy="labeled", atomic=False, reuse=False, **kw):
    view = server(policy, **kw)
    view.update(atomic_finalize=atomic, base_path_reuse=reuse)
    return view


def served_by_repository(down):
    """The downstream as pulpcore < 3.107 leaves it: each distribution points at its repository."""
    for dist in down.dists:
        repo = next(r for r in down.repos if r["name"] == dist["name"])
        dist.update(repository=repo["pulp_href"], repository_version=None)
    return down


@pytest.mark.parametrize("version, expected", [
    ((3, 73, 47), {"atomic_finalize": False, "base_path_reuse": False, "request_q_select": False, "replication": True}),
    ((3, 105, 25), {"atomic_finalize": False, "base_path_reuse": False, "request_q_select": False, "replication": True}),
    ((3, 112, 2), {"atomic_finalize": True, "base_path_reuse": False, "replication_lock": True, "request_q_select": False}),
    ((3, 123, 1), {"atomic_finalize": True, "base_path_reuse": True, "request_q_select": True}),
    ((3, 72, 9), {"replication": False, "upstream_q_select": True}),
])
def test_the_feature_table_answers_per_release(version, expected):
    found = F.capabilities(version)
    assert dict((k, found[k]) for k in expected) == expected


def test_every_feature_has_a_release_and_words():
    for name, (release, words) in F.FEATURES.items():
        assert len(release) == 3 and all(isinstance(part, int) for part in release), name
        assert words and F.describe(name) == words


def test_before_atomic_finalize_a_rerun_that_serves_the_repository_changes_nothing():
    down = served_by_repository(Down().replicated("a").replicated("b"))
    result = plan([up_dist("a"), up_dist("b")], down, srv=old_server())
    assert result["changed"] is False and result["unchanged"] == ["a", "b"]
    assert result["atomic"] is False


def test_after_atomic_finalize_the_same_downstream_would_be_switched_to_pinned_versions():
    down = served_by_repository(Down().replicated("a"))
    result = plan([up_dist("a")], down, srv=old_server(atomic=True))
    assert result["update"]["distributions"] == {"a": ["serves"]} and result["atomic"] is True


def test_before_atomic_finalize_new_content_is_a_new_repository_version_and_the_distribution_stays():
    down = served_by_repository(Down().replicated("a").replicated("b"))
    result = plan([up_dist("a", since=T2), up_dist("b")], down, srv=old_server())
    assert result["update"] == {"repositories": {"a": ["latest_version_href"]}}
    assert result["changed"] is True


def test_before_atomic_finalize_a_first_replication_points_each_distribution_at_its_repository():
    result = plan([up_dist("a")], Down(), srv=old_server(last=None))
    after = [d for d in result["predicted_after"]["distributions"] if d["name"] == "a"][0]
    assert after["serves"] == "repository:new-repository:a"


def test_before_atomic_finalize_other_distributions_switch_although_one_fails():
    down = served_by_repository(Down().replicated("a")).hand_made("mine", base_path="b")
    result = plan([up_dist("a", since=T2), up_dist("b")], down, srv=old_server())
    assert result["fails"] is True
    assert result["update"]["repositories"] == {"a": ["latest_version_href"]}


def test_without_base_path_reuse_adopting_renames_the_hand_made_distribution_to_the_upstream_name():
    down = Down().hand_made("mine", base_path="a")
    result = plan([up_dist("a")], down, srv=old_server(), on_foreign="adopt")
    assert [(s["action"], s.get("to")) for s in result["adopt"]] == [("label", None), ("rename", "a")]
    assert result["fails"] is False
    assert result["rename"] == {"distributions": [{"from": "mine", "to": "a"}]}


def test_with_base_path_reuse_adopting_only_labels_and_the_server_renames():
    down = Down().hand_made("mine", base_path="a")
    result = plan([up_dist("a")], down, policy="labeled", on_foreign="adopt")
    assert [s["action"] for s in result["adopt"]] == ["label"]
    assert result["fails"] is False


def test_without_base_path_reuse_a_hand_made_distribution_on_a_wanted_base_path_fails_the_plan():
    result = plan([up_dist("a")], Down().hand_made("mine", base_path="a"), srv=old_server())
    assert result["fails"] is True
    assert [f["name"] for f in result["failures"]] == ["a"]


def test_a_rename_upstream_is_reconciled_first_on_a_server_without_base_path_reuse():
    down = Down().replicated("old", base_path="p")
    result = plan([up_dist("new", base_path="p")], down, srv=old_server(), reconcile=True)
    assert [(s["kind"], s["from"], s["to"]) for s in result["reconcile"]] == [
        ("distribution", "old", "new"), ("repository", "old", "new"), ("remote", "old", "new")]
    assert result["fails"] is False


def test_switch_report_names_the_base_paths_that_switched():
    before = Down().replicated("a").replicated("b").snapshot()
    after = Down().replicated("a").replicated("b").snapshot()
    after["distributions"][0]["serves"] = "repository:" + href("repositories")
    before_b = [d for d in before["distributions"] if d["name"] == "b"][0]
    [d for d in after["distributions"] if d["name"] == "b"][0]["serves"] = before_b["serves"]
    after["distributions"][1]["href"] = before_b["href"]
    upstream = S.upstream_snapshot([up_dist("a"), up_dist("b"), up_dist("c")])
    assert P.switch_report(before, after, upstream) == (["a"], ["b", "c"])


def test_switch_report_reads_a_distribution_that_serves_its_repository_as_its_latest_version():
    before = served_by_repository(Down().replicated("a").replicated("b")).snapshot()
    after = {"distributions": [dict(d) for d in before["distributions"]],
             "repositories": [dict(r) for r in before["repositories"]]}
    after["repositories"][0]["latest_version"] = after["repositories"][0]["href"] + "versions/2/"
    upstream = S.upstream_snapshot([up_dist("a"), up_dist("b")])
    assert P.switch_report(before, after, upstream) == (["a"], ["b"])


def test_a_distribution_pointing_at_its_repository_serves_its_latest_version():
    down = served_by_repository(Down().replicated("a")).snapshot()
    upstream = S.upstream_snapshot([up_dist("a")])
    assert R.serving_problems(upstream, down, "UpstreamPulp", LABEL["UpstreamPulp"]) == []
    down["distributions"][0]["serves"] = "repository:" + href("repositories")
    assert R.serving_problems(upstream, down, "UpstreamPulp", LABEL["UpstreamPulp"]) == [
        "'a' does not serve its repository's latest version"]
