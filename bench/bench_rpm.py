#!/usr/bin/env python
"""Benchmark: RPM distributions, the replica role against a bare replication, in one run.

Prints seconds side by side, asserts nothing. On one upstream domain of COUNT rpm distributions
(seeded with real RPMs by the lab's seeder, reused when present), in this order:
  1. bare first replication: POST replicate/ into a fresh downstream domain and wait;
  2. role first replication into another fresh downstream domain (plan, replicate, verify, record);
  3. then ROUNDS alternating no-change rounds: bare (POST replicate/ and wait again) and the role
     (which finds nothing changed and skips).

The lab must have pulp_rpm on both servers (the pinned release's default) and the production
password hasher, as every bench (see docs/performance.md).

  .venv/bin/python bench/bench_rpm.py --lab-env bench/benchlab.env [--count 50] [--rounds 2]
"""

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import benchlab  # noqa: E402 pylint: disable=wrong-import-position
import benchout  # noqa: E402 pylint: disable=wrong-import-position
from benchlab import load  # noqa: E402 pylint: disable=wrong-import-position
from tests.integration.harness import bare_replicate, role_vars, run_role, unique  # noqa: E402


def seed_rpm(lab, domain, count, prefix):
    client = lab.client("upstream", domain)
    have = client.get("distributions/rpm/rpm/", params={"limit": 1, "name__startswith": prefix})["count"]
    if have < count:
        started = time.time()
        lab.seed(domain, count, prefix, kind="rpm", keep_content=True)
        print("seeded %d rpm distributions in %s: %.1f s" % (count - have, domain, time.time() - started))
    return client.get("distributions/rpm/rpm/", params={"limit": 1, "name__startswith": prefix})["count"]


def timed_role(variables, label):
    started = time.time()
    outcome = run_role(variables)
    seconds = time.time() - started
    if outcome["failed"]:
        print("%s: FAILED after %.1f s: %s (%s)" % (label, seconds, outcome["msg"], outcome["task"]))
        print(outcome["output"][-3000:])
        sys.exit(1)
    result = outcome["replica_result"]
    state = "skipped" if result.get("skipped_reason") else "replicated"
    figures = (label, seconds, state, result.get("audit"), load(), result.get("phases"))
    print("%-30s %7.1f s  (%s; audit %s; load %s; phases %s)" % figures)
    return seconds


def timed_bare(down, server, label):
    started = time.time()
    tasks = bare_replicate(down, server["pulp_href"], timeout=7200)
    seconds = time.time() - started
    failed = [t for t in tasks if t["state"] != "completed"]
    print("%-30s %7.1f s  (%d tasks, %d not completed; load %s)" % (label, seconds, len(tasks), len(failed), load()))
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--domain", default=None, help="upstream domain (default rpm-bench<count>)")
    benchlab.add_lab_argument(parser)
    args = parser.parse_args()
    benchout.keep(__file__)  # raw output: bench/results/
    lab = benchlab.lab_from_args(args)
    if not (lab.has_plugin("upstream", "rpm") and lab.has_plugin("downstream", "rpm")):
        sys.exit("the lab runs without pulp_rpm on both servers (PULPLAB_PLUGINS)")
    up_domain = args.domain or "rpm-bench%d" % args.count
    benchlab.ensure_domain(lab, "upstream", up_domain)
    have = seed_rpm(lab, up_domain, args.count, "rpm-")
    bare_domain, role_domain = unique("rpm-bare"), unique("rpm-role")
    for name in (bare_domain, role_domain):
        benchlab.ensure_domain(lab, "downstream", name)
    down = lab.client("downstream", bare_domain)
    server = benchlab.ensure_bare_upstream_pulp(lab, down, up_domain, unique("bare"))
    variables = role_vars(lab, role_domain, unique("role"), upstream_domain=up_domain, replica_lock_timeout=1800)

    benchlab.header("pulpops.replication rpm benchmark", lab)
    print("%d upstream rpm distributions (one package each, a publication each), upstream domain %s" % (have, up_domain))
    bare_first = timed_bare(down, server, "bare first replication")
    role_first = timed_role(variables, "role first replication")
    bare, role = [], []
    for index in range(args.rounds):
        bare.append(timed_bare(down, server, "bare no-change #%d" % (index + 1)))
        role.append(timed_role(variables, "role no-change #%d" % (index + 1)))
    print("")
    print("%-26s %-10s %-10s %s" % ("run", "bare (s)", "role (s)", "role / bare"))
    print("%-26s %-10.1f %-10.1f %.2f" % ("first replication", bare_first, role_first, role_first / bare_first))
    bare_median, role_median = statistics.median(bare), statistics.median(role)
    print("%-26s %-10.1f %-10.1f %.2f" % ("no-change (median)", bare_median, role_median, role_median / bare_median))
    benchlab.footer()


if __name__ == "__main__":
    main()
