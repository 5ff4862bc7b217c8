#!/usr/bin/env python
"""Benchmark: playbooks/replicate.yml fanning out over N downstream domains, serial against forks=N.

One run, on one upstream domain of --count distributions (seeded once, reused), two jobs of N hosts
each, as AWX runs them (the built collection, ansible-runner, the credential type of docs/awx.md;
tests/integration/awx.py):
  1. serial: replica_serial=1, one host after the other;
  2. parallel: --forks N, every host at once, each under its own domain lock.
Each job replicates N FRESH downstream domains (named after this run), half on the downstream
server and half on the upstream server replicating from itself (--servers downstream: all on the
downstream), so both jobs do the same first replication. Then (unless --no-rerun) each job runs
again: the no-change rerun, which the role skips per host. Prints the wall time of every job, the
per-host seconds from the job's replica_summary artifact and the speed-up; asserts nothing but that
the jobs succeeded.

Refuses a lab with the fast password hasher of the test runs (bench/benchlab.py). Default: the
PULPLAB_* variables of the environment; --lab-env bench/benchlab.env for the bench lab.

  .venv/bin/python bench/bench_fanout.py [--lab-env bench/benchlab.env] [--domains 8] [--count 20]
      [--servers both|downstream] [--no-rerun]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import benchlab  # noqa: E402 pylint: disable=wrong-import-position
import benchout  # noqa: E402 pylint: disable=wrong-import-position
from benchlab import load  # noqa: E402 pylint: disable=wrong-import-position
from tests.integration import awx  # noqa: E402 pylint: disable=wrong-import-position


def hosts_for(lab, mode, run, domains, source, servers):
    """N inventory hosts of fresh downstream domains; every other one on the upstream server (servers=both)."""
    on = {"downstream": {}, "upstream": {}}
    for index in range(1, domains + 1):
        side = "upstream" if servers == "both" and index % 2 == 0 else "downstream"
        name = "fan-%s-%d-%s" % (mode, index, run)
        benchlab.ensure_domain(lab, side, name)
        on[side][name] = {"replica_domain": name, "replica_upstream": {
            "name": name, "base_url": lab.upstream_url, "domain": source,
            "username": "{{ pulp_upstream_username }}", "password": "{{ pulp_upstream_password }}"}}
    children = {"server_downstream": {"hosts": on["downstream"]}}
    if on["upstream"]:
        children["server_upstream"] = {"hosts": on["upstream"], "vars": {"replica_pulp_url": lab.upstream_url}}
    return {"pulp_replicas": {"children": children, "vars": {
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "replica_pulp_url": "{{ pulp_server_url }}", "replica_username": "{{ pulp_server_username }}",
        "replica_password": "{{ pulp_server_password }}", "replica_lock_timeout": 3600}}}


def run_job(artifact, workdir, job_id, inventory, credential, label, **kwargs):
    job = awx.Job(artifact, workdir, job_id, inventory, credential, **kwargs)
    result = job.run(timeout=7200)
    outcomes = result.stats.get("artifact_data", {}).get("replica_summary", [])
    seconds = [float(o["seconds"]) for o in outcomes]
    failed = [o for o in outcomes if o["failed"]]
    statuses = sorted({o["status"] for o in outcomes})
    print("%-22s %8.1f s  %d hosts %s; per host median %.1f s, max %.1f s; %d failed; load %s"
          % (label, result.seconds, len(outcomes), "/".join(statuses), statistics.median(seconds) if seconds else 0,
             max(seconds) if seconds else 0, len(failed), load()))
    if result.status != "successful" or failed or not outcomes:
        print(result.stdout[-4000:])
        sys.exit("%s: job %s ended %s (rc %s)" % (label, job_id, result.status, result.rc))
    return result.seconds, outcomes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--domains", type=int, default=8, help="downstream domains (hosts) per job, and forks")
    parser.add_argument("--count", type=int, default=20, help="upstream distributions")
    parser.add_argument("--domain", default=None, help="upstream domain (default fanout-src<count>)")
    parser.add_argument("--servers", choices=("both", "downstream"), default="both")
    parser.add_argument("--no-rerun", action="store_true", help="skip the no-change reruns")
    benchlab.add_lab_argument(parser)
    args = parser.parse_args()
    benchout.keep(__file__)  # raw output: bench/results/
    lab = benchlab.lab_from_args(args)
    source = args.domain or "fanout-src%d" % args.count
    benchlab.ensure_domain(lab, "upstream", source)
    have = benchlab.ensure_seeded(lab, source, args.count, "fan-")

    benchlab.header("pulpops.replication fan-out benchmark", lab)
    started = time.time()
    artifact = awx.built_collection()
    print("collection built and installed from its tarball: %.1f s" % (time.time() - started))
    print("%d upstream distributions in %s; %d downstream domains per job (%s)"
          % (have, source, args.domains, "half on each server" if args.servers == "both" else "all on the downstream"))
    credential = {"pulp_url": lab.downstream_url, "pulp_username": lab.username, "pulp_password": lab.password,
                  "upstream_username": lab.username, "upstream_password": lab.password}
    run = uuid.uuid4().hex[:6]
    workdir = tempfile.mkdtemp(prefix="bench-fanout-")
    figures = {}
    for mode, job_id, options in (("serial", 1, {"extra_vars": {"replica_serial": 1}}),
                                  ("parallel", 2, {"forks": args.domains})):
        inventory = hosts_for(lab, mode, run, args.domains, source, args.servers)
        label = "serial" if mode == "serial" else "forks=%d" % args.domains
        figures[mode] = run_job(artifact, workdir, job_id, inventory, credential, label + ", first", **options)[0]
        if not args.no_rerun:
            figures[mode + " rerun"] = run_job(artifact, workdir, job_id + 10, inventory, credential,
                                               label + ", no-change", **options)[0]
    print("")
    print("%-10s %-14s %-14s %s" % ("runs", "serial (s)", "forks=%d (s)" % args.domains, "serial / forks"))
    print("%-10s %-14.1f %-14.1f %.2f" % ("first", figures["serial"], figures["parallel"],
                                          figures["serial"] / figures["parallel"]))
    if not args.no_rerun:
        print("%-10s %-14.1f %-14.1f %.2f" % ("no-change", figures["serial rerun"], figures["parallel rerun"],
                                              figures["serial rerun"] / figures["parallel rerun"]))
    benchlab.footer()


if __name__ == "__main__":
    main()
