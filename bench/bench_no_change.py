#!/usr/bin/env python
"""Benchmark: a no-change replication, bare (POST replicate/ and wait) against the replica role.

Prints seconds side by side, asserts nothing. One run, in this order, on the same data:
  1. the role once (first replication, or a rerun after an earlier bench's bare run: it
     replicates, verifies and leaves a record);
  2. role no-change runs: the whole ansible-playbook run of the role, wall time (it skips);
  3. bare no-change runs: POST {upstream}replicate/ and wait for the task group, as an operator
     without this collection would (each one moves last_replication, so the next bench's first
     role run replicates again).

Seeding uses the lab's seeder and is reused when the upstream domain already holds the
distributions. Do not seed 1,000 on the shared lab: point PULPLAB_* at a separate lab
(see docs/performance.md) and give a downstream domain of your own.

  .venv/bin/python bench/bench_no_change.py [--count 50] [--serve publication|repository]
      [--domain nochg-bench50] [--downstream-domain NAME] [--prefix pub-] [--repeat 3] [--no-seed]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)

import tests.conftest  # noqa: E402,F401 pylint: disable=unused-import
from tests.integration.conftest import PULPLAB, Lab  # noqa: E402
from tests.integration.harness import bare_replicate, role_vars, run_role  # noqa: E402


def lab_env():
    out = subprocess.run([sys.executable, PULPLAB, "env"], check=True, stdout=subprocess.PIPE, text=True).stdout
    return Lab(dict(line.replace("export ", "", 1).split("=", 1) for line in out.splitlines() if "=" in line))


def ensure_domain(lab, side, name):
    if not lab.client(side).find("domains/", name=name):
        lab.create_domain(side, name)


def load():
    try:
        return " ".join("%.2f" % v for v in os.getloadavg())
    except OSError:
        return "n/a"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--serve", choices=("publication", "repository"), default="publication")
    parser.add_argument("--domain", default=None, help="upstream domain (default nochg-bench<count>)")
    parser.add_argument("--downstream-domain", default=None, help="default: the upstream domain's name")
    parser.add_argument("--prefix", default=None, help="distribution name prefix (default pub- or repo-)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bare-repeat", type=int, default=1)
    parser.add_argument("--no-seed", action="store_true", help="use what the upstream domain holds")
    args = parser.parse_args()
    prefix = args.prefix if args.prefix is not None else ("pub-" if args.serve == "publication" else "repo-")
    up_domain = args.domain or "nochg-bench%d" % args.count
    down_domain = args.downstream_domain or up_domain
    lab = lab_env()
    ensure_domain(lab, "upstream", up_domain)
    ensure_domain(lab, "downstream", down_domain)
    up = lab.client("upstream", up_domain)
    scope = 'name__startswith="%s"' % prefix if prefix else None
    have = up.get("distributions/file/file/", params={"limit": 1, "q": scope} if scope else {"limit": 1})["count"]
    if have < args.count and not args.no_seed:
        started = time.time()
        lab.seed(up_domain, args.count - have, prefix, serve=args.serve, start=have + 1)
        print("seeded %d upstream distributions in %.1f s" % (args.count - have, time.time() - started))
        have = args.count
    down = lab.client("downstream", down_domain)
    name = "bench-nochg-%s-%s" % (down_domain, prefix.rstrip("-") or "all")
    variables = role_vars(lab, down_domain, name, upstream_domain=up_domain, replica_lock_timeout=1800)
    if scope:
        variables["replica_upstream"]["q_select"] = scope

    print("pulpops.replication no-change benchmark (%s, %d CPU, load average %s)"
          % (time.strftime("%Y-%m-%d %H:%M"), os.cpu_count() or 0, load()))
    print("%d upstream distributions serving a %s, upstream domain %s, downstream domain %s"
          % (have, args.serve, up_domain, down_domain))

    def role(label):
        started = time.time()
        outcome = run_role(variables)
        seconds = time.time() - started
        result = outcome["replica_result"]
        if outcome["failed"]:
            print("%s: FAILED after %.1f s: %s (%s)" % (label, seconds, outcome["msg"], outcome["task"]))
            print(outcome["output"][-3000:])
            sys.exit(1)
        state = "skipped" if result.get("skipped_reason") else "replicated"
        print("%-34s %7.1f s  (%s; load %s; phases %s)" % (label, seconds, state, load(), result.get("phases")))
        return seconds, state

    role("role, first run (records)")
    skips = []
    for index in range(args.repeat):
        seconds, state = role("role no-change #%d" % (index + 1))
        if state == "skipped":
            skips.append(seconds)
    server = down.find("upstream-pulps/", name=name)
    bare = []
    for index in range(args.bare_repeat):
        started = time.time()
        tasks = bare_replicate(down, server["pulp_href"], timeout=7200)
        bare.append(time.time() - started)
        failed = [t for t in tasks if t["state"] != "completed"]
        label = "bare no-change #%d" % (index + 1)
        print("%-34s %7.1f s  (%d tasks, %d not completed; load %s)" % (label, bare[-1], len(tasks), len(failed), load()))
    bare_median = statistics.median(bare)
    print("")
    print("%-10s %-8s %-12s %-12s %s" % ("count", "serve", "bare (s)", "role (s)", "role / bare"))
    if skips:
        role_median = statistics.median(skips)
        print("%-10d %-8s %-12.1f %-12.1f %.3f" % (have, args.serve[:8], bare_median, role_median, role_median / bare_median))
    else:
        print("%-10d %-8s %-12.1f %-12s %s" % (have, args.serve[:8], bare_median, "no skip", "-"))
    print("load average at the end (1/5/15 min): %s" % load())


if __name__ == "__main__":
    main()
