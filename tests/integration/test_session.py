"""One login per server per ansible-playbook run, and the session never shown or stored.

Against the real lab: the sessions a run opens are read from each server's own session table
(django_session, through psql) while the run is on (a shell task of the playbook) and after it.
The run's sessions are the ones that appeared during it; the run's output at -vvv --diff, the
results its tasks registered and every file it could have written are searched for them.
"""

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

import pytest

from tests.integration.harness import OUTCOME, ansible_playbook, read_result, result_task, role_vars, unique

PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "session_probe.py")
SIDES = ("upstream", "downstream")
# What the role registers, dumped by the playbook so that the search covers the registered results too.
REGISTERED = ("_replica_check", "_replica_lock", "_replica_upstream_pulp", "_replica_plan", "_replica_run",
              "_replica_audit", "_replica_record")


def psql(side, sql):
    env = dict(os.environ, PGHOST="127.0.0.1", PGPORT=os.environ.get("PULPLAB_PG_PORT", "24830"), PGUSER="postgres")
    return ["psql", "-At", "-d", "pulp_%s" % side, "-c", sql], env


def session_keys(side):
    cmd, env = psql(side, "SELECT session_key FROM django_session")
    return set(subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout.split())


def shell_keys_task(path):
    """A task that writes both servers' session keys to ``path`` (nothing printed: the keys go to the file)."""
    lines = []
    for side in SIDES:
        cmd, env = psql(side, "SELECT '%s ' || session_key FROM django_session" % side)
        lines.append("PGHOST=%s PGPORT=%s PGUSER=%s %s >> %s" % (env["PGHOST"], env["PGPORT"], env["PGUSER"],
                                                                 " ".join(shlex.quote(c) for c in cmd), path))
    return {"name": "Note the servers' sessions", "ansible.builtin.shell": "\n".join(lines), "changed_when": False}


def expire_task():
    """A task that ends every session on both servers, as a server restart with a cleared session table would."""
    lines = []
    for side in SIDES:
        cmd, env = psql(side, "DELETE FROM django_session")
        lines.append("PGHOST=%s PGPORT=%s PGUSER=%s %s" % (env["PGHOST"], env["PGPORT"], env["PGUSER"],
                                                           " ".join(shlex.quote(c) for c in cmd)))
    return {"name": "End every session on both servers", "ansible.builtin.shell": "\n".join(lines),
            "changed_when": False}


def role_task(variables, name):
    return {"name": name, "ansible.builtin.include_role": {"name": "pulpops.replication.replica"}, "vars": variables}


def probe_task(register):
    return {"name": "Ask the run's session keeper for its counts", "ansible.builtin.command": "%s %s" % (
        sys.executable, PROBE),
        "register": register, "changed_when": False}


def keys_of(path):
    found = dict((side, set()) for side in SIDES)
    with open(path) as handle:
        for line in handle:
            side, key = line.split()
            found[side].add(key)
    return found


def files_holding(roots, secrets):
    """Every file under ``roots`` whose bytes contain one of ``secrets``."""
    hits = []
    for root in roots:
        for folder, _dirs, names in os.walk(root):
            for name in names:
                path = os.path.join(folder, name)
                try:
                    with open(path, "rb") as handle:
                        data = handle.read()
                except OSError:
                    continue
                hits.extend("%s holds a session" % path for s in secrets if s.encode() in data)
    return hits


def wait_until_gone(keys, side, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        left = keys & session_keys(side)
        if not left:
            return left
        time.sleep(0.25)
    return keys & session_keys(side)


@pytest.fixture
def seeded(lab, domains):
    lab.seed(domains, count=3, prefix="ses-")
    return domains


def test_a_role_run_logs_in_once_per_server_shows_and_stores_no_session_and_logs_out(lab, seeded, tmp_path):
    before = dict((side, session_keys(side)) for side in SIDES)
    during = str(tmp_path / "keys-during")
    variables = role_vars(lab, seeded, unique("ses"))
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        role_task(variables, "Replicate"),
        role_task(dict(variables, replica_force_full=True), "Replicate again, every phase"),
        shell_keys_task(during),
        probe_task("keeper"),
        {"name": "Show what the role registered", "ansible.builtin.debug": {
            "msg": "{{ {%s} | to_json }}" % ", ".join("'%s': %s | default(none)" % (n, n) for n in REGISTERED)}},
        result_task("{'keeper': keeper.stdout | from_json, 'outcome': %s}" % OUTCOME),
    ]}]
    workdir = tempfile.mkdtemp(prefix="session-")
    proc = ansible_playbook(workdir, play, diff=True, verbosity=3)
    output = proc.stdout
    reported = read_result(output)
    assert proc.returncode == 0 and reported is not None, output[-4000:]
    assert reported["outcome"]["failed"] is False, output[-4000:]

    seen = keys_of(during)
    opened = dict((side, seen[side] - before[side]) for side in SIDES)
    # Two role runs, every phase of the second one: one login on each server for the whole playbook.
    assert len(opened["downstream"]) == 1 and len(opened["upstream"]) == 1, opened
    assert reported["keeper"]["logins"] == 2 and reported["keeper"]["reused"] >= 10, reported["keeper"]

    secrets = opened["downstream"] | opened["upstream"]
    leaks = [s for s in secrets if s in output]
    assert not leaks, "a session key is in the -vvv --diff output"
    home_ansible = os.path.expanduser("~/.ansible")
    keeper_dir = os.path.join(tempfile.gettempdir(), "pulpops-replication-%d" % os.getuid())
    assert files_holding([workdir, home_ansible, keeper_dir], secrets) == []

    # Logged out when the run ended: the sessions are gone from the servers' tables.
    for side in SIDES:
        assert wait_until_gone(opened[side], side) == set(), side


def test_a_run_whose_sessions_end_midway_logs_in_again_and_completes(lab, seeded, tmp_path):
    variables = role_vars(lab, seeded, unique("ses"))
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        role_task(variables, "Replicate"),
        expire_task(),
        role_task(dict(variables, replica_force_full=True), "Replicate again after the sessions ended"),
        probe_task("keeper"),
        result_task("{'keeper': keeper.stdout | from_json, 'outcome': %s}" % OUTCOME),
    ]}]
    proc = ansible_playbook(tempfile.mkdtemp(prefix="session-"), play)
    reported = read_result(proc.stdout)
    assert proc.returncode == 0 and reported is not None, proc.stdout[-4000:]
    outcome = reported["outcome"]
    assert outcome["failed"] is False, proc.stdout[-4000:]
    assert outcome["replica_result"]["audit"].get("missing", 0) == 0
    keeper = reported["keeper"]
    # Each server's session was refused once, dropped, and replaced by one new login.
    assert keeper["dropped"] == 2 and keeper["logins"] == 4, keeper
    assert json.dumps(keeper).count("sessionid") == 0
