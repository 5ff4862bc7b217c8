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
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import benchlab  # noqa: E402 pylint: disable=wrong-import-position
import benchout  # noqa: E402 pylint: disable=wrong-import-position
from benchlab import load  # noqa: E402 pylint: disable=wrong-import-position
from tests.integration.harness import bare_replicate, role_vars, run_role  # noqa: E402


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
    parser.add_argument("--upstream-name", default=None,
                        help="UpstreamPulp to use (e.g. the one bench_audit.py replicated the domain with);"
                             " default bench-nochg-DOWNSTREAM-PREFIX")
    benchlab.add_lab_argument(parser)
    args = parser.parse_args()
    benchout.keep(__file__)  # raw output: bench/results/
    prefix = args.prefix if args.prefix is not None else ("pub-" if args.serve == "publication" else "repo-")
    up_domain = args.domain or "nochg-bench%d" % args.count
    down_domain = args.downstream_domain or up_domain
    lab = benchlab.lab_from_args(args)
    benchlab.ensure_domain(lab, "upstream", up_domain)
    benchlab.ensure_domain(lab, "downstream", down_domain)
    scope = 'name__startswith="%s"' % prefix if prefix else None
    if args.no_seed:
        have = benchlab.count_distributions(lab.client("upstream", up_domain), prefix)
    else:
        have = benchlab.ensure_seeded(lab, up_domain, args.count, prefix, serve=args.serve)
    down = lab.client("downstream", down_domain)
    name = args.upstream_name or "bench-nochg-%s-%s" % (down_domain, prefix.rstrip("-") or "all")
    # A first run into an empty domain replicates everything: up to an hour and more for 1,000 distributions.
    variables = role_vars(lab, down_domain, name, upstream_domain=up_domain, replica_lock_timeout=1800,
                          replica_wait_timeout=7200)
    if scope:
        variables["replica_upstream"]["q_select"] = scope

    benchlab.header("pulpops.replication no-change benchmark", lab)
    print("%d upstream distributions serving a %s, upstream domain %s, downstream domain %s"
          % (have, args.serve, up_domain, down_domain))

    def role(label):
        started = time.time()
        outcome = run_role(variables, timeout=7200)
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
    benchlab.footer()


if __name__ == "__main__":
    main()
