"""The domain lease's logic against an in-memory fake of the content-guard API."""

import json
from datetime import datetime, timedelta

import pytest

from ansible_collections.pulpops.replication.plugins.module_utils.client import PulpError, PulpNotFound, PulpValidationError
from ansible_collections.pulpops.replication.plugins.module_utils.lock import (
    DomainLock,
    Holder,
    LockError,
    default_owner,
    parse_http_date,
    playbook_pid,
)

START = datetime(2026, 1, 1, 12, 0, 0)


class FakeResponse:
    def __init__(self, date):
        self.headers = {"Date": date.strftime("%a, %d %b %Y %H:%M:%S GMT")}


class FakeSession:
    def __init__(self):
        self.hooks = {"response": []}


class FakeServer:
    """Content guards with unique names, server timestamps and a clock the test moves."""

    def __init__(self):
        self.now = START
        self.guards = {}
        self.counter = 0
        self.deletes = []
        self.posts = 0
        self.gets = 0

    def tick(self, seconds):
        self.now += timedelta(seconds=seconds)


class FakeClient:
    domain = "mirror"

    def __init__(self, server):
        self.server = server
        self.session = FakeSession()

    def _answer(self):
        for hook in self.session.hooks["response"]:
            hook(FakeResponse(self.server.now))

    def href(self, path):
        return "/pulp/mirror/api/v3/" + path

    def get(self, path, params=None, allow_404=False):
        self._answer()
        self.server.gets += 1
        found = [g for g in self.server.guards.values() if g["name"] == params["name"]]
        return {"count": len(found), "results": [dict(g) for g in found]}

    def post(self, path, body=None):
        self._answer()
        self.server.posts += 1
        if any(g["name"] == body["name"] for g in self.server.guards.values()):
            raise PulpValidationError("refused", status=400, fields={"name": ["This field must be unique."]})
        self.server.counter += 1
        href = "/pulp/mirror/api/v3/contentguards/core/content_redirect/%04d/" % self.server.counter
        stamp = self.server.now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        guard = {"pulp_href": href, "name": body["name"], "description": body.get("description"),
                 "pulp_created": stamp, "pulp_last_updated": stamp}
        self.server.guards[href] = guard
        return dict(guard)

    def patch(self, href, body):
        self._answer()
        if href not in self.server.guards:
            raise PulpNotFound("PATCH %s: not found (404)" % href, status=404)
        guard = self.server.guards[href]
        guard.update(body)
        guard["pulp_last_updated"] = self.server.now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return dict(guard)

    def delete(self, href, allow_404=False):
        self._answer()
        self.server.deletes.append(href)
        if href not in self.server.guards:
            if allow_404:
                return None
            raise PulpNotFound("DELETE %s: not found (404)" % href, status=404)
        del self.server.guards[href]

    def delete_found(self, href):
        self._answer()
        self.server.deletes.append(href)
        return self.server.guards.pop(href, None) is not None


def make_lock(server, owner, ttl=60, check_mode=False):
    clock = {"t": 0.0}

    def sleep(seconds):
        clock["t"] += seconds
        server.tick(seconds)

    lock = DomainLock(FakeClient(server), name="lock", owner=owner, ttl=ttl, check_mode=check_mode,
                      sleep=sleep, monotonic=lambda: clock["t"])
    return lock


def test_a_free_lock_is_taken_by_one_create_and_records_owner_and_lease():
    server = FakeServer()
    result = make_lock(server, "alice").acquire(timeout=0)
    assert result["acquired"] is True and result["changed"] is True
    assert len(server.guards) == 1
    guard = list(server.guards.values())[0]
    record = json.loads(guard["description"])
    assert record["owner"] == "alice"
    assert record["ttl"] == 60
    assert result["holder"]["expires_at"] == "2026-01-01T12:01:00.000000Z"
    assert result["lock_href"] == guard["pulp_href"]


def test_a_held_lock_fails_after_timeout_naming_holder_and_lease_end():
    server = FakeServer()
    make_lock(server, "alice").acquire(timeout=0)
    with pytest.raises(LockError) as err:
        make_lock(server, "bob").acquire(timeout=5, poll_interval=1)
    assert "held by alice since 2026-01-01T12:00:00.000000Z, lease ends at 2026-01-01T12:01:00.000000Z" in err.value.message
    assert len(server.guards) == 1


def test_the_same_owner_gets_its_live_lock_again_without_a_write():
    server = FakeServer()
    first = make_lock(server, "alice").acquire(timeout=0)
    again = make_lock(server, "alice").acquire(timeout=0)
    assert again["acquired"] is True and again["changed"] is False
    assert again["lock_href"] == first["lock_href"]


def test_a_waiter_gets_the_lock_once_the_holder_releases():
    server = FakeServer()
    alice, bob = make_lock(server, "alice"), make_lock(server, "bob")
    alice.acquire(timeout=0)
    original_sleep = bob._sleep

    def sleep_then_release(seconds):
        original_sleep(seconds)
        if server.now >= START + timedelta(seconds=3) and any(
                json.loads(g["description"])["owner"] == "alice" for g in server.guards.values()):
            alice.release()

    bob._sleep = sleep_then_release
    result = bob.acquire(timeout=30, poll_interval=1)
    assert result["acquired"] is True and result["holder"]["owner"] == "bob"
    assert result["waited"] >= 3


def test_an_expired_lease_is_taken_over_by_deleting_its_own_href_not_before_it_ends():
    server = FakeServer()
    stale = make_lock(server, "crashed", ttl=10).acquire(timeout=0)
    result = make_lock(server, "bob").acquire(timeout=60, poll_interval=2)
    assert result["acquired"] is True
    assert server.deletes == [stale["lock_href"]]
    assert result["holder"]["since"] >= stale["holder"]["expires_at"]
    assert result["lock_href"] != stale["lock_href"]


def test_two_waiters_seeing_one_stale_lease_cannot_both_win():
    server = FakeServer()
    make_lock(server, "crashed", ttl=10).acquire(timeout=0)
    server.tick(11)
    first, second = make_lock(server, "w1"), make_lock(server, "w2")
    # Both read the stale holder; w1 breaks it and takes the lock; then w2 breaks "the same"
    # stale href (404, or 204 on a real server) and its create must fail.
    stale_for_second = second.read()
    assert first.try_acquire()[0] == "acquired"
    second.client.delete(stale_for_second.href, allow_404=True)
    outcome, holder = second.try_acquire()
    assert outcome == "busy" and holder.owner == "w1"
    assert len(server.guards) == 1


def test_release_is_idempotent_and_refuses_another_owners_lock_without_force():
    server = FakeServer()
    make_lock(server, "alice").acquire(timeout=0)
    with pytest.raises(LockError) as err:
        make_lock(server, "bob").release()
    assert "held by alice" in err.value.message and "force" in err.value.message
    assert len(server.guards) == 1
    assert make_lock(server, "bob").release(force=True)["changed"] is True
    assert server.guards == {}
    assert make_lock(server, "alice").release()["changed"] is False


def test_an_uncontended_acquire_and_release_are_one_request_each():
    server = FakeServer()
    taken = make_lock(server, "alice").acquire(timeout=0)
    assert taken["contended"] is False and (server.posts, server.gets) == (1, 0)

    released = make_lock(server, "alice").release(lock_href=taken["lock_href"])

    assert released["changed"] is True and server.guards == {}
    assert (server.posts, server.gets, server.deletes) == (1, 0, [taken["lock_href"]])


def test_release_by_href_never_touches_a_lease_taken_over_since():
    server = FakeServer()
    mine = make_lock(server, "alice", ttl=10).acquire(timeout=0)
    server.tick(11)
    theirs = make_lock(server, "bob").acquire(timeout=0)  # alice's lease ended: bob broke it
    assert theirs["contended"] is True and theirs["lock_href"] != mine["lock_href"]

    late = make_lock(server, "alice").release(lock_href=mine["lock_href"])

    assert late["changed"] is False
    assert list(server.guards) == [theirs["lock_href"]]


def test_release_by_href_refuses_an_href_that_is_no_lease_of_the_domain():
    server = FakeServer()
    taken = make_lock(server, "alice").acquire(timeout=0)
    for href in ("/pulp/mirror/api/v3/distributions/file/file/0001/", "/pulp/mirror/api/v3/contentguards/core/content_redirect/"):
        with pytest.raises(PulpError) as err:
            make_lock(server, "alice").release(lock_href=href)
        assert "lock_href" in err.value.message and href in err.value.message
    assert list(server.guards) == [taken["lock_href"]] and server.deletes == []


def test_a_wait_for_the_lock_is_contended():
    server = FakeServer()
    alice = make_lock(server, "alice", ttl=5)
    alice.acquire(timeout=0)
    result = make_lock(server, "bob").acquire(timeout=30, poll_interval=1)
    assert result["acquired"] is True and result["contended"] is True and result["waited"] > 0


def test_renew_moves_the_lease_end_and_keeps_the_identity():
    server = FakeServer()
    alice = make_lock(server, "alice", ttl=60)
    taken = alice.acquire(timeout=0)
    server.tick(30)
    renewed = alice.renew()
    assert renewed["lock_href"] == taken["lock_href"]
    assert renewed["token"] == taken["token"]
    assert renewed["holder"]["expires_at"] == "2026-01-01T12:01:30.000000Z"
    assert renewed["holder"]["since"] == taken["holder"]["since"]


def test_renew_refuses_a_lock_not_held_or_already_expired():
    server = FakeServer()
    with pytest.raises(LockError):
        make_lock(server, "alice").renew()
    make_lock(server, "alice", ttl=5).acquire(timeout=0)
    with pytest.raises(LockError):
        make_lock(server, "bob").renew()
    server.tick(6)
    with pytest.raises(LockError) as err:
        make_lock(server, "alice").renew()
    assert "ended" in err.value.message


def test_check_mode_writes_nothing_and_reports_free_or_holder():
    server = FakeServer()
    free = make_lock(server, "alice", check_mode=True).acquire(timeout=30)
    assert free["free"] is True and free["acquired"] is False and free["changed"] is True
    assert server.posts == 0 and server.guards == {}
    make_lock(server, "bob").acquire(timeout=0)
    posts = server.posts
    busy = make_lock(server, "alice", check_mode=True).acquire(timeout=30)
    assert busy["free"] is False and busy["holder"]["owner"] == "bob" and busy["waited"] == 0
    released = make_lock(server, "bob", check_mode=True).release()
    assert released["changed"] is True
    assert server.posts == posts and len(server.guards) == 1 and server.deletes == []


def test_a_foreign_guard_with_the_lock_name_is_never_touched():
    server = FakeServer()
    FakeClient(server).post("x", {"name": "lock", "description": "protects the partner portal"})
    with pytest.raises(LockError) as err:
        make_lock(server, "alice").acquire(timeout=60)
    assert "not a pulpops lock" in err.value.message
    with pytest.raises(LockError):
        make_lock(server, "alice").release(force=True)
    assert len(server.guards) == 1 and server.deletes == []


def test_holder_reads_the_lease_end_from_server_timestamps():
    guard = {"pulp_href": "/h/", "pulp_created": "2026-01-01T12:00:00.000000Z",
             "pulp_last_updated": "2026-01-01T12:05:00.000000Z",
             "description": json.dumps({"kind": "pulpops.replication/domain-lock", "owner": "o", "ttl": 60})}
    holder = Holder(guard)
    assert holder.expires_at == "2026-01-01T12:06:00.000000Z"
    assert not holder.expired(datetime(2026, 1, 1, 12, 5, 59))
    assert holder.expired(datetime(2026, 1, 1, 12, 6, 0))


def test_default_owner_names_user_host_process_and_awx_job():
    assert default_owner({"AWX_JOB_ID": "118"}, user="deploy", host="ctl-1", pid=42) == "deploy@ctl-1 pid=42 job=118"
    assert default_owner({}, user="deploy", host="ctl-1", pid=42) == "deploy@ctl-1 pid=42"


def test_playbook_pid_finds_the_outermost_ansible_playbook_ancestor(tmp_path):
    def proc(pid, ppid, cmd):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "cmdline").write_bytes(cmd.replace(" ", "\0").encode())
        (tmp_path / str(pid) / "stat").write_text("%d (py (x)) S %d 0 0" % (pid, ppid))

    proc(10, 1, "/usr/bin/python /venv/bin/ansible-playbook site.yml")
    proc(20, 10, "/usr/bin/python /venv/bin/ansible-playbook site.yml")  # the per-task worker fork
    proc(30, 20, "/bin/sh -c python AnsiballZ_domain_lock.py")
    assert playbook_pid(30, proc=str(tmp_path)) == 10
    assert playbook_pid(99, proc=str(tmp_path)) is None


def test_http_dates_parse_to_naive_utc():
    assert parse_http_date("Thu, 26 Nov 2026 01:18:58 GMT") == datetime(2026, 11, 26, 1, 18, 58)
    assert parse_http_date("nonsense") is None


def test_a_wait_of_thousands_of_polls_times_out_cleanly():
    """Waiting behind a long-held lease at a fraction of a second per poll: thousands of polls, then a clear timeout."""
    server = FakeServer()
    make_lock(server, "alice", ttl=7200).acquire(timeout=0)
    with pytest.raises(LockError) as err:
        make_lock(server, "bob").acquire(timeout=1200, poll_interval=0.5)
    assert "Timed out after 1200s" in err.value.message and "held by alice" in err.value.message
