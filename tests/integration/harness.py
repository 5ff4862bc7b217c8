"""Run the collection's modules the way operators do: through ansible-playbook.

``Play.run(tasks, check=..., diff=...)`` writes a playbook around the given tasks, runs
ansible-playbook on localhost with this checkout as ``pulpops.replication``, and returns
every task's registered result (failures included), the return code and the full output.
"""

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


def run_play(tasks, check=False, diff=False, verbosity=0, extra_vars=None, env=None, ignore_errors=True,
             module_defaults=None, pre=None, timeout=1800):
    """Run ``tasks`` (module invocations as dicts) in one play; return PlayResult.

    Each task's result is registered and written out by a final task that runs even in
    check mode, so a test sees exactly what the module returned.
    """
    workdir = tempfile.mkdtemp(prefix="play-")
    out_file = os.path.join(workdir, "results.json")
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
    payload = "[" + ", ".join("(%s | default({'skipped_by_harness': true}))" % n for n in names) + "]"
    play_tasks.append({
        "name": "write results",
        "ansible.builtin.copy": {"content": "{{ %s | to_json }}" % payload, "dest": out_file, "mode": "0600"},
        "check_mode": False,
        "diff": False,
    })
    play = {"hosts": "localhost", "gather_facts": False, "tasks": play_tasks}
    if module_defaults:
        play["module_defaults"] = module_defaults
    playbook = os.path.join(workdir, "play.yml")
    with open(playbook, "w") as handle:
        yaml.safe_dump([play], handle, sort_keys=False)
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
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=run_env,
                          timeout=timeout, cwd=workdir)
    results = []
    if os.path.exists(out_file):
        with open(out_file) as handle:
            results = json.load(handle)
    return PlayResult(proc.returncode, results, proc.stdout)


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def replication_finished(group, tasks):
    """The lab's pulpcore never sets all_tasks_dispatched for replication groups (pulp-facts.md)."""
    active = [t for t in tasks if t["state"] in ("waiting", "running", "canceling")]
    names = [t["name"] for t in tasks]
    failed = [t for t in tasks if t["state"] == "failed"]
    return not active and (any(n.endswith("finalize_replication") for n in names) or bool(failed))


def bare_replicate(client, upstream_href, timeout=600):
    """POST replicate/ and wait, the way an operator without this collection would; returns tasks."""
    group_href = client.post(upstream_href + "replicate/")["task_group"]
    _, tasks = client.wait_task_group(group_href, timeout=timeout, poll_interval=1, finished=replication_finished)
    return tasks


def make_upstream_pulp(lab, downstream, domain, name=None, policy="labeled", **extra):
    """An UpstreamPulp on the downstream domain that replicates the upstream domain of the same name."""
    body = {"name": name or unique("up"), "base_url": lab.upstream_url, "api_root": "/pulp/", "domain": domain,
            "username": lab.username, "password": lab.password, "policy": policy}
    body.update(extra)
    return downstream.post("upstream-pulps/", body)
