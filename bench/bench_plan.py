#!/usr/bin/env python
"""Benchmark: the replication plan on 1,000 upstream distributions, and the module's overhead.

Prints figures, asserts nothing:
- for the plan at 100 and at COUNT upstream distributions: seconds and HTTP requests
  (upstream + downstream); requests grow with pages (1000 per page), not with distributions;
- the module's overhead over a bare POST replicate + task-group wait on the same data,
  both measured in this run, as a ratio (module / bare).

Seeding uses the lab's seeder (tests/lab/pulplab seed) and is reused when the domain already
holds the distributions. With PULPLAB_WORKERS=1 seeding 1,000 takes a while: see --count.
Run it on the bench lab (bench/benchlab.env), whose domain bench1000 holds 1,000 distributions:

  .venv/bin/python bench/bench_plan.py --lab-env bench/benchlab.env --domain bench1000 \
      [--count 1000] [--overhead-count 50] [--no-ansible]
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, HERE)

import benchlab  # noqa: E402 pylint: disable=wrong-import-position
import benchout  # noqa: E402 pylint: disable=wrong-import-position
from tests.integration.harness import run_play  # noqa: E402 pylint: disable=wrong-import-position

from ansible_collections.pulpops.replication.plugins.module_utils import replication  # noqa: E402


def params(lab, domain, name, q_select=None):
    return {"upstream": name, "upstream_username": lab.username, "upstream_password": lab.password,
            "upstream_validate_certs": True, "q_select": q_select, "mode": "replicate", "reconcile": False,
            "on_foreign": "ignore", "wait": True, "timeout": 7200, "poll_interval": 2, "request_timeout": 120}


def measure_plan(lab, domain, name, q_select, label):
    down = lab.client("downstream", domain)
    up = lab.client("upstream", domain)
    down.status(), up.status(), down.login(), up.login()  # connection setup is not the plan's cost
    down_before, up_before = down.request_count, up.request_count
    started = time.time()
    rep = replication.Replication(down, params(lab, domain, name, q_select), upstream=up)
    plan = rep.plan()
    seconds = time.time() - started
    print("plan %-5s upstream distributions=%-5d seconds=%.2f requests=%d (upstream %d, downstream %d)"
          % (label, len(rep.upstream_snap["distributions"]), seconds,
             down.request_count - down_before + up.request_count - up_before,
             up.request_count - up_before, down.request_count - down_before))
    return plan


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--count", type=int, default=1000, help="upstream distributions to plan for (default 1000)")
    parser.add_argument("--domain", default="bench-plan", help="domain on both servers (reused when seeded)")
    parser.add_argument("--prefix", default="b-")
    parser.add_argument("--no-ansible", action="store_true",
                        help="skip the third no-change run, the replicate module through ansible-playbook")
    benchlab.add_lab_argument(parser)
    parser.add_argument("--overhead-count", type=int, default=50,
                        help="distributions replicated for the overhead ratio (0 skips it); a no-change"
                             " replication costs the server about 0.5 s per distribution")
    args = parser.parse_args()
    benchout.keep(__file__)  # raw output: bench/results/
    lab = benchlab.lab_from_args(args)
    benchlab.header("pulpops.replication plan benchmark", lab)
    for side in ("upstream", "downstream"):
        benchlab.ensure_domain(lab, side, args.domain)
    benchlab.ensure_seeded(lab, args.domain, args.count, args.prefix)
    name = "bench-" + args.domain
    benchlab.ensure_bare_upstream_pulp(lab, lab.client("downstream", args.domain), args.domain, name)

    small = 'name__startswith="%s00"' % args.prefix  # PREFIX0001..PREFIX0099
    measure_plan(lab, args.domain, name, small, "~100")
    measure_plan(lab, args.domain, name, None, str(args.count))

    if args.overhead_count:
        odomain = "%s-o%d" % (args.domain, args.overhead_count)
        for side in ("upstream", "downstream"):
            benchlab.ensure_domain(lab, side, odomain)
        benchlab.ensure_seeded(lab, odomain, args.overhead_count, args.prefix)
        oname = "bench-" + odomain
        upstream_pulp = benchlab.ensure_bare_upstream_pulp(lab, lab.client("downstream", odomain), odomain, oname)
        down = lab.client("downstream", odomain)
        started = time.time()
        replication.run(down, params(lab, odomain, oname))  # bring the downstream up to date first
        print("setup replication of %d distributions: %.1f s" % (args.overhead_count, time.time() - started))

        started = time.time()
        group = down.post(upstream_pulp["pulp_href"] + "replicate/", {})["task_group"]
        down.wait_task_group(group, timeout=7200, poll_interval=2, finished=replication.group_finished)
        bare = time.time() - started

        down = lab.client("downstream", odomain)
        started = time.time()
        result = replication.run(down, params(lab, odomain, oname))
        module = time.time() - started
        print("no-change replication of %d distributions: bare POST+wait %.2f s, module code %.2f s "
              "(%d downstream requests), ratio %.3f; changed=%s"
              % (args.overhead_count, bare, module, down.request_count, module / bare if bare else float("nan"),
                 result["changed"]))
        if not args.no_ansible:
            task = {"pulpops.replication.replicate": dict(lab.connection(odomain), **{
                "upstream": oname, "upstream_username": lab.username, "upstream_password": lab.password,
                "timeout": 7200})}
            started = time.time()
            play = run_play([task])
            playbook = time.time() - started
            outcome = play.results[0] if play.results else {}
            print("no-change replication of %d distributions: replicate module via ansible-playbook %.2f s "
                  "(rc %s, failed=%s), ratio to bare %.3f"
                  % (args.overhead_count, playbook, play.rc, outcome.get("failed", False),
                     playbook / bare if bare else float("nan")))
    benchlab.footer()


if __name__ == "__main__":
    main()
