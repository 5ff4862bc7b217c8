"""Benchmark: a replication that must change things, the replica role against a bare replicate.

Prints figures, asserts nothing. One upstream domain (default chg-1) with COUNT distributions
feeds pairs of new, empty downstream domains: DOMAIN-RUN-role (replicated by the replica role
through ansible-playbook, harness.run_role) and DOMAIN-RUN-bare (a bare POST replicate/ +
task-group wait, harness.bare_replicate); RUN is new for every pair. FIRST_ROUNDS pairs
replicate everything once (the first replication, the order alternating, each printed with its
ratio, target at most 1.1); the change rounds then go on in the last pair.
Then, per round, CHANGED of the upstream distributions get new content (`pulplab seed
--start K --count CHANGED`: a new file upload, a new publication, the distribution repointed)
and both downstream domains replicate that same change, one after the other (the order
alternates between rounds). Printed: seconds of each, the ratio role / bare (target at most
0.8), the role's phase seconds, its fixed phases (every phase but replicate; target at most
5 s in all, lock and unlock at most 0.5 s each) and whether each side ends up serving the
new content; then the median and the worst ratio over the rounds.

  .venv/bin/python bench/bench_change.py --lab-env bench/benchlab.env [--domain chg-1] [--count 50] \\
      [--changed 10] [--rounds 4] [--first-rounds 2]
"""

import argparse
import os
import statistics
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import benchlab  # noqa: E402 pylint: disable=wrong-import-position
import benchout  # noqa: E402 pylint: disable=wrong-import-position
from tests.integration.harness import bare_replicate, changed_tasks, role_vars, run_role  # noqa: E402

from ansible_collections.pulpops.replication.plugins.module_utils.audit import Auditor  # noqa: E402


def exactness(lab, upstream_domain, down, name):
    """'exact' or the audit's difference counts, for a downstream domain after a run."""
    server = down.find("upstream-pulps/", name=name)
    report = Auditor(down, lab.client("upstream", upstream_domain), server, check_content=True).run()
    if report["exact"]:
        return "exact (%d distributions)" % report["distributions"]
    return "NOT exact: " + ", ".join("%s %d" % (k, v) for k, v in sorted(report["summary"].items()) if v)


def run_bare(down, server):
    started = time.time()
    tasks = bare_replicate(down, server["pulp_href"], timeout=7200)
    seconds = time.time() - started
    failed = [t for t in tasks if t.get("state") == "failed"]
    return seconds, "%d tasks, %d failed" % (len(tasks), len(failed))


def run_the_role(variables):
    started = time.time()
    outcome = run_role(variables, timeout=7200)
    seconds = time.time() - started
    result = outcome.get("replica_result") or {}
    phases = dict((k, v) for k, v in (result.get("phases") or {}).items() if isinstance(v, (int, float)))
    fixed = sum(v for k, v in phases.items() if k != "replicate")
    detail = "failed=%s%s, changed tasks %s, partial_q_select %s, phases %s; fixed phases %.2f s (target <= 5)" % (
        outcome["failed"], (" (%s: %s)" % (outcome.get("task"), outcome.get("msg"))) if outcome["failed"] else "",
        changed_tasks(outcome.get("output") or ""), "set" if result.get("partial_q_select") else "none",
        ", ".join("%s %.2f" % (k, v) for k, v in phases.items()), fixed)
    return seconds, detail


def first_replication(lab, args, run, bare_first):
    """Replicate the upstream domain into two new downstream domains, bare and by the role; print both."""
    role_domain, bare_domain = "%s-%s-role" % (args.domain, run), "%s-%s-bare" % (args.domain, run)
    benchlab.ensure_domain(lab, "downstream", role_domain)
    benchlab.ensure_domain(lab, "downstream", bare_domain)
    role_name, bare_name = "benchchg-%s-role" % run, "benchchg-%s-bare" % run
    variables = role_vars(lab, role_domain, role_name, upstream_domain=args.domain, replica_wait_timeout=7200,
                          replica_lock_timeout=7200)
    down_bare = lab.client("downstream", bare_domain, timeout=300)
    server = benchlab.ensure_bare_upstream_pulp(lab, down_bare, args.domain, bare_name)
    figures = {}
    for side in (["bare", "role"] if bare_first else ["role", "bare"]):
        figures[side] = run_bare(down_bare, server) if side == "bare" else run_the_role(variables)
        print("first replication: %s, %s into %s: %.1f s (%s)" % (
            side, args.domain, bare_domain if side == "bare" else role_domain, figures[side][0], figures[side][1]))
    role, bare = figures["role"][0], figures["bare"][0]
    ratio = role / bare if bare else float("nan")
    print("first replication of %d: role %.1f s / bare %.1f s = ratio %.3f (target <= 1.1); %s first"
          % (args.count, role, bare, ratio, "bare" if bare_first else "role"))
    return {"ratio": ratio, "role_domain": role_domain, "role_name": role_name, "variables": variables,
            "down_bare": down_bare, "server": server, "bare_name": bare_name}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--domain", default="chg-1", help="upstream domain (downstream: DOMAIN-role, DOMAIN-bare)")
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--changed", type=int, default=10, help="distributions given new content per round")
    parser.add_argument("--prefix", default="c-")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--first-rounds", type=int, default=2,
                        help="first replications into new domain pairs, the order alternating (the last pair goes on)")
    parser.add_argument("--run", default=uuid.uuid4().hex[:6], help="names this invocation's downstream domains")
    benchlab.add_lab_argument(parser)
    args = parser.parse_args()
    benchout.keep(__file__)  # raw output: bench/results/
    lab = benchlab.lab_from_args(args)
    benchlab.header("pulpops.replication change benchmark", lab)
    benchlab.ensure_domain(lab, "upstream", args.domain)
    benchlab.ensure_seeded(lab, args.domain, args.count, args.prefix)
    firsts = []
    for first in range(args.first_rounds):
        pair = first_replication(lab, args, "%s%d" % (args.run, first), bare_first=first % 2 == 0)
        firsts.append(pair["ratio"])
    role_domain, role_name, variables = pair["role_domain"], pair["role_name"], pair["variables"]
    down_bare, server, bare_name = pair["down_bare"], pair["server"], pair["bare_name"]
    print("first replications of %d, %d rounds, alternating: ratio median %.3f, worst %.3f (target <= 1.1)"
          % (args.count, len(firsts), statistics.median(firsts), max(firsts)))
    ratios = []

    down_role = lab.client("downstream", role_domain, timeout=300)
    for round_no in range(args.rounds):
        start = 1 + (round_no * args.changed) % args.count
        started = time.time()
        benchlab.pulplab("seed", "--server", "upstream", "--domain", args.domain, "--count", args.changed,
                         "--prefix", args.prefix, "--start", start)
        print("round %d: new content in %s%04d..%s%04d (%d of %d): %.1f s"
              % (round_no + 1, args.prefix, start, args.prefix, start + args.changed - 1, args.changed, args.count,
                 time.time() - started))
        order = ["bare", "role"] if round_no % 2 == 0 else ["role", "bare"]
        figures = {}
        for side in order:
            if side == "bare":
                figures[side] = run_bare(down_bare, server)
            else:
                figures[side] = run_the_role(variables)
            print("round %d: %s: %.2f s (%s)" % (round_no + 1, side, figures[side][0], figures[side][1]))
        bare, role = figures["bare"][0], figures["role"][0]
        ratios.append(role / bare if bare else float("nan"))
        print("round %d: role %.2f s / bare %.2f s = ratio %.3f (target <= 0.8); order %s"
              % (round_no + 1, role, bare, ratios[-1], " then ".join(order)))
        print("round %d: after the runs: bare domain %s; role domain %s"
              % (round_no + 1, exactness(lab, args.domain, down_bare, bare_name),
                 exactness(lab, args.domain, down_role, role_name)))
    if ratios:
        print("change runs, %d of %d changed, %d rounds: ratio median %.3f, worst %.3f (target <= 0.8)"
              % (args.changed, args.count, len(ratios), statistics.median(ratios), max(ratios)))
    benchlab.footer()


if __name__ == "__main__":
    main()
