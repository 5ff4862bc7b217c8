"""Run the collection's modules the way operators do: through ansible-playbook.

``Play.run(tasks, check=..., diff=...)`` writes a playbook around the given tasks, runs
ansible-playbook on localhost with this checkout as ``pulpops.replication``, and returns
every task's registered result (failures included), the return code and the full output.
"""

import base64
import json
import os
import subprocess
import sys
import tempfile
import uuid

import yaml

from tests.conftest import COLLECTIONS, REPO

ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


class PlayResult:
    def __init__(self, rc, results, output):
        self.rc = rc
        self.results = results
        self.output = output

    def __getitem__(self, index):
        return self.results[index]

    def __repr__(self):
        return "PlayResult(rc=%s, results=%r)\n%s" % (self.rc, self.results, self.output[-3000:])


def ansible_playbook(workdir, play, extra_vars=None, check=False, diff=False, verbosity=0, env=None, timeout=1800):
    """Write ``play`` to ``workdir`` and run it with ansible-playbook on localhost; return the process."""
    playbook = os.path.join(workdir, "play.yml")
    with open(playbook, "w") as handle:
        yaml.safe_dump(play, handle, sort_keys=False)
    cmd = [ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", playbook,
           "-e", "ansible_python_interpreter=%s" % sys.executable]
    if extra_vars:
        vars_file = os.path.join(workdir, "vars.json")
        with open(vars_file, "w") as handle:
            json.dump(extra_vars, handle)
        cmd += ["-e", "@" + vars_file]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    run_env = dict(os.environ)
    run_env.update({
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
        "ANSIBLE_ROLES_PATH": os.path.join(REPO, "roles"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_HOST_KEY_CHECKING": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_LOCAL_TEMP": os.path.join(workdir, "tmp"),
        "ANSIBLE_DEPRECATION_WARNINGS": "0",
    })
    run_env.update(env or {})
    return subprocess.run(cmd, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=run_env,
                          timeout=timeout, cwd=workdir)


def run_play(tasks, check=False, diff=False, verbosity=0, extra_vars=None, env=None, ignore_errors=True,
             module_defaults=None, pre=None, timeout=1800):
    """Run ``tasks`` (module invocations as dicts) in one play; return PlayResult.

    Each task's result is registered and written out by a final task that runs even in
    check mode, so a test sees exactly what the module returned.
    """
    workdir = tempfile.mkdtemp(prefix="play-")
    play_tasks = list(pre or [])
    names = []
    for index, task in enumerate(tasks):
        task = dict(task)
        reg = "_r%d" % index
        task["register"] = reg
        task.setdefault("ignore_errors", ignore_errors)
        task.setdefault("name", "task %d" % index)
        play_tasks.append(task)
        names.append(reg)
    play_tasks.append(result_task("[" + ", ".join("(%s | default({'skipped_by_harness': true}))" % n for n in names) + "]",
                                  name="write results"))
    play = {"hosts": "localhost", "gather_facts": False, "tasks": play_tasks}
    if module_defaults:
        play["module_defaults"] = module_defaults
    proc = ansible_playbook(workdir, [play], extra_vars, check, diff, verbosity, env, timeout)
    results = read_result(proc.stdout, [])
    return PlayResult(proc.returncode, results, proc.stdout)


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def replication_finished(group, tasks):
    """The lab's pulpcore never sets all_tasks_dispatched for replication groups: finalize_replication marks the end."""
    active = [t for t in tasks if t["state"] in ("waiting", "running", "canceling")]
    names = [t["name"] for t in tasks]
    failed = [t for t in tasks if t["state"] == "failed"]
    return not active and (any(n.endswith("finalize_replication") for n in names) or bool(failed))


def bare_replicate(client, upstream_href, timeout=600, poll_interval=0.25):
    """POST replicate/ and wait, the way an operator without this collection would; returns tasks."""
    group_href = client.post(upstream_href + "replicate/")["task_group"]
    _ignored, tasks = client.wait_task_group(group_href, timeout=timeout, poll_interval=poll_interval,
                                             finished=replication_finished)
    return tasks


def make_upstream_pulp(lab, downstream, domain, name=None, policy="labeled", **extra):
    """An UpstreamPulp on the downstream domain that replicates the upstream domain of the same name."""
    body = {"name": name or unique("up"), "base_url": lab.upstream_url, "api_root": "/pulp/", "domain": domain,
            "username": lab.username, "password": lab.password, "policy": policy}
    body.update(extra)
    return downstream.post("upstream-pulps/", body)


def role_vars(lab, domain, upstream_name, policy="labeled", **extra):
    """Variables for the replica role: the lab's downstream domain fed by the upstream domain of the same name."""
    variables = {
        "replica_pulp_url": lab.downstream_url,
        "replica_username": lab.username,
        "replica_password": lab.password,
        "replica_domain": domain,
        "replica_upstream": {"name": upstream_name, "base_url": lab.upstream_url, "domain": domain,
                             "username": lab.username, "password": lab.password, "policy": policy},
        "replica_lock_timeout": 600,
    }
    for key, value in extra.items():
        if key.startswith("upstream_"):
            variables["replica_upstream"][key[len("upstream_"):]] = value
        else:
            variables[key] = value
    return variables


OUTCOME = ("{'failed': role_failed | default(false), 'msg': role_msg | default(''), "
           "'task': role_task | default(''), 'replica_result': replica_result | default({})}")
RESULT_MARK = "PULPOPS-HARNESS-RESULT:"


def result_task(expression, name="Report the outcome"):
    """A task that prints ``expression`` (Jinja) as base64 JSON after RESULT_MARK.

    A debug task runs on the controller, with no module process: the outcome costs the
    measured run (bench/) nothing that an operator's own run would not pay.
    """
    return {"name": name, "check_mode": False, "changed_when": False,
            "ansible.builtin.debug": {"msg": "%s{{ (%s) | to_json | b64encode }}" % (RESULT_MARK, expression)}}


def read_result(output, default=None):
    """The value a result_task printed into ``output`` (the last one), or ``default``."""
    found = default
    for line in output.splitlines():
        index = line.find(RESULT_MARK)
        if index >= 0:
            encoded = line[index + len(RESULT_MARK):].strip().rstrip('"').strip()
            found = json.loads(base64.b64decode(encoded).decode("utf-8"))
    return found


def role_play():
    """A play running the replica role, that reports its outcome (OUTCOME) whatever happened."""
    return [{
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [{
            "block": [{"name": "Run the replica role", "ansible.builtin.include_role": {"name": "pulpops.replication.replica"}}],
            "rescue": [{"name": "Keep the failure", "ansible.builtin.set_fact": {
                "role_failed": True, "role_msg": "{{ ansible_failed_result.msg | default('') }}",
                "role_task": "{{ ansible_failed_task.name | default('') }}"}}],
            "always": [result_task(OUTCOME)],
        }],
    }]


def role_outcome(output, returncode):
    outcome = read_result(output, {"failed": True, "msg": "no outcome reported", "replica_result": {}})
    outcome["rc"] = returncode
    outcome["output"] = output
    return outcome


def run_role(variables, check=False, diff=False, verbosity=0, timeout=1800):
    """Run the replica role once; return {'failed', 'msg', 'replica_result', 'rc', 'output'}."""
    workdir = tempfile.mkdtemp(prefix="role-")
    proc = ansible_playbook(workdir, role_play(), variables, check, diff, verbosity, None, timeout)
    return role_outcome(proc.stdout, proc.returncode)


def task_statuses(output, fragment):
    """The status words ('ok', 'changed', 'skipping', 'failed', ...) each task whose name holds ``fragment``
    printed in an ansible-playbook output, in order (one entry per run of such a task)."""
    statuses, inside = [], False
    for line in output.splitlines():
        if line.startswith("TASK ["):
            inside = fragment in line
        elif inside and line.split(":", 1)[0] in ("ok", "changed", "skipping", "failed", "fatal"):
            statuses.append(line.split(":", 1)[0])
            inside = False
    return statuses


def changed_tasks(output):
    """Count of tasks that reported changed in an ansible-playbook recap."""
    for line in output.splitlines():
        if line.startswith("localhost") and "changed=" in line:
            return int(line.split("changed=")[1].split()[0])
    return None


class ServingWatch:
    """Fetch URLs in a loop on a thread; record every answer that is not 200.

    Used as ``with ServingWatch(urls) as watch: ...`` around a replication; afterwards
    ``watch.errors`` lists (url, status) and ``watch.fetches`` counts the requests made.
    """

    def __init__(self, urls, pause=0.05):
        import threading

        self.urls = list(urls)
        self.pause = pause
        self.errors = []
        self.error_times = []  # (url, monotonic seconds) of each answer that was not 200
        self.fetches = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        import time

        import requests

        session = requests.Session()
        while not self._stop.is_set():
            for url in self.urls:
                try:
                    status = session.get(url, timeout=10).status_code
                except requests.RequestException as exc:
                    status = "error: %s" % exc
                self.fetches += 1
                if status != 200:
                    self.errors.append((url, status))
                    self.error_times.append((url, time.monotonic()))
            time.sleep(self.pause)

    def longest_gap(self):
        """Seconds from the first to the last failed fetch of one URL, the longest over the URLs (0: none)."""
        spans = {}
        for url, at in self.error_times:
            first, _last = spans.get(url, (at, at))
            spans[url] = (first, at)
        return max([last - first for first, last in spans.values()] or [0.0])

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=30)
        return False
