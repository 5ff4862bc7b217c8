"""Figures for the domain lock against the running lab's downstream.

    .venv/bin/python bench/bench_lock.py [--rounds 30] [--processes 4] [--turns 3]

Prints the median acquire+release latency without contention (one logged-in client,
``--rounds`` rounds, release by the lock_href acquire returned), the same pair as two
``domain_lock`` tasks of one ansible-playbook run (``--module-rounds`` pairs: what the role's
lock and unlock phases pay, sessions kept by the run), and the median hand-over time under
contention: ``--processes``
OS processes each take the lock ``--turns`` times; a hand-over is the time from one
holder's release to the next holder's acquire. Figures only, no asserts. Works in the
lab's default domain with a lock name of its own, so it disturbs nothing else.
"""

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tests.conftest import COLLECTIONS  # noqa: E402  (makes the collection importable)

if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

from ansible_collections.pulpops.replication.plugins.module_utils.client import PulpClient  # noqa: E402
from ansible_collections.pulpops.replication.plugins.module_utils.lock import DomainLock  # noqa: E402

import benchout  # noqa: E402  # raw output under bench/results/


def lab_env():
    out = subprocess.run([sys.executable, os.path.join(REPO, "tests", "lab", "pulplab"), "env"],
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    env = {}
    for line in out.splitlines():
        key, _sep, value = line.replace("export ", "", 1).partition("=")
        env[key] = value
    return env


def new_lock(env, name, owner, domain):
    client = PulpClient(env["PULPLAB_DOWNSTREAM_URL"], username=env["PULPLAB_USERNAME"],
                        password=env["PULPLAB_PASSWORD"], domain=domain)
    client.login()  # log in once, as a module run does, before timing
    return DomainLock(client, name=name, owner=owner, ttl=300)


def uncontended(env, name, domain, rounds):
    lock = new_lock(env, name, "bench-solo", domain)
    timings = []
    before = lock.client.request_count
    for _round in range(rounds):
        started = time.perf_counter()
        taken = lock.acquire(timeout=0)
        lock.release(lock_href=taken["lock_href"])
        timings.append(time.perf_counter() - started)
    return timings, (lock.client.request_count - before) / float(rounds)


def through_ansible(env, name, domain, rounds):
    """Seconds of each acquire + release pair as two domain_lock tasks of one ansible-playbook run."""
    from tests.integration.harness import ansible_playbook, read_result, result_task  # pylint: disable=import-outside-toplevel

    connection = {"pulp_url": env["PULPLAB_DOWNSTREAM_URL"], "username": env["PULPLAB_USERNAME"],
                  "password": env["PULPLAB_PASSWORD"], "pulp_domain": domain}
    mark = {"ansible.builtin.set_fact": {"marks": "{{ marks | default([]) + [now(utc=true).timestamp()] }}"}}
    tasks = []
    for _round in range(rounds):
        tasks += [
            dict(mark, name="Mark the start of the pair"),
            {"name": "Acquire", "pulpops.replication.domain_lock": {"lock_name": name, "owner": "bench-module"},
             "register": "lock"},
            {"name": "Release", "pulpops.replication.domain_lock": {
                "state": "released", "lock_name": name, "owner": "bench-module", "lock_href": "{{ lock.lock_href }}"}},
            dict(mark, name="Mark the end of the pair"),
            dict(mark, name="Mark again (what one mark costs)"),
        ]
    tasks.append(result_task("marks"))
    play = [{"hosts": "localhost", "gather_facts": False,
             "module_defaults": {"group/pulpops.replication.pulp": connection}, "tasks": tasks}]
    proc = ansible_playbook(tempfile.mkdtemp(prefix="bench-lock-"), play)
    marks = [float(m) for m in read_result(proc.stdout, [])]
    if proc.returncode != 0 or len(marks) != 3 * rounds:
        raise SystemExit("the playbook failed:\n" + proc.stdout[-3000:])
    pairs = [marks[3 * i + 1] - marks[3 * i] for i in range(rounds)]
    one_mark = [marks[3 * i + 2] - marks[3 * i + 1] for i in range(rounds)]
    return pairs, one_mark


def contender(args):
    env, name, domain, ident, turns, hold, poll, queue = args
    lock = new_lock(env, name, "bench-%d" % ident, domain)
    for _turn in range(turns):
        lock.acquire(timeout=600, poll_interval=poll)
        got = time.time()
        time.sleep(hold)
        released = time.time()
        lock.release()
        queue.put((got, released))


def handovers(env, name, domain, processes, turns, hold, poll):
    manager = multiprocessing.Manager()
    queue = manager.Queue()
    jobs = [(env, name, domain, ident, turns, hold, poll, queue) for ident in range(processes)]
    started = time.time()
    with multiprocessing.Pool(processes) as pool:
        pool.map(contender, jobs)
    wall = time.time() - started
    spans = sorted(queue.get() for _span in range(processes * turns))
    gaps = [later[0] - earlier[1] for earlier, later in zip(spans, spans[1:])]
    overlaps = sum(1 for gap in gaps if gap < 0)
    return gaps, overlaps, wall


def ms(seconds):
    return "%.1f ms" % (seconds * 1000)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--module-rounds", type=int, default=10)
    parser.add_argument("--hold", type=float, default=0.1, help="seconds each holder keeps the lock")
    parser.add_argument("--poll-intervals", default="0.5,5", help="poll_interval values to measure hand-over with")
    parser.add_argument("--domain", default="default")
    args = parser.parse_args()
    benchout.keep(__file__)  # raw output: bench/results/

    env = lab_env()
    name = "bench-lock-%s" % uuid.uuid4().hex[:8]
    solo, requests_per_round = uncontended(env, name, args.domain, args.rounds)
    print("uncontended acquire+release (%d rounds, %.0f requests each): median %s, min %s, max %s"
          % (len(solo), requests_per_round, ms(statistics.median(solo)), ms(min(solo)), ms(max(solo))))
    pairs, one_mark = through_ansible(env, name, args.domain, args.module_rounds)
    mark = statistics.median(one_mark)
    net = [pair - mark for pair in pairs]
    print("domain_lock acquire + release as two tasks of one ansible-playbook run (%d pairs, the first pays the"
          " run's login): median %s, first %s, min %s, max %s, each with one set_fact mark; a mark alone: median %s;"
          " so the two tasks: median %s (target at most 300 ms)"
          % (len(pairs), ms(statistics.median(pairs)), ms(pairs[0]), ms(min(pairs)), ms(max(pairs)), ms(mark),
             ms(statistics.median(net))))
    for poll in [float(p) for p in args.poll_intervals.split(",")]:
        gaps, overlaps, wall = handovers(env, name, args.domain, args.processes, args.turns, args.hold, poll)
        ordered = sorted(gaps)
        p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
        print("hand-over under contention (%d processes x %d turns, hold %.2fs, poll_interval %.1fs): "
              "median %s, p90 %s, max %s; %d hand-overs, %d overlaps, wall %.1fs"
              % (args.processes, args.turns, args.hold, poll, ms(statistics.median(gaps)), ms(p90),
                 ms(max(gaps)), len(gaps), overlaps, wall))


if __name__ == "__main__":
    main()
