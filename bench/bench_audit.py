"""Benchmark: the exactness audit (replica_audit's Auditor) of 1,000 replicated distributions.

Prints figures, asserts nothing:
- the first full replication of the upstream domain into the downstream domain of the same
  name (module code: replication.run), in seconds, when the downstream does not hold the
  distributions yet; a replicated domain is reused (the duration is then not measured again);
- the audit of every distribution (module_utils/audit.py Auditor, as the replica_audit module
  runs it): seconds, API requests (upstream + downstream), content fetches (index files at the
  base_paths), Python peak memory (tracemalloc) and the process's peak RSS (getrusage maxrss);
  once with content checks (the default) and once with check_content=false.

  .venv/bin/python bench/bench_audit.py --lab-env bench/benchlab.env [--domain bench1000] [--count 1000]
"""

import argparse
import os
import sys
import threading
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import benchlab  # noqa: E402 pylint: disable=wrong-import-position
import benchout  # noqa: E402 pylint: disable=wrong-import-position

from ansible_collections.pulpops.replication.plugins.module_utils import replication  # noqa: E402
from ansible_collections.pulpops.replication.plugins.module_utils.audit import Auditor  # noqa: E402


def replicate_params(lab, name):
    return {"upstream": name, "upstream_username": lab.username, "upstream_password": lab.password,
            "upstream_validate_certs": True, "q_select": None, "mode": "replicate", "reconcile": False,
            "on_foreign": "ignore", "wait": True, "timeout": 14400, "poll_interval": 5, "request_timeout": 300}


class CountingGet(object):
    """The audit's content fetch (anonymous GET of an index file), counted."""

    def __init__(self, client):
        self.client = client
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, url):
        with self.lock:
            self.count += 1
        response = self.client.session.get(url, timeout=self.client.timeout, verify=self.client.verify)
        return response.status_code, response.content


def audit(lab, domain, upstream_domain, server, check_content, parallel):
    down = lab.client("downstream", domain, timeout=300)
    up = lab.client("upstream", upstream_domain, timeout=300)
    fetch = CountingGet(down)
    tracemalloc.start()
    started = time.time()
    report = Auditor(down, up, server, check_content=check_content, parallel=parallel, http_get=fetch).run()
    seconds = time.time() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    counts = ", ".join("%s %d" % (k, v) for k, v in sorted(report["summary"].items()) if v) or "none"
    print("audit check_content=%s parallel=%d: %d distributions, %.2f s, %d API requests (upstream %d, downstream %d),"
          " %d content fetches, tracemalloc peak %.1f MiB, maxrss %.1f MiB; exact=%s (differences: %s)"
          % (str(check_content).lower(), parallel, report["distributions"], seconds, report["requests"],
             up.request_count, down.request_count, fetch.count, peak / 1048576.0, benchlab.maxrss_mib(),
             report["exact"], counts))
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--domain", default="bench1000", help="domain on both servers (default bench1000)")
    parser.add_argument("--count", type=int, default=1000, help="upstream distributions (seeded when fewer)")
    parser.add_argument("--upstream-domain", default=None,
                        help="the upstream domain when it differs from the downstream's (default: --domain)")
    parser.add_argument("--prefix", default="b-")
    parser.add_argument("--upstream-name", default=None, help="UpstreamPulp name (default bench-DOMAIN)")
    parser.add_argument("--parallel", type=int, default=8, help="the audit's parallel content checks (module default 8)")
    parser.add_argument("--no-names-only", action="store_true", help="skip the check_content=false audit")
    benchlab.add_lab_argument(parser)
    args = parser.parse_args()
    benchout.keep(__file__)  # raw output: bench/results/
    lab = benchlab.lab_from_args(args)
    benchlab.header("pulpops.replication audit benchmark", lab)
    updomain = args.upstream_domain or args.domain
    benchlab.ensure_domain(lab, "upstream", updomain)
    benchlab.ensure_domain(lab, "downstream", args.domain)
    benchlab.ensure_seeded(lab, updomain, args.count, args.prefix)
    name = args.upstream_name or "bench-" + args.domain
    server = benchlab.ensure_bare_upstream_pulp(lab, lab.client("downstream", args.domain), updomain, name)

    down = lab.client("downstream", args.domain, timeout=300)
    have = benchlab.count_distributions(down, args.prefix)
    if have < args.count:
        started = time.time()
        result = replication.run(down, replicate_params(lab, name))
        seconds = time.time() - started
        created = len((result.get("changes") or {}).get("create", {}).get("distributions", []))
        print("first replication into downstream domain %s (%d distributions there before): %.1f s wall, task group"
              " %s s, %d distributions created, failed tasks %d"
              % (args.domain, have, seconds, (result.get("durations") or {}).get("total_seconds"), created,
                 len(result.get("failed_tasks") or [])))
    else:
        print("downstream domain %s already holds %d distributions: replication reused" % (args.domain, have))

    audit(lab, args.domain, updomain, server, True, args.parallel)
    if not args.no_names_only:
        audit(lab, args.domain, updomain, server, False, args.parallel)
    benchlab.footer()


if __name__ == "__main__":
    main()
