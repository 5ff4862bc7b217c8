"""The replication plan, from hand-built snapshots shaped like the API's answers.

Each test reads: given an upstream and a downstream domain, the plan says what the
server's replication would do (create, update, rename, delete, conflicts, cycles).
"""

import uuid

from ansible_collections.pulpops.replication.plugins.module_utils import plan as P

PK = "0190aaaa-0000-7000-8000-000000000001"
OTHER = "0190bbbb-0000-7000-8000-000000000002"
LABEL = {"UpstreamPulp": PK}
UP = "http://up.example:24816/pulp/content/d/"
T0 = "2026-01-01T00:00:00Z"   # upstream content published
T1 = "2026-01-02T00:00:00Z"   # last replication
T2 = "2026-01-03T00:00:00Z"   # something changed upstream after it


def href(kind, type_path="file/file"):
    return "/pulp/d/api/v3/%s/%s/%s/" % (kind, type_path, uuid.uuid4())


def up_dist(name, base_path=None, serves=True, since=T0, type_path="file/file"):
    base_path = base_path or name
    return {"pulp_href": href("distributions", type_path), "name": name, "base_path": base_path,
            "base_url": UP + base_path + "/", "pulp_labels": {}, "repository": None, "repository_version": None,
            "publication": href("publications") if serves else None,
            "no_content_change_since": since if serves else None}


class Down(object):
    """A downstream domain built object by object, as replication (or a person) left it."""

    def __init__(self):
        self.dists, self.repos, self.remotes = [], [], []

    def replicated(self, name, base_path=None, labels=None, up_base_path=None):
        labels = dict(LABEL) if labels is None else labels
        repo = {"pulp_href": href("repositories"), "name": name, "pulp_labels": dict(labels)}
        repo["latest_version_href"] = repo["pulp_href"] + "versions/1/"
        self.repos.append(repo)
        self.remotes.append({"pulp_href": href("remotes"), "name": name, "pulp_labels": dict(labels),
                             "url": UP + (up_base_path or base_path or name) + "/PULP_MANIFEST"})
        self.dists.append({"pulp_href": href("distributions"), "name": name, "base_path": base_path or name,
                           "pulp_labels": dict(labels), "repository": None, "publication": None,
                           "repository_version": repo["latest_version_href"]})
        return self

    def hand_made(self, name, base_path=None):
        self.dists.append({"pulp_href": href("distributions"), "name": name, "base_path": base_path or name,
                           "pulp_labels": {}, "repository": None, "publication": href("publications"),
                           "repository_version": None})
        return self

    def artifacts(self):
        self.dists.append({"pulp_href": "/pulp/d/api/v3/distributions/core/artifacts/x/", "name": "artifacts",
                           "base_path": "artifacts", "pulp_labels": {}})
        return self

    def snapshot(self):
        return P.downstream_snapshot(self.dists, self.repos, self.remotes)


def server(policy="all", last=T1, exists=True):
    return P.server_view({"pulp_href": "/pulp/d/api/v3/upstream-pulps/%s/" % PK, "policy": policy,
                          "q_select": None, "last_replication": last, "pulp_last_updated": T0} if exists else None,
                         policy=policy)


def plan(upstream, down, policy="all", **kw):
    srv = kw.pop("srv", None) or server(policy)
    return P.compute_plan(P.upstream_snapshot(upstream), down.snapshot(), srv, **kw)


def names(*items):
    return sorted(items)


def test_first_replication_creates_remote_repository_and_distribution_for_each():
    result = plan([up_dist("a"), up_dist("b")], Down(), srv=server(last=None))
    assert result["create"] == {k: ["a", "b"] for k in P.KINDS}
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
    assert result["create"] == {k: ["c"] for k in P.KINDS}
    assert result["unchanged"] == ["a"]


def test_upstream_removal_deletes_all_three_objects():
    result = plan([up_dist("a")], Down().replicated("a").replicated("gone"))
    assert result["delete"] == {k: ["gone"] for k in P.KINDS}


def test_repoint_upstream_after_last_replication_switches_content():
    result = plan([up_dist("a", since=T2), up_dist("b")], Down().replicated("a").replicated("b"))
    assert result["update"] == {"distributions": {"a": ["serves"]}}
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
    assert result["rename"] == {k: [{"from": "a", "to": "new"}] for k in P.KINDS}
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
    assert result["delete"] == {k: ["gone"] for k in P.KINDS}
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


def test_three_way_rotation_is_one_cycle():
    down = Down().replicated("a").replicated("b").replicated("c")
    ups = [up_dist("a", base_path="b"), up_dist("b", base_path="c"), up_dist("c", base_path="a")]
    result = plan(ups, down, reconcile=True)
    assert len(result["cycles"]) == 1 and len(result["cycles"][0]) == 3
    assert len(result["reconcile"]) == 6 and result["fails"] is False


def test_upstream_distribution_serving_nothing_is_skipped_and_deleted_as_missing():
    result = plan([up_dist("a", serves=False)], Down().replicated("a"))
    assert result["skipped"] == [{"name": "a", "reason": "serves nothing upstream"}]
    assert result["delete"] == {k: ["a"] for k in P.KINDS}


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
    assert P.detect_label_key(snap, PK) == "ReplicaOf"
    assert P.detect_label_key(Down().snapshot(), PK) == "UpstreamPulp"


def test_diff_of_two_snapshots_matches_by_href():
    down = Down().replicated("a").replicated("b")
    before = down.snapshot()
    after = P.apply_steps(before, [{"action": "rename", "kind": "distribution", "from": "a", "to": "z"}])
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

    listed = P.upstream_snapshot(without, "file/file")["distributions"]

    assert [(d["name"], d["type"], d["href"]) for d in listed] == [("a", "file/file", None), ("b", "file/file", None)]
    drop_href = [dict(d, href=None) for d in P.upstream_snapshot(with_href)["distributions"]]
    assert listed == drop_href  # the same plan input, whichever way the type is known
    srv = server("labeled")
    assert P.compute_plan({"distributions": listed}, Down().snapshot(), srv) == \
        P.compute_plan(P.upstream_snapshot(with_href), Down().snapshot(), srv)


# ------------------------------------------------------------------ the record of a verified replication (issue 10)
def recorded_state(upstream, down, srv=None, latest=None):
    """(server, upstream snapshot, downstream snapshot, entries, plan) of one moment."""
    srv = srv or server("labeled")
    up = P.upstream_snapshot(upstream)
    snap = down.snapshot()
    entries = P.record_entries(up, snap, latest or {}, "UpstreamPulp")
    result = P.compute_plan(up, snap, srv)
    return srv, up, snap, entries, result


def decide(record, upstream, down, **kw):
    srv, _up, _snap, entries, result = recorded_state(upstream, down, srv=kw.pop("srv", None), latest=kw.pop("latest", None))
    return P.record_decision(record, srv, entries, result, **kw)


def verified(upstream, down, srv=None, latest=None, tag="t1"):
    srv, up, snap, entries, result = recorded_state(upstream, down, srv=srv, latest=latest)
    assert P.record_problems(srv, entries) == [] and P.serving_problems(up, snap, "UpstreamPulp", PK) == []
    return P.parse_record(__import__("json").dumps(P.make_record(srv, entries, tag=tag)))


def two():
    return [up_dist("a"), up_dist("b")], Down().replicated("a").replicated("b")


def test_nothing_changed_since_the_record_is_unchanged():
    upstream, down = two()
    record = verified(upstream, down)
    decision = decide(record, upstream, down, tag="t1")
    assert decision == {"unchanged": True, "reasons": [], "changed": [], "partial_q_select": None, "resync": []}


def test_no_record_means_replicate():
    upstream, down = two()
    decision = decide(None, upstream, down)
    assert decision["unchanged"] is False and "no record" in decision["reasons"][0]


def test_a_new_publication_upstream_replicates_just_that_distribution():
    upstream, down = two()
    record = verified(upstream, down)
    upstream[1] = dict(upstream[1], publication=href("publications"), no_content_change_since=T2)
    decision = decide(record, upstream, down)
    assert decision["unchanged"] is False
    assert decision["changed"] == ["b"]
    assert decision["partial_q_select"] == 'name__in="b"'


def test_partial_keeps_the_stored_q_select_and_needs_pulpcore_3_113():
    upstream, down = two()
    srv = dict(server("labeled"), q_select='name__startswith="a"')
    record = verified(upstream, down, srv=srv)
    upstream[0] = dict(upstream[0], publication=href("publications"))
    assert decide(record, upstream, down, srv=srv)["partial_q_select"] == '(name__startswith="a") AND name__in="a"'
    assert decide(record, upstream, down, srv=srv, partial_supported=False)["partial_q_select"] is None


def test_a_new_latest_version_of_a_served_repository_is_a_change():
    repo = href("repositories")
    upstream = [dict(up_dist("a"), publication=None, repository=repo, no_content_change_since=None)]
    down = Down().replicated("a")
    record = verified(upstream, down, latest={repo: repo + "versions/1/"})
    assert decide(record, upstream, down, latest={repo: repo + "versions/1/"})["unchanged"] is True
    assert decide(record, upstream, down, latest={repo: repo + "versions/2/"})["changed"] == ["a"]


def test_an_unknown_latest_version_is_never_unchanged_and_never_recorded():
    repo = href("repositories")
    upstream = [dict(up_dist("a"), publication=None, repository=repo, no_content_change_since=None)]
    srv, _up, _snap, entries, _result = recorded_state(upstream, Down().replicated("a"))
    assert entries["a"][0] is None
    assert "cannot be fingerprinted" in P.record_problems(srv, entries)[0]


def test_a_changed_base_path_is_a_change():
    upstream, down = two()
    record = verified(upstream, down)
    upstream[0] = dict(upstream[0], base_path="moved/a")
    decision = decide(record, upstream, down)
    assert decision["unchanged"] is False and "a" in decision["changed"]


def test_a_removed_upstream_distribution_replicates_in_full():
    upstream, down = two()
    record = verified(upstream, down)
    decision = decide(record, upstream[:1], down)
    assert decision["unchanged"] is False
    assert any("no longer has 'b'" in r for r in decision["reasons"])
    assert decision["partial_q_select"] is None  # the deletion needs remove_missing


def test_a_downstream_repository_deleted_by_hand_is_a_change():
    upstream, down = two()
    record = verified(upstream, down)
    down.repos = [r for r in down.repos if r["name"] != "b"]
    decision = decide(record, upstream, down)
    assert decision["unchanged"] is False and decision["changed"] == ["b"]
    assert decision["resync"] == ["b"]  # the server would not sync a recreated repository by itself
    assert decision["partial_q_select"] == 'name__in="b"'


def test_a_downstream_distribution_switched_by_hand_is_a_change():
    upstream, down = two()
    record = verified(upstream, down)
    down.dists[0] = dict(down.dists[0], repository_version=href("repositories") + "versions/7/")
    assert decide(record, upstream, down)["changed"] == ["a"]


def test_any_change_of_the_upstream_pulp_or_the_settings_replicates_in_full():
    upstream, down = two()
    record = verified(upstream, down)
    patched = dict(server("labeled"), pulp_last_updated=T2)
    decision = decide(record, upstream, down, srv=patched)
    assert decision["unchanged"] is False and "pulp_last_updated" in decision["reasons"][0]
    assert decide(record, upstream, down, tag="other")["unchanged"] is False
    assert decide(record, upstream, down, neighbours=[{"name": "x", "policy": "all"}])["unchanged"] is False
    assert decide(record, upstream, down, srv=dict(server("labeled"), last_replication=T2))["unchanged"] is False


def test_a_per_request_q_select_never_skips():
    upstream, down = two()
    record = verified(upstream, down)
    assert decide(record, upstream, down, request_q_select='name="a"')["unchanged"] is False


def test_names_the_filter_grammar_cannot_quote_are_replicated_in_full():
    upstream = [up_dist("a,b"), up_dist("c")]
    down = Down().replicated("a,b").replicated("c")
    record = verified(upstream, down)
    upstream[0] = dict(upstream[0], publication=href("publications"))
    decision = decide(record, upstream, down)
    assert decision["changed"] == ["a,b"] and decision["partial_q_select"] is None


def test_every_distribution_changed_is_a_full_replication():
    upstream, down = two()
    record = verified(upstream, down)
    upstream = [dict(u, publication=href("publications")) for u in upstream]
    decision = decide(record, upstream, down)
    assert decision["changed"] == ["a", "b"] and decision["partial_q_select"] is None


def test_a_record_is_refused_when_the_downstream_does_not_serve_the_latest_version():
    upstream, down = two()
    down.dists[1] = dict(down.dists[1], repository_version=None, publication=None)
    problems = P.serving_problems(P.upstream_snapshot(upstream), down.snapshot(), "UpstreamPulp", PK)
    assert problems == ["'b' does not serve its repository's latest version"]


def test_foreign_text_in_the_record_guard_is_not_a_record():
    assert P.parse_record("not json") is None
    assert P.parse_record('{"kind": "pulpops.replication/domain-lock"}') is None
    assert P.record_name(PK) != "pulpops-replication-lock"


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
    assert reconciled["rename"] == {k: [{"from": "a", "to": "new"}] for k in P.KINDS}
