"""The replication plan, from hand-built snapshots shaped like the API's answers.

Each test reads: given an upstream and a downstream domain, the plan says what the
server's replication would do (create, update, rename, delete, conflicts, cycles).
"""

from ansible_collections.pulpops.replication.plugins.module_utils import plan as P
from ansible_collections.pulpops.replication.plugins.module_utils import snapshot as S
from tests.unit.snapshots import OTHER, PK, T2, Down, plan, server, up_dist


def test_first_replication_creates_remote_repository_and_distribution_for_each():
    result = plan([up_dist("a"), up_dist("b")], Down(), srv=server(last=None))
    assert result["create"] == {k: ["a", "b"] for k in S.OBJECT_KINDS}
    assert result["update"] == {} and result["rename"] == {} and result["delete"] == {}
    assert result["changed"] is True
    assert result["summary"]["create"] == 6


def test_first_replication_when_the_upstream_pulp_does_not_exist_yet():
    result = plan([up_dist("a")], Down(), srv=server(policy="labeled", exists=False))
    assert result["create"]["distributions"] == ["a"]
    assert result["label"] == {"UpstreamPulp": "<new UpstreamPulp>"}


def test_rerun_with_nothing_new_upstream_changes_nothing():
    down = Down().replicated("a").replicated("b")
    result = plan([up_dist("a"), up_dist("b")], down)
    assert P.is_change(result) is False and result["changed"] is False
    assert result["unchanged"] == ["a", "b"]
    assert result["conflicts"] == [] and result["cycles"] == []


def test_upstream_addition_creates_only_the_new_one():
    result = plan([up_dist("a"), up_dist("c")], Down().replicated("a"))
    assert result["create"] == {k: ["c"] for k in S.OBJECT_KINDS}
    assert result["unchanged"] == ["a"]


def test_upstream_removal_deletes_all_three_objects():
    result = plan([up_dist("a")], Down().replicated("a").replicated("gone"))
    assert result["delete"] == {k: ["gone"] for k in S.OBJECT_KINDS}


def test_repoint_upstream_after_last_replication_switches_content():
    result = plan([up_dist("a", since=T2), up_dist("b")], Down().replicated("a").replicated("b"))
    # The sync makes a new repository version; the distribution is switched to it.
    assert result["update"] == {"distributions": {"a": ["serves"]}, "repositories": {"a": ["latest_version_href"]}}
    assert result["unchanged"] == ["b"]


def test_repository_served_upstream_is_resynced_but_not_predicted_to_change():
    result = plan([up_dist("a", since=None)], Down().replicated("a"))
    assert result["resync"] == ["a"] and not P.is_change(result)


def test_a_patched_upstream_pulp_resyncs_everything_without_changes():
    srv = server()
    srv["pulp_last_updated"] = T2
    result = plan([up_dist("a")], Down().replicated("a"), srv=srv)
    assert result["resync"] == ["a"] and not P.is_change(result)


def test_upstream_rename_is_renamed_in_place_by_the_server_and_old_repository_deleted():
    result = plan([up_dist("new", base_path="a")], Down().replicated("a"))
    assert result["rename"] == {"distributions": [{"from": "a", "to": "new"}]}
    assert result["update"] == {"distributions": {"new": ["serves"]}}
    assert result["create"] == {"repositories": ["new"], "remotes": ["new"]}
    assert result["delete"] == {"repositories": ["a"], "remotes": ["a"]}
    assert result["reconcile"] == []


def test_upstream_rename_with_reconcile_renames_all_three_and_nothing_else():
    result = plan([up_dist("new", base_path="a")], Down().replicated("a"), reconcile=True)
    assert [(s["kind"], s["from"], s["to"]) for s in result["reconcile"]] == [
        ("distribution", "a", "new"), ("repository", "a", "new"), ("remote", "a", "new")]
    assert result["rename"] == {k: [{"from": "a", "to": "new"}] for k in S.OBJECT_KINDS}
    assert result["create"] == {} and result["delete"] == {} and result["update"] == {}


def test_per_request_q_select_never_deletes():
    result = plan([up_dist("a")], Down().replicated("a").replicated("b"), request_q_select='name="a"')
    assert result["delete"] == {} and result["remove_missing"] is False


def test_policy_all_deletes_hand_made_objects_and_reports_them_as_conflicts():
    down = Down().replicated("a").hand_made("mine")
    result = plan([up_dist("a")], down, policy="all")
    assert result["delete"] == {"distributions": ["mine"]}
    assert [(c["name"], c["effect"]) for c in result["conflicts"]] == [("mine", "deleted")]


def test_policy_labeled_deletes_only_its_own():
    down = Down().replicated("a").replicated("gone").hand_made("mine")
    down.replicated("theirs", labels={"UpstreamPulp": OTHER})
    result = plan([up_dist("a")], down, policy="labeled")
    assert result["delete"] == {k: ["gone"] for k in S.OBJECT_KINDS}
    assert result["conflicts"] == []


def test_policy_nodelete_deletes_nothing():
    result = plan([up_dist("a")], Down().replicated("a").replicated("gone"), policy="nodelete")
    assert result["delete"] == {} and not P.is_change(result)


def test_hand_made_distribution_on_wanted_base_path_fails_under_labeled():
    result = plan([up_dist("a")], Down().hand_made("mine", base_path="a"), policy="labeled")
    conflict = result["conflicts"][0]
    assert (conflict["name"], conflict["base_path"], conflict["wanted_by"]) == ("mine", "a", "a")
    assert conflict["effect"].startswith("fails")
    assert result["fails"] is True
    assert result["failures"][0]["name"] == "a"
    # what still happens on a failing run: remote and repository are created, nothing switched
    assert result["create"] == {"repositories": ["a"], "remotes": ["a"]}


def test_hand_made_distribution_on_wanted_base_path_is_taken_over_under_all():
    result = plan([up_dist("a")], Down().hand_made("mine", base_path="a"), policy="all")
    assert result["conflicts"][0]["effect"].startswith("taken over")
    assert result["rename"] == {"distributions": [{"from": "mine", "to": "a"}]}
    assert result["update"] == {"distributions": {"a": ["pulp_labels", "serves"]}}


def test_adopt_labels_the_foreign_distribution_and_replication_renames_it_in_place():
    result = plan([up_dist("a")], Down().hand_made("mine", base_path="a"), policy="labeled", on_foreign="adopt")
    assert [(s["action"], s["name"]) for s in result["adopt"]] == [("label", "mine")]
    assert result["fails"] is False
    assert result["rename"] == {"distributions": [{"from": "mine", "to": "a"}]}


def test_foreign_name_under_labeled_is_skipped_and_reported():
    down = Down().replicated("a", labels={"UpstreamPulp": OTHER})
    result = plan([up_dist("a")], down, policy="labeled")
    assert {c["kind"] for c in result["conflicts"]} == {"distribution", "repository", "remote"}
    assert result["skipped"] == [{"name": "a", "reason": "remote 'a' is not owned by this UpstreamPulp"}]
    assert not P.is_change(result)


def test_base_path_swap_is_a_cycle_and_fails_without_reconcile():
    down = Down().replicated("a").replicated("b")
    result = plan([up_dist("a", base_path="b"), up_dist("b", base_path="a")], down)
    assert [sorted(i["name"] for i in c) for c in result["cycles"]] == [["a", "b"]]
    assert result["fails"] is True and len(result["failures"]) == 2
    assert result["update"] == {"remotes": {"a": ["url"], "b": ["url"]}}


def test_base_path_swap_with_reconcile_renames_through_temporary_names():
    down = Down().replicated("a").replicated("b")
    result = plan([up_dist("a", base_path="b"), up_dist("b", base_path="a")], down, reconcile=True)
    steps = [(s["from"], s["to"]) for s in result["reconcile"]]
    assert len(steps) == 4 and steps[0][1].startswith("a-reconcile")
    assert all(s["kind"] == "distribution" for s in result["reconcile"])
    assert result["rename"] == {"distributions": [{"from": "a", "to": "b"}, {"from": "b", "to": "a"}]}
    assert result["fails"] is False
    assert result["update"]["distributions"] == {"a": ["serves"], "b": ["serves"]}


def test_a_swap_between_an_rpm_and_a_file_distribution_is_reconciled_by_moving_base_paths():
    down = Down().replicated("r", type_path="rpm/rpm").replicated("f")
    ups = [up_dist("r", base_path="f", type_path="rpm/rpm"), up_dist("f", base_path="r")]
    bare = plan(ups, down)
    assert [sorted(i["name"] for i in c) for c in bare["cycles"]] == [["f", "r"]] and bare["fails"] is True
    result = plan(ups, down, reconcile=True)
    assert [(s["action"], s["name"], s["from"], s["to"]) for s in result["reconcile"]] == [
        ("move", "f", "f", "pulpops-reconcile-0-f"), ("move", "r", "r", "f"), ("move", "f", "pulpops-reconcile-0-f", "r")]
    assert result["fails"] is False and result["create"] == {} and result["delete"] == {}
    assert result["update"]["distributions"] == {"f": ["base_path"], "r": ["base_path"]}


def test_three_way_rotation_is_one_cycle():
    down = Down().replicated("a").replicated("b").replicated("c")
    ups = [up_dist("a", base_path="b"), up_dist("b", base_path="c"), up_dist("c", base_path="a")]
    result = plan(ups, down, reconcile=True)
    assert len(result["cycles"]) == 1 and len(result["cycles"][0]) == 3
    assert len(result["reconcile"]) == 6 and result["fails"] is False


def test_upstream_distribution_serving_nothing_is_skipped_and_deleted_as_missing():
    result = plan([up_dist("a", serves=False)], Down().replicated("a"))
    assert result["skipped"] == [{"name": "a", "reason": "serves nothing upstream"}]
    assert result["delete"] == {k: ["a"] for k in S.OBJECT_KINDS}


def test_the_artifacts_distribution_is_ignored():
    result = plan([up_dist("a")], Down().replicated("a").artifacts(), policy="all")
    assert result["delete"] == {} and result["conflicts"] == []


def test_other_plugin_types_are_planned_the_same_way():
    down = Down()
    result = plan([up_dist("c1", type_path="container/container")], down)
    assert result["create"]["distributions"] == ["c1"]
    assert result["predicted_after"]["distributions"][0]["type"] == "container/container"


def test_label_key_is_read_from_the_servers_objects():
    snap = Down().replicated("a", labels={"ReplicaOf": PK}).snapshot()
    assert S.detect_label_key(snap, PK) == "ReplicaOf"
    assert S.detect_label_key(Down().snapshot(), PK) == "UpstreamPulp"


def test_diff_of_two_snapshots_matches_by_href():
    down = Down().replicated("a").replicated("b")
    before = down.snapshot()
    after = P.predict_steps(before, [{"action": "rename", "kind": "distribution", "from": "a", "to": "z"}])
    after["distributions"][1]["base_path"] = "moved"
    after["repositories"] = after["repositories"][:1]
    diff = P.diff_snapshots(before, after)
    assert diff["rename"] == {"distributions": [{"from": "a", "to": "z"}]}
    assert diff["update"] == {"distributions": {"b": ["base_path"]}}
    assert diff["delete"] == {"repositories": ["b"]}


def test_distributions_view_is_the_diff_shape():
    view = P.distributions_view(Down().replicated("a").snapshot())
    assert list(view) == ["a"] and view["a"]["base_path"] == "a" and view["a"]["serves"].startswith("version:")


def test_a_rename_bumps_the_upstream_timestamp_without_new_content():
    result = plan([up_dist("new", base_path="a", since=T2)], Down().replicated("a"), reconcile=True)
    assert result["update"] == {} and result["rename"]["distributions"] == [{"from": "a", "to": "new"}]


def test_upstream_rows_listed_without_href_take_the_type_of_their_endpoint():
    with_href = [up_dist("a"), up_dist("b", serves=False)]
    without = [dict((k, v) for k, v in d.items() if k != "pulp_href") for d in with_href]

    listed = S.upstream_snapshot(without, "file/file")["distributions"]

    assert [(d["name"], d["type"], d["href"]) for d in listed] == [("a", "file/file", None), ("b", "file/file", None)]
    drop_href = [dict(d, href=None) for d in S.upstream_snapshot(with_href)["distributions"]]
    assert listed == drop_href  # the same plan input, whichever way the type is known
    srv = server("labeled")
    assert P.compute_plan({"distributions": listed}, Down().snapshot(), srv) == \
        P.compute_plan(S.upstream_snapshot(with_href), Down().snapshot(), srv)


def test_before_pulpcore_3_113_nothing_is_renamed_in_place_at_a_base_path():
    """Older servers create a second distribution at the base_path, which fails; the plan says so."""
    old = server("all")
    old["base_path_reuse"] = False
    result = plan([up_dist("new", base_path="a")], Down().replicated("a"), srv=old)
    assert result["rename"] == {} and result["fails"] is True
    assert [f["name"] for f in result["failures"]] == ["new"]
    assert "base_path 'a' is taken by distribution 'a'" in result["failures"][0]["error"]
    taken = plan([up_dist("a")], Down().hand_made("mine", base_path="a"), srv=old)
    assert taken["conflicts"][0]["effect"].startswith("fails: base_path taken")
    assert taken["rename"] == {}
    # the reconcile phase renames first, so the server only switches content, on any version
    reconciled = plan([up_dist("new", base_path="a")], Down().replicated("a"), srv=old, reconcile=True)
    assert reconciled["fails"] is False
    assert reconciled["rename"] == {k: [{"from": "a", "to": "new"}] for k in S.OBJECT_KINDS}


def test_the_diff_names_what_a_distribution_serves_in_words():
    repo = "/pulp/d/api/v3/repositories/file/file/0190-r/"
    pub = "/pulp/d/api/v3/publications/file/file/0190-p/"
    names_by_href = {repo: "demo-0001"}

    def publication_version(href):
        return repo + "versions/3/" if href == pub else None

    def words(serves):
        return P.describe_serves(serves, names_by_href, publication_version)

    assert words("version:" + repo + "versions/3/") == "repository demo-0001, version 3"
    assert words("publication:" + pub) == "publication of demo-0001 version 3"
    assert words("repository:" + repo) == "repository demo-0001, its latest version"
    assert words("version:new-version-of:demo-0002") == "repository demo-0002, a new version"
    assert words("version:latest-of:demo-0002") == "repository demo-0002, its latest version"
    assert words(None) == "nothing"
    unknown = "/pulp/d/api/v3/publications/file/file/0190-x/"
    assert words("publication:" + unknown) == "publication " + unknown  # what cannot be named stays an href


def test_the_readable_view_keeps_the_diff_shape():
    snap = Down().replicated("a").snapshot()
    repositories = dict((r["href"], r["name"]) for r in snap["repositories"])
    view = P.readable_view(snap, repositories)
    assert list(view) == ["a"] and view["a"] == {"base_path": "a", "serves": "repository a, version 1"}
