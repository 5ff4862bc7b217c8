"""Helpers shared by the bench scripts: which lab to use, and the figures every script prints.

The scale benchmarks run on a SEPARATE lab (bench/benchlab.env: /work/benchlab, ports 258xx,
PostgreSQL 25830, two tasking workers per server) so that the shared lab (.lab, ports 248xx)
stays usable for tests. A script given ``--lab-env bench/benchlab.env`` (or started with those
PULPLAB_* variables exported) talks to that lab; ``tests/lab/pulplab`` reads the same variables.
"""

import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
if REPO not in sys.path:
    sys.path.insert(0, REPO)

import tests.conftest  # noqa: E402,F401 pylint: disable=unused-import,wrong-import-position
from tests.integration.conftest import PULPLAB, Lab  # noqa: E402 pylint: disable=wrong-import-position

ENV_FILE = os.path.join(HERE, "benchlab.env")


def read_env_file(path):
    """KEY=VALUE lines of an env file (comments and blank lines ignored)."""
    values = {}
    with open(path) as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, value = line.replace("export ", "", 1).split("=", 1)
            values[key.strip()] = value.strip().strip('"').strip("'")
    return values


def add_lab_argument(parser):
    parser.add_argument("--lab-env", default=None, metavar="FILE",
                        help="PULPLAB_* settings of the lab to use (e.g. bench/benchlab.env); without it the"
                             " PULPLAB_* variables of the environment decide (default: the shared lab)")


def lab_from_args(args):
    """The Lab of ``--lab-env`` (its variables are exported to this process and to pulplab)."""
    if getattr(args, "lab_env", None):
        os.environ.update(read_env_file(args.lab_env))
    refuse_fast_hasher()
    out = subprocess.run([sys.executable, PULPLAB, "env"], check=True, stdout=subprocess.PIPE, text=True).stdout
    env = {}
    for line in out.splitlines():
        key, sep, value = line.replace("export ", "", 1).partition("=")
        if sep:
            env[key] = value
    return Lab(env)


def refuse_fast_hasher():
    """Exit when the lab checks passwords with the test runs' fast hasher: its figures would not be real."""
    out = subprocess.run([sys.executable, PULPLAB, "status", "--json"], check=False, stdout=subprocess.PIPE,
                         text=True).stdout
    try:
        report = json.loads(out)
    except ValueError:
        return
    fast = sorted(name for name, item in report.items() if item.get("password_hasher") == "fast")
    if fast:
        sys.exit("the lab's %s run(s) with the fast password hasher of the test runs (scripts/test): restart it with"
                 " the production one (tests/lab/pulplab start, without PULPLAB_PASSWORD_HASHER) before a bench"
                 % " and ".join(fast))


def pulplab(*argv):
    """Run tests/lab/pulplab with this process's PULPLAB_* environment; return its stdout."""
    return subprocess.run([sys.executable, PULPLAB] + [str(a) for a in argv], check=True,
                          stdout=subprocess.PIPE, text=True).stdout


def ensure_domain(lab, side, name):
    if not lab.client(side).find("domains/", name=name):
        lab.create_domain(side, name)


def first_distributions(client, prefix=None):
    """The first page (one row, by name) of the domain's file distributions named PREFIX...: count and row."""
    params = {"limit": 1, "ordering": "name"}
    if prefix:
        params["name__startswith"] = prefix
    return client.get("distributions/file/file/", params=params)


def count_distributions(client, prefix=None):
    return first_distributions(client, prefix)["count"]


def seeded_problem(client, prefix, serve):
    """Why the domain's first PREFIX distribution is not what the seeder makes for ``serve`` (None: it is).

    A reused domain may hold distributions an older seeder or a test left there; the bench
    would then measure (or fail on) something else than it says.
    """
    found = first_distributions(client, prefix)["results"]
    if not found:
        return None
    dist = found[0]
    if not dist.get(serve):
        return "'%s' serves no %s" % (dist["name"], serve)
    status = client.fetch(dist["base_url"].rstrip("/") + "/PULP_MANIFEST").status_code
    if status != 200:
        return "'%s' answers %d for PULP_MANIFEST at %s" % (dist["name"], status, dist["base_url"])
    return None


def ensure_seeded(lab, domain, count, prefix, serve="publication"):
    """Seed the upstream domain up to ``count`` distributions PREFIX0001...; reuse what exists.

    Returns how many the domain holds with that prefix. Exits with a message when the
    distributions found there do not serve what the seeder would have made.
    """
    client = lab.client("upstream", domain)
    have = count_distributions(client, prefix)
    if have < count:
        started = time.time()
        # an interrupted seed resumes: repositories that already have content keep it
        lab.seed(domain, count, prefix, serve=serve, start=1, keep_content=True)
        print("seeded %d upstream distributions in %s: %.1f s" % (count - have, domain, time.time() - started))
        have = count_distributions(client, prefix)
    problem = seeded_problem(client, prefix, serve)
    if problem:
        sys.exit("upstream domain %s holds %d '%s' distributions that are not what this bench seeds (%s):"
                 " give another domain, or delete them there" % (domain, have, prefix or "", problem))
    return have


def maxrss_mib(who=resource.RUSAGE_SELF):
    """Peak resident set size (MiB) of this process (or of its finished children)."""
    return resource.getrusage(who).ru_maxrss / 1024.0


def load():
    """The load average (1/5/15 min) as text."""
    return " ".join("%.2f" % v for v in os.getloadavg())


def header(title, lab):
    print("%s (%s, %d CPU, load average %s)" % (title, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                                os.cpu_count() or 0, load()))
    print("lab: upstream %s, downstream %s (%s)" % (lab.upstream_url, lab.downstream_url, lab.dir))


def footer():
    print("load average at the end (1/5/15 min): %s" % load())


def ensure_bare_upstream_pulp(lab, down, upstream_domain, name):
    """The bench's UpstreamPulp for a bare replication (policy labeled), created once and reused."""
    existing = down.find("upstream-pulps/", name=name)
    if existing:
        return existing
    return down.post("upstream-pulps/", {"name": name, "base_url": lab.upstream_url, "api_root": "/pulp/",
                                         "domain": upstream_domain, "username": lab.username,
                                         "password": lab.password, "policy": "labeled"})
