"""Fixtures for tests against the two real Pulp servers of tests/lab/pulplab.

The lab is started once per session (idempotent: a running lab is reused). Each test that
needs isolation gets fresh domains on both servers, so tests never see each other's objects;
on a lab without domains (PULPLAB_DOMAINS=false) it gets the default domain, emptied first.
The lab is whatever the PULPLAB_* variables name: `scripts/test versions` runs the tests marked
``versions`` on labs of other pulpcore releases that way.
"""

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.integration.harness import unique

from ansible_collections.pulpops.replication.plugins.module_utils.client import PulpClient

PULPLAB = os.path.join(REPO, "tests", "lab", "pulplab")
# Longest wait (s) between two looks at the seeder's tasks: a few small uploads finish within a
# second, and the seeder's default of 1 s left most of that second idle.
SEED_POLL = 0.2


class Lab:
    def __init__(self, env):
        self.upstream_url = env["PULPLAB_UPSTREAM_URL"]
        self.downstream_url = env["PULPLAB_DOWNSTREAM_URL"]
        self.upstream_content_url = env["PULPLAB_UPSTREAM_CONTENT_URL"]
        self.downstream_content_url = env["PULPLAB_DOWNSTREAM_CONTENT_URL"]
        self.username = env["PULPLAB_USERNAME"]
        self.password = env["PULPLAB_PASSWORD"]
        self.dir = env["PULPLAB_DIR"]
        self._domains = {}

    def client(self, side, domain="default", **kwargs):
        url = self.upstream_url if side == "upstream" else self.downstream_url
        kwargs.setdefault("username", self.username)
        kwargs.setdefault("password", self.password)
        return PulpClient(url, domain=domain, **kwargs)

    def supports(self, side, feature):
        """Whether that side's pulpcore has ``feature`` (server_features.FEATURES), read from its status."""
        return self.client(side).supports(feature)

    def has_plugin(self, side, plugin):
        return plugin in self.client(side).versions()

    def version_text(self, side):
        return ".".join(str(part) for part in self.client(side).core_version)

    def domain_enabled(self, side):
        if side not in self._domains:
            self._domains[side] = self.client(side).domain_enabled
        return self._domains[side]

    def content_url(self, side, domain, base_path, path=""):
        """The content app's URL of a base_path (the domain is part of it where domains are on)."""
        root = self.upstream_content_url if side == "upstream" else self.downstream_content_url
        prefix = "%s/" % domain if self.domain_enabled(side) else ""
        return "%s/pulp/content/%s%s/%s" % (root, prefix, base_path, path)

    def empty_default_domain(self, side):
        """Delete everything a test could have left in the default domain (a lab without domains)."""
        root = self.client(side)
        tasks = []
        for path in ("upstream-pulps/", "distributions/", "contentguards/", "remotes/", "repositories/"):
            for item in root.list_all(path):
                if "/core/artifacts/" in item["pulp_href"]:
                    continue
                answer = root.delete(item["pulp_href"])
                if isinstance(answer, dict) and answer.get("task"):
                    tasks.append(answer["task"])
            root.wait_tasks(tasks, timeout=600, poll_interval=0.2)
            tasks = []

    def create_domain(self, side, name):
        root = self.client(side)
        root.post("domains/", {
            "name": name,
            "storage_class": "pulpcore.app.models.storage.FileSystem",
            "storage_settings": {"location": os.path.join(self.dir, side, "media")},
        })
        return name

    def seed(self, domain, count=3, prefix="dist-", serve="publication", start=1, server="upstream",
             keep_content=False, kind="file"):
        """Create ``count`` published, distributed repositories (``kind``: file, rpm, mixed) with the lab's seeder."""
        cmd = [sys.executable, PULPLAB, "seed", "--server", server, "--domain", domain, "--count", str(count),
               "--prefix", prefix, "--serve", serve, "--start", str(start), "--poll-interval", str(SEED_POLL),
               "--type", kind]
        cmd += ["--keep-content"] if keep_content else []
        subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)

    def connection(self, domain="default"):
        """Module connection options for the downstream server."""
        return {"pulp_url": self.downstream_url, "username": self.username, "password": self.password,
                "pulp_domain": domain}


@pytest.fixture(scope="session")
def lab():
    subprocess.run([sys.executable, PULPLAB, "start"], check=True)
    out = subprocess.run([sys.executable, PULPLAB, "env"], check=True, stdout=subprocess.PIPE, text=True).stdout
    env = {}
    for line in out.splitlines():
        key, _sep, value = line.replace("export ", "", 1).partition("=")
        env[key] = value
    return Lab(env)


@pytest.fixture
def domains(lab, request):
    """A fresh domain of the same name on the upstream and the downstream (default, emptied, without domains)."""
    if not (lab.domain_enabled("upstream") and lab.domain_enabled("downstream")):
        for side in ("upstream", "downstream"):
            lab.empty_default_domain(side)
        return "default"
    name = unique("t")
    lab.create_domain("upstream", name)
    lab.create_domain("downstream", name)
    return name


@pytest.fixture
def upstream(lab, domains):
    return lab.client("upstream", domain=domains)


@pytest.fixture
def downstream(lab, domains):
    return lab.client("downstream", domain=domains)
