"""The replication record: when a run may skip, when it must replicate, when a record may be written.

Each test reads as a rule: given what the record says and what both sides hold now, the
decision is unchanged (skip), partial (replicate only what changed) or full.
"""

import json

from ansible_collections.pulpops.replication.plugins.module_utils import record as R
from ansible_collections.pulpops.replication.plugins.module_utils import snapshot as S
from tests.unit.snapshots import PK, T2, Down, href, server, up_dist
from ansible_collections.pulpops.replication.plugins.module_utils import plan as P


def recorded_state(upstream, down, srv=None, latest=None):
    """(server, upstream snapshot, downstream snapshot, entries, plan) of one moment."""
    srv = srv or server("labeled")
    up = S.upstream_snapshot(upstream)
    snap = down.snapshot()
    entries = R.record_entries(up, snap, latest or {}, "UpstreamPulp")
    result = P.compute_plan(up, snap, srv)
    return srv, up, snap, entries, result


def decide(record, upstream, down, **kw):
    srv, _up, _snap, entries, result = recorded_state(upstream, down, srv=kw.pop("srv", None), latest=kw.pop("latest", None))
    return R.record_decision(record, srv, entries, result, **kw)


def verified(upstream, down, srv=None, latest=None, tag="t1"):
    srv, up, snap, entries, result = recorded_state(upstream, down, srv=srv, latest=latest)
    assert R.record_problems(srv, entries) == [] and R.serving_problems(up, snap, "UpstreamPulp", PK) == []
    return R.parse_record(json.dumps(R.make_record(srv, entries, tag=tag)))


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
    assert "cannot be fingerprinted" in R.record_problems(srv, entries)[0]


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
    problems = R.serving_problems(S.upstream_snapshot(upstream), down.snapshot(), "UpstreamPulp", PK)
    assert problems == ["'b' does not serve its repository's latest version"]


def test_foreign_text_in_the_record_guard_is_not_a_record():
    assert R.parse_record("not json") is None
    assert R.parse_record('{"kind": "pulpops.replication/domain-lock"}') is None
    assert R.record_name(PK) != "pulpops-replication-lock"
