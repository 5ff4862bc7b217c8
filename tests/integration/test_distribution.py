"""pulpops.replication.distribution against the real downstream server of the lab.

Every step runs first in check mode with --diff (the server must not move by one byte), and
the diff it predicts must be the diff the real run then reports.
"""

import json
import threading

import requests

from tests.integration.harness import run_play


def state_of(client):
    """Every distribution of the domain, exactly as the server serves them."""
    return json.dumps(client.list_all("distributions/file/file/"), sort_keys=True)


def task(lab, domain, **options):
    return {"pulpops.replication.distribution": dict(lab.connection(domain), **options)}


def check_then_run(lab, downstream, domain, **options):
    before = state_of(downstream)
    check = run_play([task(lab, domain, **options)], check=True, diff=True)
    assert not check[0].get("failed"), check
    assert state_of(downstream) == before
    real = run_play([task(lab, domain, **options)], diff=True)
    assert not real[0].get("failed"), real
    assert check[0]["changed"] == real[0]["changed"]
    assert check[0]["diff"] == real[0]["diff"]
    return check[0], real[0]


def test_distribution_lifecycle(lab, downstream, domains):
    lab.seed(domains, count=2, prefix="r-", server="downstream")
    repo_one = downstream.find("repositories/file/file/", name="r-0001")
    repo_two = downstream.find("repositories/file/file/", name="r-0002")

    # Given a repository, when a distribution of it is created by name, it serves that repository.
    _ignored, created = check_then_run(lab, downstream, domains, name="tools", base_path="tools", repository="r-0001",
                                       pulp_labels={"team": "ops"})
    assert created["changed"] is True
    server = downstream.find("distributions/file/file/", name="tools")
    assert server["repository"] == repo_one["pulp_href"] and server["pulp_labels"] == {"team": "ops"}
    assert created["distribution"]["pulp_href"] == server["pulp_href"]

    # When the same run repeats, nothing is written.
    _ignored, again = check_then_run(lab, downstream, domains, name="tools", base_path="tools", repository="r-0001",
                                     pulp_labels={"team": "ops"})
    assert again["changed"] is False
    assert downstream.find("distributions/file/file/", name="tools")["pulp_last_updated"] == server["pulp_last_updated"]

    # When it is pointed at a fixed version of another repository, the repository is cleared.
    _ignored, updated = check_then_run(lab, downstream, domains, name="tools", repository_version="r-0002/1")
    assert updated["changed"] is True
    server = downstream.find("distributions/file/file/", name="tools")
    assert server["repository_version"] == repo_two["versions_href"] + "1/"
    assert server["repository"] is None
    assert updated["diff"]["before"]["repository"] == repo_one["pulp_href"]
    assert updated["diff"]["after"]["repository"] is None

    # When it is removed, it is gone; a second removal changes nothing.
    _ignored, deleted = check_then_run(lab, downstream, domains, name="tools", state="absent")
    assert deleted["changed"] is True and deleted["distribution"] == {}
    assert downstream.find("distributions/file/file/", name="tools") is None
    _ignored, gone = check_then_run(lab, downstream, domains, name="tools", state="absent")
    assert gone["changed"] is False


def test_rename_in_place_never_stops_serving(lab, downstream, domains):
    lab.seed(domains, count=1, prefix="web-", server="downstream")
    url = lab.content_url("downstream", domains, "web-0001", "web-0001.txt")
    assert requests.get(url, timeout=10).status_code == 200

    statuses = []
    stop = threading.Event()

    def fetch():
        while not stop.is_set():
            try:
                statuses.append(requests.get(url, timeout=10).status_code)
            except requests.RequestException as exc:
                statuses.append(repr(exc))

    fetcher = threading.Thread(target=fetch)
    fetcher.start()
    try:
        # Given the distribution web-0001 at web-0001, when it is matched by base_path under a
        # new name, then it is renamed in place.
        _ignored, renamed = check_then_run(lab, downstream, domains, name="website", base_path="web-0001",
                                           match="base_path")
    finally:
        stop.set()
        fetcher.join()

    assert renamed["changed"] is True
    assert renamed["diff"] == {"before": {"name": "web-0001", "base_path": "web-0001"},
                               "after": {"name": "website", "base_path": "web-0001"}}
    server = downstream.find("distributions/file/file/", base_path="web-0001")
    assert server["name"] == "website"
    assert downstream.find("distributions/file/file/", name="web-0001") is None
    # ... and its content answered every single fetch while that happened.
    assert statuses and set(statuses) == {200}


def test_content_guard_by_name(lab, downstream, domains):
    lab.seed(domains, count=1, prefix="g-", server="downstream")
    guard = downstream.post("contentguards/core/rbac/", {"name": "staff-only"})
    _ignored, guarded = check_then_run(lab, downstream, domains, name="g-0001", content_guard="staff-only")
    assert guarded["changed"] is True
    assert downstream.find("distributions/file/file/", name="g-0001")["content_guard"] == guard["pulp_href"]
    _ignored, unguarded = check_then_run(lab, downstream, domains, name="g-0001", content_guard="")
    assert unguarded["changed"] is True
    assert downstream.find("distributions/file/file/", name="g-0001")["content_guard"] is None


def test_no_secret_in_a_verbose_diff_run(lab, domains):
    play = run_play([task(lab, domains, name="quiet", base_path="quiet"),
                     task(lab, domains, name="quiet", state="absent")], diff=True, verbosity=3)
    assert play.rc == 0, play
    assert lab.password not in play.output
    assert lab.password not in json.dumps(play.results)


def test_bad_input_gives_one_line_and_changes_nothing(lab, downstream, domains):
    lab.seed(domains, count=1, prefix="b-", server="downstream")
    before = state_of(downstream)
    play = run_play([
        # a create without base_path
        task(lab, domains, name="nobase", repository="b-0001"),
        # a repository that does not exist
        task(lab, domains, name="ghost", base_path="ghost", repository="no-such-repo"),
        # a base_path another distribution serves
        task(lab, domains, name="thief", base_path="b-0001"),
        # an option the module does not know
        task(lab, domains, name="odd", base_path="odd", remote="x"),
        # a plugin type the server does not have
        task(lab, domains, name="debs", base_path="debs", type="deb"),
        # a name missing altogether
        task(lab, domains, base_path="anon"),
    ])
    missing, unknown_repo, taken, unsupported, no_plugin, no_name = play.results
    for result in play.results:
        assert result["failed"] and "\n" not in result["msg"], result
    assert "base_path" in missing["msg"]
    assert "repository 'no-such-repo'" in unknown_repo["msg"]
    assert "'b-0001'" in taken["msg"] and "already taken" in taken["msg"]
    assert "remote" in unsupported["msg"]
    assert no_plugin["msg"].startswith("option 'type'") and "'deb'" in no_plugin["msg"]
    assert "name" in no_name["msg"]
    assert state_of(downstream) == before
