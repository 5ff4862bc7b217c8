"""The collection as AWX runs it: built, installed from its tarball, run by ansible-runner.

Every job here runs ``playbooks/replicate.yml`` of the INSTALLED artifact (tests/integration/awx.py:
a fresh collections path, nothing of the checkout on it) through ``ansible-runner run`` with a
private data directory laid out as AWX lays it out, and the credential type of
docs/examples/awx-credential-type.yml injected as AWX injects it. What a job did is read back from
its artifacts: status, rc and the job events (the ``replica_result`` fact, the summary table, the
``replica_summary`` artifact of set_stats).
"""

import datetime
import os
import subprocess
import sys
import time

import pytest
import yaml

from tests.conftest import REPO
from tests.integration import awx
from tests.integration.harness import unique

from ansible_collections.pulpops.replication.plugins.module_utils.lock import DomainLock

LOCK_TASK = "Lock | Take the domain lease (in check mode, report who holds it)"
UNLOCK_TASK = "Unlock | Release the domain lease"
HOLDER_TASK = "Say who holds the domain's lock"
TABLE_TASK = "Show every replica's outcome in one table"
NO_DIFFERENCE = {"missing": 0, "extra": 0, "stale": 0, "unserved": 0, "dangling": 0, "foreign": 0, "plugin": 0,
                 "skipped": 0}


@pytest.fixture(scope="module")
def artifact():
    return awx.built_collection()


@pytest.fixture
def with_domains(lab):
    if not (lab.domain_enabled("upstream") and lab.domain_enabled("downstream")):
        pytest.skip("these jobs replicate into several domains of each server: the lab has no domains")
    return lab


def credential(lab, **overrides):
    """The inputs of a "Pulp server" credential for the lab's downstream server."""
    inputs = {"pulp_url": lab.downstream_url, "pulp_username": lab.username, "pulp_password": lab.password,
              "upstream_username": lab.username, "upstream_password": lab.password}
    inputs.update(overrides)
    return inputs


def replica_host(lab, domain, upstream_domain, **upstream):
    """An inventory host: one downstream domain; the upstream's user comes from the credential."""
    spec = {"name": unique("awx"), "base_url": lab.upstream_url, "domain": upstream_domain,
            "username": "{{ pulp_upstream_username }}", "password": "{{ pulp_upstream_password }}"}
    spec.update(upstream)
    return {"replica_domain": domain, "replica_upstream": spec}


def inventory(hosts=None, children=None):
    """The job's inventory: the role's connection variables mapped from the credential (docs/awx.md)."""
    group = {"vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}",
                      "replica_pulp_url": "{{ pulp_server_url }}",
                      "replica_username": "{{ pulp_server_username }}",
                      "replica_password": "{{ pulp_server_password }}",
                      "replica_lock_timeout": 600}}
    if hosts:
        group["hosts"] = hosts
    if children:
        group["children"] = children
    return {"pulp_replicas": group}


def domain_state(client):
    """Everything a replication (or the lock) could write in a domain, with its last update."""
    state = {}
    for path in ("distributions/", "repositories/", "remotes/", "upstream-pulps/", "contentguards/"):
        state[path] = sorted((item.get("name"), item.get("pulp_last_updated"), item.get("latest_version_href"))
                             for item in client.list_all(path))
    return state


def served(client):
    return sorted((d["name"], d["base_path"]) for d in client.list_all("distributions/file/file/"))


def wait_for_holder(client, text, job, timeout=300):
    """Wait until the domain's lock is held by an owner containing ``text`` (while ``job`` runs)."""
    lock = DomainLock(client, owner="test-observer")
    deadline = time.time() + timeout
    while time.time() < deadline and job.process.poll() is None:
        holder = lock.status()["holder"]
        if holder and text in (holder.get("owner") or ""):
            return holder
        time.sleep(0.3)
    if job.process.poll() is None:
        job.process.kill()
    raise AssertionError("no holder with %r while the job ran: %r" % (text, job.wait()))


def assert_from_artifact(result, artifact):
    paths = result.role_task_paths()
    assert paths, result
    assert all(path.startswith(artifact.path + os.sep) for path in paths), paths


# --------------------------------------------------------------- the artifact and its EE requirements
def test_artifact_holds_ee_metadata_and_leaves_tests_out(artifact):
    """The tarball carries meta/execution-environment.yml and the files it names; tests, bench, lab, tooling do not go in."""
    listing = subprocess.run(["tar", "tzf", artifact.tarball], check=True, stdout=subprocess.PIPE, text=True).stdout
    members = {name.rstrip("/") for name in listing.split()}
    for wanted in ("meta/execution-environment.yml", "meta/ee-requirements.txt", "bindep.txt", "meta/runtime.yml",
                   "playbooks/replicate.yml", "roles/replica/tasks/main.yml", "plugins/modules/replicate.py",
                   "docs/examples/execution-environment.yml", "docs/examples/awx-credential-type.yml"):
        assert wanted in members, wanted
    tops = {name.split("/", 1)[0] for name in members}
    for unwanted in ("tests", "bench", "scripts", "requirements", ".lab", ".cache", ".venv", ".ci", ".git"):
        assert unwanted not in tops, unwanted
    with open(os.path.join(artifact.path, "meta", "execution-environment.yml")) as handle:
        metadata = yaml.safe_load(handle)
    assert metadata["dependencies"] == {"python": "meta/ee-requirements.txt", "system": "bindep.txt"}


def requirement_lines(path):
    with open(path) as handle:
        return [line.strip() for line in handle if line.strip() and not line.startswith("#")]


def test_introspect_lists_what_an_ee_needs(artifact):
    """`ansible-builder introspect --sanitize` on the installed collection: requests with its bounds, no system package."""
    out = subprocess.run([awx.tool("ansible-builder"), "introspect", "--sanitize", artifact.collections], check=True,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=awx.clean_env()).stdout
    listed = yaml.safe_load(out[out.index("---"):])
    wanted = requirement_lines(os.path.join(REPO, "meta", "ee-requirements.txt"))
    assert wanted == ["requests>=2.32.4,<3"]
    assert listed == {"python": ["%s  # from collection pulpops.replication" % line for line in wanted], "system": []}


def test_sample_ee_builds_a_context_that_installs_the_collection(artifact, tmp_path):
    """docs/examples/execution-environment.yml, with the built tarball as its collection: `ansible-builder create`
    writes the build context; its own galaxy and introspect steps, run here as the image build runs them, install
    the collection and ask pip for exactly the collection's requirements."""
    with open(awx.SAMPLE_EE) as handle:
        definition = yaml.safe_load(handle)
    assert definition["version"] == 3
    assert [c["name"] for c in definition["dependencies"]["galaxy"]["collections"]] == ["pulpops.replication"]
    tarball = os.path.basename(artifact.tarball)
    definition["dependencies"]["galaxy"]["collections"] = [{"name": "collections/" + tarball, "type": "file"}]
    definition["additional_build_files"] = [{"src": artifact.tarball, "dest": "collections"}]
    ee_file = tmp_path / "execution-environment.yml"
    ee_file.write_text(yaml.safe_dump(definition))
    context = tmp_path / "context"
    subprocess.run([awx.tool("ansible-builder"), "create", "-f", str(ee_file), "-c", str(context)], check=True,
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=awx.clean_env(), cwd=tmp_path)
    build = context / "_build"
    containerfile = (context / "Containerfile") if (context / "Containerfile").exists() else (context / "Dockerfile")
    text = containerfile.read_text()
    assert "ansible-core>=2.19,<2.20" in text and "introspect.py introspect" in text
    # The galaxy stage: `ansible-galaxy collection install -r requirements.yml` in /build (the context's _build).
    share = tmp_path / "usr-share-ansible" / "collections"
    subprocess.run([awx.tool("ansible-galaxy"), "collection", "install", "--offline", "-r", "requirements.yml",
                    "--collections-path", str(share)], check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                   text=True, env=awx.clean_env(ANSIBLE_COLLECTIONS_PATH=str(share)), cwd=build)
    # The builder stage: the context's introspect script writes what pip and bindep install into the image.
    pip_file, bindep_file = tmp_path / "requirements.txt", tmp_path / "bindep.txt"
    subprocess.run([sys.executable, str(build / "scripts" / "introspect.py"), "introspect",
                    "--write-pip", str(pip_file), "--write-bindep", str(bindep_file), str(share)], check=True,
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert pip_file.read_text().splitlines() == ["requests>=2.32.4,<3  # from collection pulpops.replication"]
    assert not bindep_file.exists()


# ------------------------------------------------------------------------- jobs of one domain
def test_jobs_replicate_wait_for_each_other_rerun_and_check(with_domains, artifact, tmp_path):
    """Job 101 replicates a fresh domain; job 102 for the same domain, started while 101 holds the lock, says
    that job 101 holds it, waits, and runs after it; job 103 (the rerun) changes nothing; job 104 (job type
    check) after an upstream change plans the new distribution and writes nothing."""
    lab = with_domains
    domain = unique("awx")
    lab.create_domain("upstream", domain)
    lab.create_domain("downstream", domain)
    lab.seed(domain, count=2, prefix="dist-")
    down = lab.client("downstream", domain)
    hosts = {"dc1-content": replica_host(lab, domain, domain)}

    def job(job_id, **kwargs):
        return awx.Job(artifact, tmp_path, job_id, inventory(hosts), credential(lab), **kwargs)

    first = job(101).start()
    holder = wait_for_holder(down, "awx_job=101", first)
    second = job(102).start()
    first, second = first.wait(), second.wait()
    print("job 101: %.1f s, job 102 (waited for 101): %.1f s" % (first.seconds, second.seconds))

    assert (first.status, first.rc) == ("successful", 0), first
    assert_from_artifact(first, artifact)
    result = first.replica_results["dc1-content"]
    assert result["changes"]["create"]["distributions"] == ["dist-0001", "dist-0002"], result
    assert result["audit"] == NO_DIFFERENCE
    assert "awx_job=101" in result["lock"]["owner"] and "host=dc1-content" in result["lock"]["owner"]
    assert holder["owner"] == result["lock"]["owner"]
    assert served(down) == [("dist-0001", "dist-0001"), ("dist-0002", "dist-0002")]
    [summary] = first.stats["artifact_data"]["replica_summary"]
    assert (summary["status"], summary["failed"], summary["changes"]) == ("replicated", False, 6)

    assert (second.status, second.rc) == ("successful", 0), second
    said = second.messages(HOLDER_TASK)["dc1-content"]
    assert "held by %s" % result["lock"]["owner"] in " ".join(said.split()), said
    waited = second.replica_results["dc1-content"]["lock"]
    assert "awx_job=102" in waited["owner"] and waited["waited"] > 0, waited

    rerun = job(103).run()
    print("job 103 (rerun): %.1f s" % rerun.seconds)
    assert (rerun.status, rerun.rc) == ("successful", 0), rerun
    assert rerun.replica_results["dc1-content"]["skipped_reason"], rerun
    assert rerun.stats["changed"] == {}, rerun.stats
    assert rerun.stats["artifact_data"]["replica_summary"][0]["status"] == "skipped"

    lab.seed(domain, count=1, prefix="dist-", start=3)
    before = domain_state(down)
    check = job(104, job_type="check", diff=True).run()
    print("job 104 (check): %.1f s" % check.seconds)
    assert (check.status, check.rc) == ("successful", 0), check
    planned = check.replica_results["dc1-content"]["plan"]
    assert planned["create"]["distributions"] == ["dist-0003"], planned
    assert check.stats["artifact_data"]["replica_summary"][0]["status"] == "checked"
    assert domain_state(down) == before
    assert [name for name, _base_path in served(down)] == ["dist-0001", "dist-0002"]


# ------------------------------------------------------------------------------------ fan-out
def test_fan_out_across_two_servers_with_one_failure(with_domains, artifact, tmp_path):
    """One job, forks 5: four downstream domains (two on each server, the upstream server replicating from
    itself into two domains of its own) replicate one upstream domain at the same time, each under its own
    lock, all exact; a fifth host with a wrong upstream password fails, and the summary lists all five."""
    lab = with_domains
    source = unique("awx-src")
    lab.create_domain("upstream", source)
    lab.seed(source, count=2, prefix="fan-")
    on_downstream, on_upstream = {}, {}
    for name in ("down-a", "down-b", "down-broken"):
        domain = lab.create_domain("downstream", unique(name))
        upstream = {"password": "not-the-password"} if name == "down-broken" else {}
        on_downstream[name] = replica_host(lab, domain, source, **upstream)
    for name in ("up-a", "up-b"):
        on_upstream[name] = replica_host(lab, lab.create_domain("upstream", unique(name)), source)
    children = {"server_downstream": {"hosts": on_downstream},
                "server_upstream": {"hosts": on_upstream, "vars": {"replica_pulp_url": lab.upstream_url}}}

    result = awx.Job(artifact, tmp_path, 201, inventory(children=children), credential(lab), forks=5).run()
    print("job 201 (5 hosts, forks 5): %.1f s" % result.seconds)

    assert (result.status, result.rc) == ("failed", 2), result
    assert_from_artifact(result, artifact)
    assert result.stats["failures"] == {"down-broken": 1}, result.stats
    outcomes = {o["host"]: o for o in result.stats["artifact_data"]["replica_summary"]}
    good = ["down-a", "down-b", "up-a", "up-b"]
    assert sorted(outcomes) == sorted(good + ["down-broken"])
    upstream_served = served(lab.client("upstream", source))
    for host in good:
        outcome = outcomes[host]
        assert (outcome["status"], outcome["failed"], outcome["changes"]) == ("replicated", False, 6), outcome
        assert outcome["audit"] == NO_DIFFERENCE, outcome
        assert "awx_job=201" in outcome["lock_owner"] and "host=%s" % host in outcome["lock_owner"]
        side = "upstream" if host.startswith("up-") else "downstream"
        assert outcome["server"] == (lab.upstream_url if side == "upstream" else lab.downstream_url)
        assert served(lab.client(side, outcome["domain"])) == upstream_served
    broken = outcomes["down-broken"]
    assert broken["failed"] and broken["status"] == "FAILED" and broken["msg"], broken

    table = result.messages(TABLE_TASK)["localhost"]
    assert table[0].split() == ["host", "server", "domain", "upstream", "status", "planned", "changes", "seconds",
                                "lock_waited", "detail"]
    rows = {line.split()[0]: line.split() for line in table[1:-1]}
    assert sorted(rows) == sorted(outcomes)
    assert rows["down-broken"][4] == "FAILED" and all(rows[host][4] == "replicated" for host in good)
    assert table[-1] == "5 replica(s), 1 failed"

    # In parallel: at one moment all four hosts held their domain's lock.
    def when(task):
        return {e["event_data"]["host"]: datetime.datetime.fromisoformat(e["created"]) for e in result.events
                if e.get("event") == "runner_on_ok" and e["event_data"].get("task") == task}

    taken, given = when(LOCK_TASK), when(UNLOCK_TASK)
    assert sorted(taken) == sorted(given) == sorted(good), (taken, given)
    assert max(taken.values()) < min(given.values()), (taken, given)
