"""Run the collection as AWX runs it: from its built artifact, through ``ansible-runner run``.

``built_collection()`` builds this checkout with ``ansible-galaxy collection build`` (galaxy.yml's
build_ignore applies) and installs the tarball into a fresh collections path, once per test process.
``Job`` lays out an ansible-runner private data directory the way AWX does for a job and runs it:

- ``project/``: the job's project, a playbook that imports the collection's own playbook (so the
  playbook, the role and the modules all come from the installed artifact);
- ``inventory/hosts.yml``;
- ``env/envvars``: the credential's ``env`` injectors, ANSIBLE_COLLECTIONS_PATH (the fresh path only)
  and the job's JOB_ID, as AWX sets them;
- ``env/extravars``: what AWX adds to every job (awx_job_id, tower_job_id, ...) and the template's
  extra variables;
- the credential's ``extra_vars`` injectors in a file of their own under ``env/``, passed with
  ``-e @file`` in ``env/cmdline`` (AWX does the same), with ``--check`` for a job of type check.

The credential type is docs/examples/awx-credential-type.yml, the file docs/awx.md points to; its
injector templates are rendered as AWX renders them (render_injectors). A finished job is read back
from ``artifacts/<ident>/``: status, rc, and the job events.
"""

import atexit
import functools
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

from tests.conftest import REPO

BIN = os.path.dirname(sys.executable)
CREDENTIAL_TYPE = os.path.join(REPO, "docs", "examples", "awx-credential-type.yml")
SAMPLE_EE = os.path.join(REPO, "docs", "examples", "execution-environment.yml")
COLLECTION = ("pulpops", "replication")
# Environment variables AWX refuses in a credential type's env injectors, besides every ANSIBLE_* one: some of
# those it sets for a job itself.
AWX_ENV_REFUSED = ("PATH", "PYTHONPATH", "VIRTUAL_ENV", "JOB_ID", "INVENTORY_ID", "AWX_HOST", "PROJECT_REVISION")


def tool(name):
    """A command of the tool venv (ansible-galaxy, ansible-runner, ansible-builder)."""
    return os.path.join(BIN, name)


def clean_env(**extra):
    """This process's environment without Ansible settings (so nothing points at the checkout)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env


class Artifact:
    def __init__(self, root):
        self.root = root
        self.tarball = None
        self.collections = os.path.join(root, "collections")
        self.path = os.path.join(self.collections, "ansible_collections", *COLLECTION)
        self.seconds = 0.0


@functools.lru_cache(maxsize=None)
def built_collection():
    """Build this checkout and install the tarball into a fresh collections path (once per process)."""
    started = time.time()
    artifact = Artifact(tempfile.mkdtemp(prefix="awx-artifact-"))
    atexit.register(shutil.rmtree, artifact.root, True)
    build = subprocess.run([tool("ansible-galaxy"), "collection", "build", "--output-path", artifact.root, REPO],
                           check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           env=clean_env(), cwd=artifact.root)
    tarballs = glob.glob(os.path.join(artifact.root, "%s-%s-*.tar.gz" % COLLECTION))
    assert len(tarballs) == 1, build.stdout
    artifact.tarball = tarballs[0]
    subprocess.run([tool("ansible-galaxy"), "collection", "install", "--offline", "--force", "-p",
                    artifact.collections, artifact.tarball], check=True, stdout=subprocess.PIPE,
                   stderr=subprocess.STDOUT, text=True, env=clean_env(ANSIBLE_COLLECTIONS_PATH=artifact.collections))
    assert os.path.isfile(os.path.join(artifact.path, "MANIFEST.json"))
    artifact.seconds = time.time() - started
    return artifact


def credential_type():
    with open(CREDENTIAL_TYPE) as handle:
        return yaml.safe_load(handle)


def render_injectors(ctype, inputs):
    """(env, extra_vars) the way AWX injects a credential of ``ctype`` holding ``inputs``.

    As AWX does (main/models/credential): a required input must be given; only inputs with a value
    are in the templates' namespace (an optional one left out renders as ""); each template is
    rendered by an ImmutableSandboxedEnvironment; env injectors AWX prohibits are refused here.
    """
    fields = {field["id"]: field for field in ctype["inputs"]["fields"]}
    unknown = sorted(set(inputs) - set(fields))
    assert not unknown, "inputs the credential type does not define: %s" % unknown
    missing = [name for name in ctype["inputs"].get("required", []) if not inputs.get(name)]
    assert not missing, "required inputs missing: %s" % missing
    namespace = {name: value for name, value in inputs.items() if value not in (None, "")}
    sandbox = ImmutableSandboxedEnvironment()

    def render(node):
        if isinstance(node, dict):
            return {render(key): render(value) for key, value in node.items()}
        if isinstance(node, list):
            return [render(item) for item in node]
        return sandbox.from_string(node).render(**namespace)

    env = {}
    for name, template in ctype["injectors"].get("env", {}).items():
        assert name not in AWX_ENV_REFUSED and not name.startswith("ANSIBLE_"), "AWX refuses env var %s" % name
        env[name] = sandbox.from_string(template).render(**namespace)
    return env, render(ctype["injectors"].get("extra_vars", {}))


class JobResult:
    def __init__(self, job, seconds):
        self.job = job
        self.seconds = seconds
        artifacts = os.path.join(job.private, "artifacts", job.ident)
        self.status = self._read(os.path.join(artifacts, "status"))
        rc = self._read(os.path.join(artifacts, "rc"))
        self.rc = int(rc) if rc not in (None, "") else None
        self.stdout = self._read(os.path.join(artifacts, "stdout")) or ""
        events = []
        for path in glob.glob(os.path.join(artifacts, "job_events", "*.json")):
            with open(path) as handle:
                events.append(json.load(handle))
        self.events = sorted(events, key=lambda event: event["counter"])

    @staticmethod
    def _read(path):
        if not os.path.exists(path):
            return None
        with open(path) as handle:
            return handle.read().strip()

    def host_events(self, event="runner_on_ok", task=None):
        """(host, event_data) of every ``event`` (of the task named ``task``, when given), in order."""
        found = []
        for item in self.events:
            data = item.get("event_data", {})
            if item.get("event") == event and (task is None or data.get("task") == task):
                found.append((data.get("host"), data))
        return found

    def facts(self, name):
        """{host: value} of the fact ``name`` as the job's set_fact events carried it (the last one wins)."""
        found = {}
        for host, data in self.host_events():
            facts = data.get("res", {}).get("ansible_facts", {})
            if name in facts:
                found[host] = facts[name]
        return found

    @property
    def replica_results(self):
        return self.facts("replica_result")

    @property
    def stats(self):
        for item in reversed(self.events):
            if item.get("event") == "playbook_on_stats":
                return item["event_data"]
        return {}

    def messages(self, task):
        """The debug messages of the task named ``task``, per host."""
        return {host: data.get("res", {}).get("msg") for host, data in self.host_events(task=task)}

    def role_task_paths(self):
        """The files every task of the replica role was loaded from."""
        return sorted({data["task_path"].rsplit(":", 1)[0] for _host, data in self.host_events()
                       if data.get("role") == "replica" and data.get("task_path")})

    def __repr__(self):
        return "JobResult(ident=%s, status=%s, rc=%s)\n%s" % (self.job.ident, self.status, self.rc, self.stdout[-6000:])


class Job:
    """One AWX job of the collection's playbook ``playbook`` (e.g. replicate), run by ansible-runner."""

    def __init__(self, artifact, workdir, job_id, inventory, credential_inputs, playbook="replicate", job_type="run",
                 extra_vars=None, forks=None, limit=None, diff=False):
        self.artifact = artifact
        self.job_id = job_id
        self.ident = str(job_id)
        self.private = os.path.join(str(workdir), "job-%s" % job_id)
        self.forks = forks
        self.limit = limit
        self.process = None
        self.started = None
        for sub in ("project", "inventory", "env"):
            os.makedirs(os.path.join(self.private, sub), exist_ok=True)
        self._write("project/%s.yml" % playbook, [{
            "name": "Run the collection's %s playbook" % playbook,
            "ansible.builtin.import_playbook": "%s.%s.%s" % (COLLECTION + (playbook,))}])
        self.playbook = "%s.yml" % playbook
        self._write("inventory/hosts.yml", inventory)
        env, injected = render_injectors(credential_type(), credential_inputs)
        self.injected_env = env
        self.injected_vars = injected
        env = dict(env, JOB_ID=self.ident, ANSIBLE_COLLECTIONS_PATH=artifact.collections,
                   ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="False", ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
                   ANSIBLE_DEPRECATION_WARNINGS="0", ANSIBLE_LOCAL_TEMP=os.path.join(self.private, "tmp"),
                   ANSIBLE_HOME=os.path.join(self.private, "ansible-home"))
        self._write("env/envvars", env)
        job_vars = {"awx_job_id": job_id, "tower_job_id": job_id, "awx_job_template_name": "Replicate",
                    "awx_job_launch_type": "manual", "awx_user_name": "admin"}
        job_vars.update(extra_vars or {})
        self._write("env/extravars", job_vars)
        credential_file = os.path.join(self.private, "env", "credential-extravars.yml")
        self._write("env/credential-extravars.yml", injected)
        cmdline = ["-e", "@" + credential_file] + (["--check"] if job_type == "check" else []) + (["--diff"] if diff else [])
        with open(os.path.join(self.private, "env", "cmdline"), "w") as handle:
            handle.write(" ".join(cmdline))

    def _write(self, relative, data):
        with open(os.path.join(self.private, relative), "w") as handle:
            yaml.safe_dump(data, handle, sort_keys=False)

    def command(self):
        cmd = [tool("ansible-runner"), "run", self.private, "-p", self.playbook, "--ident", self.ident]
        if self.forks:
            cmd += ["--forks", str(self.forks)]
        if self.limit:
            cmd += ["--limit", self.limit]
        return cmd

    def start(self):
        shutil.rmtree(os.path.join(self.private, "artifacts", self.ident), ignore_errors=True)
        self.started = time.time()
        self.process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                        env=clean_env(), cwd=self.private)
        return self

    def wait(self, timeout=900):
        try:
            _out, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        result = JobResult(self, time.time() - self.started)
        result.runner_rc = self.process.returncode
        result.runner_stderr = err
        return result

    def run(self, timeout=900):
        return self.start().wait(timeout)
