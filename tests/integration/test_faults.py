"""Fault injection against a lab of our own: nothing half switched, a clear error, a clean next run.

These tests kill and restart lab processes, so they never touch the shared lab: a
session fixture starts a separate instance (its own PULPLAB_DIR and ports; started from
scratch on a clean machine, about two minutes more) and every process a test kills is
started again (``pulplab start`` starts only what is missing).

Each scenario: given a domain whose downstream serves the upstream's distributions (as
recorded by the PULP_MANIFEST of every base_path), and an upstream whose content then
changed, when a fault hits while the replica role replicates, then every base_path keeps
serving what it served before (checked in a loop during the run and after it: each
answer is the old manifest, or the new one once the server switched, never an error and
never a mix), the failure says clearly what went wrong, and the next run of the role
completes and its audit is exact.

Every helper that reaches a lab goes through this module's ``pulplab()`` (with the fault
lab's environment), never through the shared lab's fixtures.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest
import requests
import yaml

from tests.conftest import COLLECTIONS, REPO
from tests.integration.conftest import PULPLAB, Lab
from tests.integration.harness import (ANSIBLE_PLAYBOOK, bare_replicate, make_upstream_pulp, result_task, role_outcome,
                                       role_play, role_vars, run_play,
                                       run_role, unique)

FAULT_LAB_ENV = {
    "PULPLAB_DIR": os.environ.get("PULPLAB_FAULTS_DIR", os.path.join(tempfile.gettempdir(), "pulplab-faults")),
    "PULPLAB_UPSTREAM_API_PORT": os.environ.get("PULPLAB_FAULTS_UPSTREAM_API_PORT", "26817"),
    "PULPLAB_UPSTREAM_CONTENT_PORT": os.environ.get("PULPLAB_FAULTS_UPSTREAM_CONTENT_PORT", "26816"),
    "PULPLAB_DOWNSTREAM_API_PORT": os.environ.get("PULPLAB_FAULTS_DOWNSTREAM_API_PORT", "26827"),
    "PULPLAB_DOWNSTREAM_CONTENT_PORT": os.environ.get("PULPLAB_FAULTS_DOWNSTREAM_CONTENT_PORT", "26826"),
    "PULPLAB_PG_PORT": os.environ.get("PULPLAB_FAULTS_PG_PORT", "26830"),
    # A lab of the tests only: Django checks passwords with MD5, not 1,000,000 PBKDF2 rounds (docs/lab.md).
    "PULPLAB_PASSWORD_HASHER": os.environ.get("PULPLAB_FAULTS_PASSWORD_HASHER", "fast"),
    # One tasking worker per server, whatever the shared lab runs: the worker-kill scenario kills "the" worker.
    "PULPLAB_WORKERS": os.environ.get("PULPLAB_FAULTS_WORKERS", "1"),
    # pulpcore's venv is the shared lab's (installed once, only read by the servers), not a second install.
    "PULPLAB_VENV": os.environ.get("PULPLAB_FAULTS_VENV") or os.path.join(
        os.environ.get("PULPLAB_DIR") or os.path.join(REPO, ".lab"), "venv"),
    # A task left "running" by a killed worker blocks its domain until a worker's periodic cleanup
    # deletes the dead worker's record: 10 to 100 heartbeats of WORKER_TTL/3 s, up to 1000 s with
    # pulpcore's default of 30 s. With 6 s that is 20 to 200 s.
    "PULPLAB_WORKER_TTL": os.environ.get("PULPLAB_FAULTS_WORKER_TTL", "6"),
}
COUNT = 3
PREFIX = "f-"


def process_alive(pid):
    """Alive and not a zombie (a killed lab process whose parent is gone may stay one)."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def pulplab(*args, capture=False):
    env = dict(os.environ, **FAULT_LAB_ENV)
    proc = subprocess.run([sys.executable, PULPLAB] + list(args), env=env, check=True, text=True,
                          stdout=subprocess.PIPE if capture else None)
    return proc.stdout


class FaultLab(Lab):
    """The fault lab: a Lab, plus killing and restoring its processes."""

    def pid(self, key):
        with open(os.path.join(self.dir, "run", key + ".pid")) as handle:
            return int(handle.read().strip())

    def kill(self, key):
        """SIGKILL one lab process (e.g. 'downstream-worker') and its process group."""
        pid = self.pid(key)
        os.killpg(pid, signal.SIGKILL)
        deadline = time.time() + 30
        while time.time() < deadline and process_alive(pid):
            time.sleep(0.1)

    def seed(self, domain, count=3, prefix="dist-", serve="publication", start=1, server="upstream"):
        """Lab.seed, on this lab (the seeder finds its servers through the environment)."""
        pulplab("seed", "--server", server, "--domain", domain, "--count", str(count), "--prefix", prefix,
                "--serve", serve, "--start", str(start), capture=True)

    def restore(self, instance=None):
        if instance:
            pulplab("start", "--only", instance)
        else:
            pulplab("start")


@pytest.fixture(scope="session")
def faultlab():
    pulplab("stop")  # a fault lab left running from an earlier session may have other settings
    pulplab("start")
    env = {}
    for line in pulplab("env", capture=True).splitlines():
        key, _sep, value = line.replace("export ", "", 1).partition("=")
        env[key] = value
    lab = FaultLab(env)
    try:
        yield lab
        lab.restore()
    finally:
        # Every session starts this lab afresh (above), so nothing is gained by leaving it running:
        # stop it, also when restoring failed, so that the gates after this one get its processes back.
        pulplab("stop")


def manifest_urls(lab, domain, base_paths, side="downstream"):
    content = lab.downstream_content_url if side == "downstream" else lab.upstream_content_url
    return {path: "%s/pulp/content/%s/%s/PULP_MANIFEST" % (content, domain, path) for path in base_paths}


def fetch_all(urls):
    answers = {}
    for path, url in urls.items():
        response = requests.get(url, timeout=30)
        answers[path] = response.text if response.status_code == 200 else "HTTP %s" % response.status_code
    return answers


class ManifestWatch:
    """Fetch every base_path's PULP_MANIFEST in a loop; record answers that are neither old nor new.

    ``old`` is what the downstream served before, ``new`` what the upstream serves now.
    A base_path that served the new manifest must never serve the old one again.
    """

    def __init__(self, urls, old, new):
        self.urls, self.old, self.new = urls, old, new
        self.problems = []
        self.sweeps = 0
        self.switched = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        session = requests.Session()
        while not self._stop.is_set():
            for path, url in self.urls.items():
                try:
                    response = session.get(url, timeout=30)
                    text = response.text if response.status_code == 200 else "HTTP %s" % response.status_code
                except requests.RequestException as exc:
                    text = "error: %s" % exc.__class__.__name__
                if text == self.new[path]:
                    self.switched.add(path)
                elif text == self.old[path] and path not in self.switched:
                    pass
                else:
                    self.problems.append((path, text[:200]))
            self.sweeps += 1
            time.sleep(0.2)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=60)
        return False


def role_play_spec(variables):
    """(play, variables) running the replica role and reporting its outcome (as harness.run_role does)."""
    return role_play(), variables


def run_play_spec(tasks):
    """(play, variables) running module tasks; the outcome is the first failure (or success) of them."""
    registered = []
    play_tasks = []
    for index, task in enumerate(tasks):
        task = dict(task, register="_r%d" % index, ignore_errors=True)
        registered.append("_r%d" % index)
        play_tasks.append(task)
    results = "[" + ", ".join("(%s | default({}))" % name for name in registered) + "]"
    play_tasks.append(result_task(
        "{'failed': (%s | selectattr('failed', 'defined') | selectattr('failed') | list | length > 0), "
        "'msg': (%s | selectattr('failed', 'defined') | selectattr('failed') | map(attribute='msg') | list | "
        "first | default('')), 'results': %s}" % (results, results, results)))
    return [{"hosts": "localhost", "gather_facts": False, "tasks": play_tasks}], {}


class PlaybookRun:
    """ansible-playbook in a process group of its own (so that it can be killed), started at once."""

    def __init__(self, spec):
        play, variables = spec
        self.workdir = tempfile.mkdtemp(prefix="fault-play-")
        playbook = os.path.join(self.workdir, "play.yml")
        with open(playbook, "w") as handle:
            yaml.safe_dump(play, handle, sort_keys=False)
        vars_file = os.path.join(self.workdir, "vars.json")
        with open(vars_file, "w") as handle:
            json.dump(variables, handle)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1",
                   ANSIBLE_LOCAL_TEMP=os.path.join(self.workdir, "tmp"), ANSIBLE_RETRY_FILES_ENABLED="0")
        self.log = open(os.path.join(self.workdir, "output.txt"), "w")
        self.proc = subprocess.Popen([ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", playbook, "-e", "@" + vars_file,
                                      "-e", "ansible_python_interpreter=%s" % sys.executable],
                                     stdout=self.log, stderr=subprocess.STDOUT, cwd=self.workdir, env=env,
                                     start_new_session=True)

    def kill(self):
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def wait(self, timeout=1200):
        self.proc.wait(timeout=timeout)
        self.log.close()
        with open(os.path.join(self.workdir, "output.txt")) as handle:
            return role_outcome(handle.read(), self.proc.returncode)


def wait_for(predicate, timeout=300, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


def replication_running(client):
    """True once a task of a replication is running or waiting in the client's domain."""
    def check():
        page = client.get("tasks/", params={"state__in": "running,waiting", "limit": 20})
        return any("replicat" in t["name"] or "synchronize" in t["name"] or "distribution" in t["name"]
                   for t in page["results"])
    return check


class Scenario:
    """A domain served from the upstream, then new upstream content not yet replicated."""

    def __init__(self, lab):
        self.lab = lab
        self.domain = unique("fault")
        lab.create_domain("upstream", self.domain)
        lab.create_domain("downstream", self.domain)
        lab.seed(self.domain, count=COUNT, prefix=PREFIX)
        self.upstream_name = unique("fault-up")
        self.base_paths = ["%s%04d" % (PREFIX, i) for i in range(1, COUNT + 1)]
        self.downstream = lab.client("downstream", domain=self.domain)
        self.urls = manifest_urls(lab, self.domain, self.base_paths)
        # The served state before the fault: the UpstreamPulp the role would create, replicated once (REST: fast).
        upstream_pulp = make_upstream_pulp(lab, self.downstream, self.domain, name=self.upstream_name)
        tasks = bare_replicate(self.downstream, upstream_pulp["pulp_href"])
        assert all(t["state"] == "completed" for t in tasks), tasks
        self.old = fetch_all(self.urls)
        assert all(not text.startswith("HTTP") for text in self.old.values()), self.old
        lab.seed(self.domain, count=COUNT, prefix=PREFIX)  # new content in every repository
        self.new = fetch_all(manifest_urls(lab, self.domain, self.base_paths, side="upstream"))
        assert all(self.new[path] != self.old[path] for path in self.base_paths)

    def replicate_play(self, timeout):
        """The replicate module alone, in its own ansible-playbook (to disturb while it waits)."""
        return PlaybookRun(run_play_spec([{"pulpops.replication.replicate": dict(
            self.lab.connection(self.domain), upstream=self.upstream_name, upstream_username=self.lab.username,
            upstream_password=self.lab.password, timeout=timeout)}]))

    def variables(self, **extra):
        return role_vars(self.lab, self.domain, self.upstream_name, **extra)

    def watch(self):
        return ManifestWatch(self.urls, self.old, self.new)

    def assert_nothing_switched(self, watch):
        assert not watch.problems, watch.problems[:10]
        assert watch.sweeps > 0
        assert fetch_all(self.urls) == self.old

    def assert_next_run_completes(self):
        again = run_role(self.variables())
        assert not again["failed"], again["msg"] + again["output"][-3000:]
        assert fetch_all(self.urls) == self.new
        audit = run_play([{"pulpops.replication.replica_audit": dict(
            self.lab.connection(self.domain), upstream=self.upstream_name, upstream_username=self.lab.username,
            upstream_password=self.lab.password, fail_on_difference=True)}])
        assert audit[0].get("exact") is True, audit
        return again


def clear(message):
    """A failure message fit for an operator: a summary first, no stack trace, no secret."""
    if isinstance(message, list):
        message = "\n".join(str(line) for line in message)
    return (bool(message and message.strip()) and "Traceback" not in message and "Unexpected error" not in message
            and "lab-admin-password" not in message)


def test_worker_killed_during_replication(faultlab):
    scenario = Scenario(faultlab)
    with scenario.watch() as watch:
        run = scenario.replicate_play(timeout=120)
        try:
            wait_for(replication_running(scenario.downstream), what="the replication to start")
            faultlab.kill("downstream-worker")
            time.sleep(5)
            assert fetch_all(scenario.urls) == scenario.old
        finally:
            faultlab.restore("downstream")
        outcome = run.wait()
    if outcome["failed"]:
        assert clear(outcome["msg"]), outcome["msg"]
        scenario.assert_nothing_switched(watch)
    else:
        # The restarted worker finished the task group: the switch happened, whole, in finalize.
        assert not watch.problems, watch.problems[:10]
    scenario.assert_next_run_completes()


def test_upstream_stopped_mid_sync(faultlab):
    scenario = Scenario(faultlab)
    with scenario.watch() as watch:
        run = scenario.replicate_play(timeout=300)
        try:
            wait_for(replication_running(scenario.downstream), what="the replication to start")
            faultlab.kill("upstream-content")
            faultlab.kill("upstream-api")
            outcome = run.wait()
        finally:
            faultlab.restore("upstream")
    assert outcome["failed"], outcome["output"][-3000:]
    assert clear(outcome["msg"]), outcome["msg"]
    scenario.assert_nothing_switched(watch)
    scenario.assert_next_run_completes()


def test_downstream_api_restarted_while_the_module_waits(faultlab):
    scenario = Scenario(faultlab)
    with scenario.watch() as watch:
        run = scenario.replicate_play(timeout=300)
        try:
            wait_for(replication_running(scenario.downstream), what="the replication to start")
            faultlab.kill("downstream-api")
            time.sleep(3)
        finally:
            faultlab.restore("downstream")
        outcome = run.wait()
    assert not watch.problems, watch.problems[:10]
    if outcome["failed"]:
        assert clear(outcome["msg"]), outcome["msg"]
    scenario.assert_next_run_completes()


def test_playbook_killed_while_holding_the_lock(faultlab):
    scenario = Scenario(faultlab)
    lock_name = "pulpops-replication-lock"
    with scenario.watch() as watch:
        run = PlaybookRun(role_play_spec(scenario.variables(replica_lock_ttl=20)))
        wait_for(replication_running(scenario.downstream), what="the replication to start")
        held = scenario.downstream.find("contentguards/", name=lock_name)
        assert held, "the killed run held no lock"
        run.kill()
        # The lease of the killed run still stands: the next run waits for it to end, then completes.
        assert scenario.downstream.find("contentguards/", name=lock_name)
        again = scenario.assert_next_run_completes()
    assert not watch.problems, watch.problems[:10]
    lock = again["replica_result"].get("lock", {})
    assert lock.get("acquired") is True
    assert lock.get("waited", 0) > 0
    assert scenario.downstream.find("contentguards/", name=lock_name) is None
