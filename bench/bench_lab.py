# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Figures of the lab and the client: start times, seed rate, request cost with and without a session.

    .venv/bin/python bench/bench_lab.py [--count 50] [--requests 20] [--cold]

Without --cold it only reads from and adds to the running lab (a fresh domain for the seed).
--cold measures a start from nothing in a SEPARATE lab: its own PULPLAB_DIR (default
/tmp/pulplab-bench-cold) and its own ports, so the shared lab is never stopped or reset.
That lab is stopped and removed afterwards unless --keep-cold is given.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PULPLAB = os.path.join(REPO, "tests", "lab", "pulplab")
DEFAULT_LAB = os.path.join(REPO, ".lab")
sys.path.insert(0, REPO)
import tests.conftest  # noqa: E402,F401 pylint: disable=unused-import  # makes the collection importable
from ansible_collections.pulpops.replication.plugins.module_utils.client import PulpClient  # noqa: E402

import benchout  # noqa: E402  # raw output under bench/results/

# The cold lab's ports: well away from the shared lab's 24816/24817/24826/24827 and 24830.
COLD_ENV = {
    "PULPLAB_UPSTREAM_API_PORT": "25817",
    "PULPLAB_UPSTREAM_CONTENT_PORT": "25816",
    "PULPLAB_DOWNSTREAM_API_PORT": "25827",
    "PULPLAB_DOWNSTREAM_CONTENT_PORT": "25826",
    "PULPLAB_PG_PORT": "25850",
}


def pulplab(*args, env=None):
    """Run one pulplab subcommand; return (seconds, stdout)."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, PULPLAB] + list(args), env=env, check=True,
                            stdout=subprocess.PIPE, text=True)
    return time.perf_counter() - started, result.stdout


def lab_env():
    out = pulplab("env")[1]
    return dict(line.replace("export ", "", 1).split("=", 1) for line in out.splitlines() if "=" in line)


def cold_start(lab_dir, keep):
    """Seconds for `pulplab start` in an empty PULPLAB_DIR on private ports."""
    if os.path.realpath(lab_dir) == os.path.realpath(DEFAULT_LAB):
        raise SystemExit("refusing --cold on the shared lab (%s): set PULPLAB_DIR to another folder" % DEFAULT_LAB)
    env = dict(os.environ, PULPLAB_DIR=lab_dir)
    for key, value in COLD_ENV.items():
        env.setdefault(key, value)
    if os.path.exists(lab_dir):
        pulplab("stop", env=env)
        shutil.rmtree(lab_dir)
    try:
        seconds = pulplab("start", env=env)[0]
    finally:
        if not keep:
            pulplab("stop", env=env)
            shutil.rmtree(lab_dir, ignore_errors=True)
    return seconds


def seed_rate(env, count):
    """Seed ``count`` distributions into a fresh upstream domain; the seeder's own figures and wall time."""
    domain = "bench-%d" % int(time.time())
    wall, out = pulplab("seed", "--server", "upstream", "--domain", domain, "--count", str(count), "--prefix", "b-")
    report = json.loads(out.strip().splitlines()[-1])
    report["wall_seconds"] = round(wall, 2)
    return report


def request_times(client, requests_count):
    """Milliseconds of each of ``requests_count`` GETs of a one-item list (after any login)."""
    client.get("distributions/", params={"limit": 1})  # status, login (session) and one warm-up request
    times = []
    while len(times) < requests_count:
        started = time.perf_counter()
        client.get("distributions/", params={"limit": 1})
        times.append((time.perf_counter() - started) * 1000)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=50, help="distributions to seed (default 50)")
    parser.add_argument("--requests", type=int, default=20, help="GETs per authentication mode (default 20)")
    parser.add_argument("--cold", action="store_true", help="also measure a cold start in a separate lab")
    parser.add_argument("--cold-dir", default=os.environ.get("PULPLAB_DIR", "/tmp/pulplab-bench-cold"),
                        help="PULPLAB_DIR of the separate lab (default /tmp/pulplab-bench-cold)")
    parser.add_argument("--keep-cold", action="store_true", help="leave the separate lab running")
    args = parser.parse_args()
    benchout.keep(__file__)  # raw output: bench/results/

    # The shared lab: never PULPLAB_DIR from the environment, which --cold uses.
    os.environ.pop("PULPLAB_DIR", None)
    lines = ["pulpops.replication lab benchmark (%s, %d CPU, load average %.2f %.2f %.2f)"
             % ((time.strftime("%Y-%m-%d %H:%M"), os.cpu_count()) + os.getloadavg())]
    if args.cold:
        lines.append("cold start (empty PULPLAB_DIR, install + initdb + migrate + start): %.1f s"
                     % cold_start(args.cold_dir, args.keep_cold))
    warm = pulplab("start")[0]
    lines.append("warm start (pulplab start while running): %.2f s" % warm)
    env = lab_env()

    seed = seed_rate(env, args.count)
    lines.append("seed: %d distributions in a fresh upstream domain: %.1f s (seeder), %.1f s (wall), "
                 "%.2f distributions/s, %d requests"
                 % (seed["count"], seed["seconds"], seed["wall_seconds"], seed["distributions_per_second"],
                    seed["requests"]))

    lines.append("client, %d GETs of a one-item list (distributions/?limit=1) on the upstream, ms:" % args.requests)
    lines.append("  %-12s %8s %8s %8s" % ("auth", "median", "min", "max"))
    for label, use_session in (("session", True), ("basic auth", False)):
        client = PulpClient(env["PULPLAB_UPSTREAM_URL"], env["PULPLAB_USERNAME"], env["PULPLAB_PASSWORD"],
                            use_session=use_session)
        times = request_times(client, args.requests)
        lines.append("  %-12s %8.1f %8.1f %8.1f" % (label, statistics.median(times), min(times), max(times)))
    lines.append("load average at the end (1/5/15 min): %.2f %.2f %.2f" % os.getloadavg())
    print("\n".join(lines))


if __name__ == "__main__":
    main()
