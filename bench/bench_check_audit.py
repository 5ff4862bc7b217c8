"""Benchmark: the check-mode audit, i.e. `replicate` in check mode, at 100 and 1,000 distributions.

Prints figures, asserts nothing. For ~100 upstream distributions (a q_select on the name
prefix: PREFIX0001..PREFIX0099) and for all COUNT of them:
- the module code in this process (replication.run(check_mode=True), what the module runs):
  seconds, API requests (upstream + downstream), Python peak memory (tracemalloc) and the
  plan's counts (creates when the downstream is empty, unchanged when it is replicated);
- the same through ansible-playbook (`pulpops.replication.replicate` with --check): seconds and
  the peak RSS of the ansible processes (getrusage of the children: the largest one).

  .venv/bin/python bench/bench_check_audit.py --lab-env bench/benchlab.env [--domain bench1000] [--count 1000]
"""

import argparse
import os
import resource
import sys
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import benchlab  # noqa: E402 pylint: disable=wrong-import-position
import benchout  # noqa: E402 pylint: disable=wrong-import-position
from tests.integration.harness import run_play  # noqa: E402 pylint: disable=wrong-import-position

from ansible_collections.pulpops.replication.plugins.module_utils import replication  # noqa: E402
from ansible_collections.pulpops.replication.plugins.module_utils.plan import summarize  # noqa: E402


def params(lab, name, q_select):
    return {"upstream": name, "upstream_username": lab.username, "upstream_password": lab.password,
            "upstream_validate_certs": True, "q_select": q_select, "mode": "replicate", "reconcile": False,
            "on_foreign": "ignore", "wait": True, "timeout": 3600, "poll_interval": 2, "request_timeout": 300}


def in_process(lab, domain, name, q_select, label):
    down = lab.client("downstream", domain, timeout=300)
    up = lab.client("upstream", domain, timeout=300)
    tracemalloc.start()
    started = time.time()
    result = replication.run(down, params(lab, name, q_select), check_mode=True, upstream=up)
    seconds = time.time() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    counts = summarize(result["plan"])
    print("check mode, module code, %-5s: %.2f s, %d API requests (upstream %d, downstream %d), tracemalloc peak"
          " %.1f MiB, maxrss %.1f MiB; plan: create %d, update %d, delete %d, unchanged %d; changed=%s"
          % (label, seconds, up.request_count + down.request_count, up.request_count, down.request_count,
             peak / 1048576.0, benchlab.maxrss_mib(), counts["create"], counts["update"], counts["delete"],
             counts["unchanged"], result["changed"]))


def via_ansible(lab, domain, name, q_select, label):
    args = dict(lab.connection(domain), upstream=name, upstream_username=lab.username,
                upstream_password=lab.password, request_timeout=300)
    if q_select:
        args["q_select"] = q_select
    started = time.time()
    play = run_play([{"pulpops.replication.replicate": args}], check=True)
    seconds = time.time() - started
    outcome = play.results[0] if play.results else {}
    print("check mode, ansible-playbook, %-5s: %.2f s (rc %s, failed=%s, changed=%s), largest child maxrss %.1f MiB"
          % (label, seconds, play.rc, outcome.get("failed", False), outcome.get("changed"),
             benchlab.maxrss_mib(resource.RUSAGE_CHILDREN)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--domain", default="bench1000", help="domain on both servers (default bench1000)")
    parser.add_argument("--count", type=int, default=1000, help="upstream distributions (seeded when fewer)")
    parser.add_argument("--prefix", default="b-")
    parser.add_argument("--upstream-name", default=None, help="UpstreamPulp name (default bench-DOMAIN)")
    parser.add_argument("--no-ansible", action="store_true", help="only the module code in this process")
    benchlab.add_lab_argument(parser)
    args = parser.parse_args()
    benchout.keep(__file__)  # raw output: bench/results/
    lab = benchlab.lab_from_args(args)
    benchlab.header("pulpops.replication check-mode audit benchmark", lab)
    for side in ("upstream", "downstream"):
        benchlab.ensure_domain(lab, side, args.domain)
    benchlab.ensure_seeded(lab, args.domain, args.count, args.prefix)
    name = args.upstream_name or "bench-" + args.domain
    benchlab.ensure_bare_upstream_pulp(lab, lab.client("downstream", args.domain), args.domain, name)
    print("downstream domain %s holds %d distributions" % (
        args.domain, benchlab.count_distributions(lab.client("downstream", args.domain), args.prefix)))

    scopes = [('name__startswith="%s00"' % args.prefix, "~100"), (None, str(args.count))]
    for q_select, label in scopes:
        in_process(lab, args.domain, name, q_select, label)
    if not args.no_ansible:
        for q_select, label in scopes:
            via_ansible(lab, args.domain, name, q_select, label)
    benchlab.footer()


if __name__ == "__main__":
    main()
