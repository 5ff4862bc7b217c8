"""pulpops.replication.domain_lock against the real downstream server.

Every scenario works in its own domain. Contenders are real OS processes: python processes
that use module_utils/lock.py directly (fast), plus ansible-playbook runs of the module.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest
import yaml

from ansible_collections.pulpops.replication.plugins.module_utils.lock import DomainLock, Holder, LockError

from tests.conftest import COLLECTIONS
from tests.integration.harness import ANSIBLE_PLAYBOOK, run_play, unique

GUARDS = "contentguards/"
LOCK = "pulpops-replication-lock"

CONTENDER = textwrap.dedent("""
    import sys, time
    from ansible_collections.pulpops.replication.plugins.module_utils.client import PulpClient
    from ansible_collections.pulpops.replication.plugins.module_utils.lock import DomainLock
    url, user, password, domain, ident, log, ttl, hold = sys.argv[1:9]
    lock = DomainLock(PulpClient(url, username=user, password=password, domain=domain),
                      owner="contender-" + ident, ttl=int(ttl))
    lock.client.login()
    lock.acquire(timeout=300, poll_interval=0.5)
    with open(log, "a") as handle:
        handle.write("start %s %.6f\\n" % (ident, time.time()))
    print("acquired", flush=True)
    if hold == "forever":
        time.sleep(3600)
    time.sleep(float(hold))
    with open(log, "a") as handle:
        handle.write("end %s %.6f\\n" % (ident, time.time()))
    lock.release()
""")


def spawn_contender(lab, domain, ident, log, ttl=120, hold="0.3"):
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    return subprocess.Popen([sys.executable, "-c", CONTENDER, lab.downstream_url, lab.username, lab.password,
                             domain, str(ident), log, str(ttl), hold],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def intervals(log):
    """{ident: (start, end)} from the shared log."""
    spans = {}
    with open(log) as handle:
        for line in handle:
            kind, ident, moment = line.split()
            spans.setdefault(ident, [None, None])[0 if kind == "start" else 1] = float(moment)
    return spans


def assert_one_holder_at_a_time(spans):
    ordered = sorted(spans.items(), key=lambda item: item[1][0])
    for (first, (_first_start, first_end)), (second, (second_start, _second_end)) in zip(ordered, ordered[1:]):
        assert first_end is not None, "%s never ended" % first
        assert second_start >= first_end, "%s started before %s ended" % (second, first)


def lock_tasks(conn, owner, log, ident, hold=0.3, **extra):
    """acquire, log start, hold, log end, release: the shape of a replication run."""
    return [
        {"pulpops.replication.domain_lock": dict(conn, owner=owner, timeout=300, poll_interval=0.5, **extra)},
        {"ansible.builtin.shell": "echo start %s $(date +%%s.%%N) >> %s" % (ident, log)},
        {"ansible.builtin.shell": "sleep %s; echo end %s $(date +%%s.%%N) >> %s" % (hold, ident, log)},
        {"pulpops.replication.domain_lock": dict(conn, owner=owner, state="released")},
    ]


def guards_named(client, name=LOCK):
    return client.get(GUARDS, params={"name": name})["results"]


def test_eight_processes_take_turns_and_each_gets_its_turn(lab, domains, tmp_path):
    log = str(tmp_path / "turns.log")
    play = {}

    def playbook_contender():
        play["result"] = run_play(lock_tasks(lab.connection(domains), "contender-8", log, 8), ignore_errors=False)

    thread = threading.Thread(target=playbook_contender)
    thread.start()
    procs = [spawn_contender(lab, domains, ident, log) for ident in range(1, 8)]
    outputs = [proc.communicate(timeout=600) for proc in procs]
    thread.join(timeout=600)

    assert [proc.returncode for proc in procs] == [0] * 7, outputs
    assert play["result"].rc == 0, play["result"]
    assert play["result"][0]["acquired"] is True
    spans = intervals(log)
    assert sorted(spans) == [str(i) for i in range(1, 9)]
    assert all(start is not None and end is not None for start, end in spans.values())
    assert_one_holder_at_a_time(spans)
    assert guards_named(lab.client("downstream", domain=domains)) == []


def test_a_killed_holder_is_taken_over_when_its_lease_ends_and_not_before(lab, domains, downstream, tmp_path):
    log = str(tmp_path / "turns.log")
    holder = spawn_contender(lab, domains, "killed", log, ttl=10, hold="forever")
    assert holder.stdout.readline().strip() == "acquired"
    (stale,) = guards_named(downstream)
    stale_end = Holder(stale).expires_at
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()

    # Right after the kill the dead holder's lease still runs: nobody may take it.
    early = DomainLock(lab.client("downstream", domain=domains), owner="early")
    with pytest.raises(LockError) as refused:
        early.acquire(timeout=0)
    assert "held by contender-killed since" in refused.value.message
    assert guards_named(downstream) == [stale]

    taken = run_play([
        {"pulpops.replication.domain_lock": dict(lab.connection(domains), owner="next", timeout=120, poll_interval=1)},
    ])[0]
    assert taken["acquired"] is True and taken["changed"] is True
    assert taken["lock_href"] != stale["pulp_href"]
    # Server timestamps on both sides: the new lease began at or after the old one ended.
    assert taken["holder"]["since"] >= stale_end
    assert downstream.get(stale["pulp_href"], allow_404=True) is None


def test_acquire_release_renew_and_check_mode_through_the_module(lab, domains, downstream):
    conn = lab.connection(domains)
    peek_free = run_play([{"pulpops.replication.domain_lock": dict(conn, owner="alice")}], check=True)
    assert peek_free[0]["free"] is True and peek_free[0]["acquired"] is False
    assert guards_named(downstream) == []

    result = run_play([
        {"pulpops.replication.domain_lock": dict(conn, owner="alice", ttl=600)},
        {"pulpops.replication.domain_lock": dict(conn, owner="alice", ttl=600)},
        {"pulpops.replication.domain_lock": dict(conn, owner="bob", timeout=0)},
        {"pulpops.replication.domain_lock": dict(conn, owner="bob", state="released")},
        {"pulpops.replication.domain_lock": dict(conn, owner="alice", state="renewed", ttl=1200)},
    ])
    taken, again, bob_waits, bob_releases, renewed = result.results
    assert taken["acquired"] is True and taken["changed"] is True and taken["owner"] == "alice"
    assert again["acquired"] is True and again["changed"] is False
    assert bob_waits["failed"] is True and "held by alice since" in bob_waits["msg"] and "lease ends at" in bob_waits["msg"]
    assert bob_releases["failed"] is True and "force" in bob_releases["msg"]
    assert renewed["changed"] is True and renewed["lock_href"] == taken["lock_href"]
    assert renewed["holder"]["expires_at"] > taken["holder"]["expires_at"]
    (guard,) = guards_named(downstream)
    assert json.loads(guard["description"])["owner"] == "alice"

    peek_held = run_play([{"pulpops.replication.domain_lock": dict(conn, owner="bob")}], check=True)
    assert peek_held[0]["free"] is False and peek_held[0]["holder"]["owner"] == "alice"
    assert guards_named(downstream) == [guard]

    result = run_play([
        {"pulpops.replication.domain_lock": dict(conn, owner="alice", state="released")},
        {"pulpops.replication.domain_lock": dict(conn, owner="alice", state="released")},
    ])
    assert [r["changed"] for r in result.results] == [True, False]
    assert guards_named(downstream) == []


def run_inventory_play(play, tmpdir):
    """ansible-playbook with two local hosts of one play (aliases of localhost)."""
    inventory = os.path.join(tmpdir, "hosts.yml")
    with open(inventory, "w") as handle:
        yaml.safe_dump({"all": {"hosts": {
            name: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
            for name in ("pulp-a", "pulp-b")}}}, handle)
    playbook = os.path.join(tmpdir, "play.yml")
    with open(playbook, "w") as handle:
        yaml.safe_dump([play], handle, sort_keys=False)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=os.path.join(tmpdir, "tmp"), ANSIBLE_FORKS="5")
    return subprocess.run([ANSIBLE_PLAYBOOK, "-i", inventory, playbook], env=env, cwd=tmpdir,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600, check=False)


def two_host_play(lab, domain, log, owner, timeout=120, **play_options):
    conn = lab.connection(domain)
    play = {"hosts": "all", "gather_facts": False, "tasks": [
        {"name": "wait for our turn",
         "pulpops.replication.domain_lock": dict(conn, owner=owner, timeout=timeout, poll_interval=0.5)},
        {"name": "replicate (stand-in)", "block": [
            {"ansible.builtin.shell": "echo start {{ inventory_hostname }} $(date +%%s.%%N) >> %s" % log},
            {"ansible.builtin.shell": "sleep 1; echo end {{ inventory_hostname }} $(date +%%s.%%N) >> %s" % log},
        ], "always": [
            {"pulpops.replication.domain_lock": dict(conn, owner=owner, state="released")},
        ]},
    ]}
    play.update(play_options)
    return play


def test_two_hosts_of_one_play_take_turns_with_serial_1(lab, domains, tmp_path):
    log = str(tmp_path / "turns.log")
    # The default owner (the same ansible-playbook process for both hosts) is enough here.
    play = two_host_play(lab, domains, log, owner=None, serial=1)
    play["tasks"][0]["pulpops.replication.domain_lock"].pop("owner")
    play["tasks"][1]["always"][0]["pulpops.replication.domain_lock"].pop("owner")
    run = run_inventory_play(play, str(tmp_path))
    assert run.returncode == 0, run.stdout
    spans = intervals(log)
    assert sorted(spans) == ["pulp-a", "pulp-b"]
    assert_one_holder_at_a_time(spans)


def test_two_hosts_of_one_play_take_turns_with_strategy_free_and_per_host_owners(lab, domains, tmp_path):
    log = str(tmp_path / "turns.log")
    play = two_host_play(lab, domains, log, owner="replica {{ inventory_hostname }}", strategy="free")
    run = run_inventory_play(play, str(tmp_path))
    assert run.returncode == 0, run.stdout
    spans = intervals(log)
    assert sorted(spans) == ["pulp-a", "pulp-b"]
    assert_one_holder_at_a_time(spans)


def test_two_hosts_with_the_linear_strategy_block_each_other_until_timeout(lab, domains, tmp_path):
    """Why the pattern matters: the waiting host holds the play at task 1, so the holder
    never reaches its release; the waiter gives up after `timeout`, naming the holder."""
    log = str(tmp_path / "turns.log")
    play = two_host_play(lab, domains, log, owner="replica {{ inventory_hostname }}", timeout=3)
    run = run_inventory_play(play, str(tmp_path))
    assert run.returncode != 0
    assert "held by replica pulp-" in run.stdout
    assert len(intervals(log)) == 1


def test_replication_with_policy_all_leaves_the_lock_untouched(lab, domains, downstream):
    lab.seed(domains, count=2, prefix="locked-")
    taken = run_play([{"pulpops.replication.domain_lock": dict(lab.connection(domains), owner="replica", ttl=900)}])
    assert taken[0]["acquired"] is True, taken
    (before,) = guards_named(downstream)

    server = downstream.post("upstream-pulps/", {
        "name": unique("up"), "base_url": lab.upstream_url, "api_root": "/pulp/", "domain": domains,
        "username": lab.username, "password": lab.password, "policy": "all",
    })
    group_href = downstream.post(server["pulp_href"] + "replicate/")["task_group"]

    def finished(group, tasks):
        active = [t for t in tasks if t["state"] in ("waiting", "running", "canceling")]
        failed = [t for t in tasks if t["state"] == "failed"]
        return not active and (any(t["name"].endswith("finalize_replication") for t in tasks) or bool(failed))

    _group, tasks = downstream.wait_task_group(group_href, timeout=300, poll_interval=1, finished=finished)
    assert all(t["state"] == "completed" for t in tasks), [(t["name"], t["state"]) for t in tasks]
    assert sorted(d["name"] for d in downstream.list_all("distributions/file/file/")) == ["locked-0001", "locked-0002"]
    assert guards_named(downstream) == [before]
    assert downstream.get(before["pulp_href"]) == before
