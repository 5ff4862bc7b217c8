"""pulpops.replication.upstream_pulp against the real downstream server of the lab.

Every step is run first in check mode (the server must not move by one byte) with --diff,
and the diff it predicts must be the diff the real run then reports.
"""

import json

import pytest

from tests.integration.harness import run_play, unique

SECRET = "upstream-Pa55-do-not-leak"
KEY_SECRET = "-----BEGIN PRIVATE KEY-----\nNOT-A-REAL-KEY-but-secret-4711\n-----END PRIVATE KEY-----"


def state_of(client):
    """The server's UpstreamPulps, exactly as it serves them."""
    return json.dumps(client.list_all("upstream-pulps/"), sort_keys=True)


@pytest.fixture
def name(downstream):
    """A fresh UpstreamPulp name (the server keeps these unique across all its domains); removed afterwards."""
    value = unique("central")
    yield value
    found = downstream.find("upstream-pulps/", name=value)
    if found:
        downstream.delete(found["pulp_href"])


def task(lab, pulp_domain, name, **options):
    return {"pulpops.replication.upstream_pulp": dict(lab.connection(pulp_domain), name=name, **options)}


def check_then_run(lab, downstream, pulp_domain, name, **options):
    """Run one step in check mode, prove nothing moved, then for real; return (check, real)."""
    before = state_of(downstream)
    check = run_play([task(lab, pulp_domain, name, **options)], check=True, diff=True)
    assert not check[0].get("failed"), check
    assert state_of(downstream) == before
    real = run_play([task(lab, pulp_domain, name, **options)], diff=True)
    assert not real[0].get("failed"), real
    assert check[0]["changed"] == real[0]["changed"]
    assert check[0]["diff"] == real[0]["diff"]
    return check[0], real[0]


def test_upstream_pulp_lifecycle(lab, downstream, domains, name):
    wanted = dict(base_url=lab.upstream_url, api_root="/pulp/", domain=domains, upstream_username="replicator",
                  upstream_password=SECRET, policy="labeled", tls_validation=True)

    # Given no UpstreamPulp, when it is created, then the server holds exactly what was asked.
    _ignored, created = check_then_run(lab, downstream, domains, name, **wanted)
    assert created["changed"] is True
    server = downstream.find("upstream-pulps/", name=name)
    assert server["base_url"] == lab.upstream_url and server["policy"] == "labeled" and server["domain"] == domains
    assert created["upstream_pulp"]["password"] == "is set"
    assert created["upstream_pulp"]["username"] == "is set"
    assert created["diff"]["before"] == {}

    # When the same options run again, nothing is PATCHed: pulp_last_updated does not move.
    stamp = server["pulp_last_updated"]
    _ignored, again = check_then_run(lab, downstream, domains, name, **wanted)
    assert again["changed"] is False
    assert downstream.find("upstream-pulps/", name=name)["pulp_last_updated"] == stamp

    # When one option changes, only that one is written.
    changed_options = {**wanted, "policy": "nodelete", "q_select": 'name="x"'}
    _ignored, updated = check_then_run(lab, downstream, domains, name, **changed_options)
    assert updated["changed"] is True
    assert updated["diff"]["before"]["policy"] == "labeled" and updated["diff"]["after"]["policy"] == "nodelete"
    server = downstream.find("upstream-pulps/", name=name)
    assert server["policy"] == "nodelete" and server["q_select"] == 'name="x"'
    assert server["base_url"] == lab.upstream_url

    # When it is removed, it is gone; removing it again changes nothing.
    _ignored, deleted = check_then_run(lab, downstream, domains, name, state="absent")
    assert deleted["changed"] is True and deleted["upstream_pulp"] == {}
    assert downstream.find("upstream-pulps/", name=name) is None
    _ignored, gone = check_then_run(lab, downstream, domains, name, state="absent")
    assert gone["changed"] is False


def test_update_password_always_rewrites_on_every_run(lab, downstream, domains, name):
    options = dict(base_url=lab.upstream_url, upstream_password=SECRET)
    run_play([task(lab, domains, name, **options)])
    stamp = downstream.find("upstream-pulps/", name=name)["pulp_last_updated"]

    on_create = run_play([task(lab, domains, name, **options)])
    assert on_create[0]["changed"] is False

    always = run_play([task(lab, domains, name, update_password="always", **options)], diff=True)
    assert always[0]["changed"] is True
    assert always[0]["diff"]["after"]["password"] == "is set (rewritten)"
    assert downstream.find("upstream-pulps/", name=name)["pulp_last_updated"] != stamp


def test_no_secret_in_a_verbose_diff_run(lab, domains, name):
    options = dict(base_url=lab.upstream_url, upstream_username="replicator", upstream_password=SECRET,
                   upstream_client_key=KEY_SECRET)
    play = run_play([task(lab, domains, name, **options),
                     task(lab, domains, name, update_password="always", **options),
                     task(lab, domains, name, state="absent")], diff=True, verbosity=3)
    assert play.rc == 0, play
    assert [r["changed"] for r in play.results] == [True, True, True], play.results
    for secret in (SECRET, "NOT-A-REAL-KEY", lab.password):
        assert secret not in play.output
        assert secret not in json.dumps(play.results)


def test_bad_input_gives_one_line_and_changes_nothing(lab, downstream, domains, name):
    # The server keeps UpstreamPulp names unique across its domains: one in another domain blocks ours.
    other = lab.create_domain("downstream", unique("other"))
    elsewhere = lab.client("downstream", domain=other).post(
        "upstream-pulps/", {"name": name + "-x", "base_url": lab.upstream_url, "api_root": "/pulp/"})
    before = state_of(downstream)
    play = run_play([
        # a create without base_url
        task(lab, domains, name, policy="labeled"),
        # an option the module does not know
        task(lab, domains, name, base_url=lab.upstream_url, pulp_label_select="a=b"),
        # a value the server refuses
        task(lab, domains, name, base_url=lab.upstream_url, download_concurrency=-5),
        # a name the server already holds in another domain
        task(lab, domains, name + "-x", base_url=lab.upstream_url),
    ])
    lab.client("downstream", domain=other).delete(elsewhere["pulp_href"])
    missing, unknown, refused, taken = play.results
    assert missing["failed"] and "base_url" in missing["msg"] and "\n" not in missing["msg"]
    assert unknown["failed"] and "pulp_label_select" in unknown["msg"] and "\n" not in unknown["msg"]
    assert refused["failed"] and "download_concurrency" in refused["msg"] and "\n" not in refused["msg"]
    assert taken["failed"] and "unique across all domains" in taken["msg"] and "\n" not in taken["msg"]
    assert state_of(downstream) == before
