"""Benchmark: replicating an upstream base_path swap, the replica role against a bare replicate.

Prints figures, asserts nothing. One upstream domain (default swap-1) with two distributions
PREFIX0001 and PREFIX0002 feeds two downstream domains: DOMAIN-role (the replica role through
ansible-playbook, harness.run_role) and DOMAIN-bare (a bare POST replicate/ + task-group wait,
harness.bare_replicate). Both are first brought up to date. Then the two upstream
distributions swap base_paths (through a temporary base_path, three PATCHes) and each
downstream domain replicates the swap while a loop (harness.ServingWatch) fetches both
base_paths' PULP_MANIFEST from the downstream content app. Printed per side: seconds, whether
it failed (the bare server fails: "base_path must be unique", PLP0018), serving errors seen
(target: zero with the role) and fetches made.

Run it again and it swaps back. The bare domain stays broken after its failed run (every
later bare run fails the same way); use a new --domain for a fresh bare figure.

  .venv/bin/python bench/bench_swap.py --lab-env bench/benchlab.env [--domain swap-1]
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import benchlab  # noqa: E402 pylint: disable=wrong-import-position
import benchout  # noqa: E402 pylint: disable=wrong-import-position
from tests.integration.harness import ServingWatch, bare_replicate, role_vars, run_role  # noqa: E402


def manifest_urls(lab, domain, base_paths):
    return ["%s/pulp/content/%s/%s/PULP_MANIFEST" % (lab.downstream_content_url, domain, bp) for bp in base_paths]


def move(upstream, name, base_path):
    dist = upstream.find("distributions/file/file/", name=name)
    upstream.task_result(upstream.patch(dist["pulp_href"], {"base_path": base_path}))


def served(client):
    return sorted((d["name"], d["base_path"]) for d in client.list_all("distributions/file/file/"))


def watched_bare(lab, domain, down, server, paths):
    with ServingWatch(manifest_urls(lab, domain, paths)) as watch:
        started = time.time()
        tasks = bare_replicate(down, server["pulp_href"], timeout=3600)
        seconds = time.time() - started
    failed = [t for t in tasks if t.get("state") == "failed"]
    return seconds, bool(failed), watch, "%d tasks, %d failed" % (len(tasks), len(failed))


def watched_role(lab, domain, variables, paths):
    with ServingWatch(manifest_urls(lab, domain, paths)) as watch:
        started = time.time()
        outcome = run_role(variables, timeout=3600)
        seconds = time.time() - started
    result = outcome.get("replica_result") or {}
    phases = result.get("phases") or {}
    detail = "cycles in the plan %d, reconciled %d, audit %s; phases (s): %s" % (
        len((result.get("plan") or {}).get("cycles") or []), len(result.get("reconciled") or []),
        result.get("audit"), ", ".join("%s %.1f" % (k, v) for k, v in phases.items() if isinstance(v, (int, float))))
    if outcome["failed"]:
        detail += "; failed at %s: %s" % (outcome.get("task"), (outcome.get("msg") or "")[:300])
    return seconds, outcome["failed"], watch, detail


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--domain", default="swap-1", help="upstream domain (downstream: DOMAIN-role, DOMAIN-bare)")
    parser.add_argument("--prefix", default="s-")
    benchlab.add_lab_argument(parser)
    args = parser.parse_args()
    benchout.keep(__file__)  # raw output: bench/results/
    lab = benchlab.lab_from_args(args)
    benchlab.header("pulpops.replication base_path swap benchmark", lab)
    role_domain, bare_domain = args.domain + "-role", args.domain + "-bare"
    benchlab.ensure_domain(lab, "upstream", args.domain)
    benchlab.ensure_domain(lab, "downstream", role_domain)
    benchlab.ensure_domain(lab, "downstream", bare_domain)
    benchlab.ensure_seeded(lab, args.domain, 2, args.prefix)
    first, second = "%s0001" % args.prefix, "%s0002" % args.prefix

    role_name, bare_name = "benchswap-%s-role" % args.domain, "benchswap-%s-bare" % args.domain
    variables = role_vars(lab, role_domain, role_name, upstream_domain=args.domain, replica_wait_timeout=3600,
                          replica_lock_timeout=3600)
    down_bare = lab.client("downstream", bare_domain, timeout=300)
    down_role = lab.client("downstream", role_domain, timeout=300)
    server = benchlab.ensure_bare_upstream_pulp(lab, down_bare, args.domain, bare_name)
    upstream = lab.client("upstream", args.domain, timeout=300)

    before = served(upstream)
    if served(down_bare) != before:
        seconds, failed, _w, detail = watched_bare(lab, bare_domain, down_bare, server, [])
        print("setup: bare replication into %s: %.1f s, failed=%s (%s)" % (bare_domain, seconds, failed, detail))
    if served(down_role) != before:
        seconds, failed, _w, detail = watched_role(lab, role_domain, variables, [])
        print("setup: role replication into %s: %.1f s, failed=%s (%s)" % (role_domain, seconds, failed, detail))
    print("before the swap: upstream %s; bare %s; role %s" % (before, served(down_bare), served(down_role)))

    paths = dict((name, path) for name, path in before)
    started = time.time()
    move(upstream, first, "swap-tmp")
    move(upstream, second, paths[first])
    move(upstream, first, paths[second])
    wanted = served(upstream)
    print("upstream swap (3 PATCHes through a temporary base_path): %.1f s; upstream now %s"
          % (time.time() - started, wanted))

    base_paths = sorted(paths.values())
    for side in ("bare", "role"):
        if side == "bare":
            seconds, failed, watch, detail = watched_bare(lab, bare_domain, down_bare, server, base_paths)
            after = served(down_bare)
        else:
            seconds, failed, watch, detail = watched_role(lab, role_domain, variables, base_paths)
            after = served(down_role)
        print("%s: %.2f s, failed=%s, serving errors %d in %d fetches%s; downstream now %s (%s the upstream); %s"
              % (side, seconds, failed, len(watch.errors), watch.fetches,
                 (" (first: %s)" % (watch.errors[:3],)) if watch.errors else "", after,
                 "equals" if after == wanted else "differs from", detail))
    benchlab.footer()


if __name__ == "__main__":
    main()
