# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One replication over HTTP: read both snapshots, plan, reconcile, replicate, report.

Reading costs O(pages) requests (page size 1000), never one request per distribution.
The plan itself is computed by plan.py; this file only reads, writes and waits.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import concurrent.futures
import json
import re
import threading
import time
from datetime import datetime

from ansible_collections.pulpops.replication.plugins.module_utils.client import (
    PulpClient,
    PulpError,
    PulpTimeout,
    PulpValidationError,
    TASK_ACTIVE_STATES,
    TASK_ERROR_STATES,
    hide_userinfo,
    task_error_text,
)
from ansible_collections.pulpops.replication.plugins.module_utils import plan as planmod
from ansible_collections.pulpops.replication.plugins.module_utils.common import upstream_read_argument_spec
from ansible_collections.pulpops.replication.plugins.module_utils.inputs import check_inputs, domain_aware
from ansible_collections.pulpops.replication.plugins.module_utils.lock import GUARD_ENDPOINT

PAGE_SIZE = 1000
# What a replication planned, run and audited here relies on, all in pulpcore 3.73: replicate() labels what it
# creates with its UpstreamPulp and honours a policy (3.73), and ends with finalize_replication (3.71).
REPLICATION_VERSION = (3, 73, 0)
REPLICATION_FEATURE = "replication with pulpops.replication (the ownership labels and policy of pulpcore 3.73)"
REQUEST_Q_SELECT_VERSION = (3, 113, 0)
BASE_PATH_REUSE_VERSION = (3, 113, 0)  # replicate() renames its own distribution found at an upstream's base_path
FINALIZE_TASK = "finalize_replication"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class ReplicationFailed(PulpError):
    """The task group ended with failed subtasks; ``report`` holds the result keys."""

    def __init__(self, message, report):
        super(ReplicationFailed, self).__init__(message)
        self.report = report


# ------------------------------------------------------------------ module
def argument_spec():
    """The replicate module's own options (the connection options are added by PulpModule)."""
    return dict(
        upstream_read_argument_spec(),
        base_url=dict(type="str"),
        api_root=dict(type="str"),
        domain=dict(type="str"),
        policy=dict(type="str", choices=["all", "labeled", "nodelete"]),
        q_select=dict(type="str"),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=3600),
        poll_interval=dict(type="int", default=2),
        mode=dict(type="str", choices=["replicate", "reconcile", "record"], default="replicate"),
        skip_unchanged=dict(type="bool", default=False),
        record_tag=dict(type="str"),
        fingerprints=dict(type="dict"),
        reconcile=dict(type="bool", default=False),
        on_foreign=dict(type="str", choices=["ignore", "fail", "skip", "adopt"], default="ignore"),
        force_resync=dict(type="bool", default=False),
    )


def module_main(module):
    """The replicate module, given a PulpModule (module process) or a ControllerModule (action plugin)."""
    def replicate(mod):
        started = time.time()
        try:
            result = run(mod.client, mod.params, check_mode=mod.check_mode)
        except ReplicationFailed as exc:
            mod.fail_json(msg=exc.message, **exc.report)
        result["elapsed"] = round(time.time() - started, 3)
        if not mod._diff:  # pylint: disable=protected-access
            result.pop("diff", None)
        return result

    # An empty per-request q_select is no filter to pulpcore: the server would replicate (and prune) everything.
    check_inputs(module, positive=("timeout", "poll_interval"), urls=("base_url",),
                 files=("upstream_ca_cert", "upstream_client_cert", "upstream_client_key"), non_empty=("q_select",))
    module.run_safely(domain_aware(replicate))


# ------------------------------------------------------------------ reading
def upstream_pulps(client, name):
    """(the UpstreamPulp ``name`` or None, the domain's other UpstreamPulps): one list, read once per run."""
    found, others = None, []
    for item in client.list_all("upstream-pulps/", page_size=PAGE_SIZE):
        if item["name"] == name:
            found = item
        else:
            others.append({"name": item["name"], "policy": item.get("policy"), "q_select": item.get("q_select"),
                           "base_url": hide_userinfo(item.get("base_url")), "domain": item.get("domain")})
    return found, others


# Each list asks only for the fields the snapshot keeps (pulp ignores names a type lacks).
DOWNSTREAM_LISTS = (("distributions/", planmod.DISTRIBUTION_FIELDS), ("repositories/", planmod.REPOSITORY_FIELDS),
                    ("remotes/", planmod.REMOTE_FIELDS))


def read_downstream(client, **others):
    """Every distribution, repository and remote of the client's domain: one list per kind, paged.

    The lists are read at the same time (they are independent; each costs the server a query and
    a serialization). ``others`` (name: callable) run beside them. Returns (snapshot, {name: result}).
    """
    client.login()  # once, before the threads share the session
    with concurrent.futures.ThreadPoolExecutor(len(DOWNSTREAM_LISTS) + len(others)) as pool:
        lists = [pool.submit(client.list_all, path, params={"fields": ",".join(fields)}, page_size=PAGE_SIZE)
                 for path, fields in DOWNSTREAM_LISTS]
        extra = dict((name, pool.submit(call)) for name, call in others.items())
        snapshot = planmod.downstream_snapshot(*[future.result() for future in lists])
        return snapshot, dict((name, future.result()) for name, future in extra.items())


def replicated_types(downstream, upstream):
    """Distribution types both servers have a replicating plugin for, in the plugins' order."""
    down, up = downstream.versions(), upstream.versions()
    return [type_path for plugin, type_path in planmod.REPLICATED_TYPES.items() if plugin in down and plugin in up]


def read_upstream(client, types, q_select=None):
    """The upstream's distributions in scope, per type, as the server lists them (``q`` = the filter).

    Listing ``repository_version`` costs the server a query per distribution (pulpcore 3.123 defers
    the column), so each type is listed without it first. A distribution that serves neither a
    repository nor a publication may serve a version: then that type is listed again with it.
    Rows come without their href (their type is the endpoint's; the plan needs no other).
    """
    base = {"q": q_select} if q_select else {}
    fields = planmod.UPSTREAM_DISTRIBUTION_FIELDS
    first = ",".join(f for f in fields if f != "repository_version")
    items = []
    for type_path in types:
        path = "distributions/%s/" % type_path
        page = client.list_all(path, params=dict(base, fields=first), page_size=PAGE_SIZE)
        if any(not (d.get("repository") or d.get("publication")) for d in page):
            page = client.list_all(path, params=dict(base, fields=",".join(fields)), page_size=PAGE_SIZE)
        items.extend(planmod.upstream_snapshot(page, type_path)["distributions"])
    return {"distributions": items}


def upstream_client(server, params):
    """A client for the upstream, from the UpstreamPulp (or the module's stand-in options)."""
    base_url = server.get("base_url") or params.get("base_url")
    if not base_url:
        raise PulpError("base_url is required: UpstreamPulp '%s' does not exist, so the upstream's URL must be given"
                        % params["upstream"])
    return PulpClient(
        base_url,
        username=params.get("upstream_username"),
        password=params.get("upstream_password"),
        validate_certs=params.get("upstream_validate_certs", True),
        ca_cert=params.get("upstream_ca_cert"),
        client_cert=params.get("upstream_client_cert"),
        client_key=params.get("upstream_client_key"),
        domain=server.get("domain") or params.get("domain") or "default",
        domain_option=None,  # an upstream without domains: ignored there, as pulpcore's replicate() does
        api_root=server.get("api_root") or params.get("api_root") or "/pulp/",
        timeout=params.get("request_timeout") or 60,
    )


def read_latest_versions(client, upstream_snap):
    """Upstream repository href -> latest_version_href, for distributions that serve a repository.

    One paged list of the upstream's repositories (only the two fields), never one request per
    distribution; no request at all when no distribution in scope serves a repository.
    """
    if not any((u.get("serves") or "").startswith("repository:") for u in upstream_snap["distributions"]):
        return {}
    items = client.list_all("repositories/", params={"fields": "pulp_href,latest_version_href"}, page_size=PAGE_SIZE)
    return dict((r["pulp_href"], r.get("latest_version_href")) for r in items if r.get("pulp_href"))


def read_record(client, pk):
    """(guard, record) of UpstreamPulp ``pk`` in the client's domain: (None, None) when there is no guard,
    (guard, None) when a guard of that name holds something that is not a record."""
    page = client.get("contentguards/", params={"name": planmod.record_name(pk), "limit": 2})
    results = page.get("results", []) if isinstance(page, dict) else []
    if not results:
        return None, None
    return results[0], planmod.parse_record(results[0].get("description"))


def write_record(client, pk, record, guard=None):
    """Create or replace the record guard (a content_redirect guard protecting nothing)."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"))
    if guard is None:
        try:
            return client.post(GUARD_ENDPOINT, {"name": planmod.record_name(pk), "description": text})
        except PulpValidationError:
            guard, found = read_record(client, pk)
            if guard is None or found is None:
                raise
    return client.patch(guard["pulp_href"], {"description": text})


class _EarlyLogin(object):
    """Log in to the upstream named by the module's options, on a thread."""

    def __init__(self, params):
        self.client = None
        try:
            self.client = upstream_client({}, params)
        except PulpError:
            return
        self._thread = threading.Thread(target=self._login)
        self._thread.daemon = True
        self._ok = False
        self._thread.start()

    def _login(self):
        try:
            self.client.status()
            self.client.login()
            self._ok = True
        except Exception:  # pylint: disable=broad-except
            # The real client repeats the login and reports the error itself.
            self._ok = False

    def result(self):
        """The logged-in client, or None."""
        if self.client is None:
            return None
        self._thread.join()
        return self.client if self._ok else None


def _same_upstream(one, other):
    return (one.base_url, one.api_root, one.domain, one.username, one.verify, one.session.cert) == \
        (other.base_url, other.api_root, other.domain, other.username, other.verify, other.session.cert)


def build_q(base, exclude_names):
    """A filter expression that adds 'and not one of these names' to ``base``."""
    if not exclude_names:
        return base
    clause = 'NOT name__in="%s"' % ",".join(sorted(exclude_names))
    return "(%s) AND %s" % (base, clause) if base else clause


class Replication(object):
    """Plan and (optionally) run one replication of ``client``'s domain from UpstreamPulp ``params['upstream']``."""

    def __init__(self, client, params, upstream=None):
        self.client = client
        self.params = params
        # Each basic-auth login costs the server a password hash (seconds on a loaded host): log in
        # to the upstream the options name while the downstream login runs, and keep that session
        # when the UpstreamPulp names the same upstream (decided when the upstream is first read, so
        # the downstream's lists need not wait for the upstream's login).
        self._early = _EarlyLogin(params) if upstream is None and params.get("base_url") else None
        client.require_version(REPLICATION_FEATURE, REPLICATION_VERSION)  # after the upstream's login has started
        self.upstream_pulp, self._neighbours = upstream_pulps(client, params["upstream"])
        if params.get("q_select") is not None:
            client.require_version("per-request q_select", REQUEST_Q_SELECT_VERSION, option="q_select")
        self.server = planmod.server_view(self.upstream_pulp, policy=params.get("policy"))
        self.server["base_path_reuse"] = client.core_version >= BASE_PATH_REUSE_VERSION
        if self.upstream_pulp is None:
            self.server["q_select"] = None
        self._upstream = upstream or upstream_client(self.upstream_pulp or {}, params)
        self.types = None
        self.before = None
        self.upstream_snap = None
        self._read = {}

    # -------------------------------------------------------------- planning
    def effective_q(self):
        request = self.params.get("q_select")
        return request if request is not None else self.server.get("q_select")

    @property
    def upstream(self):
        """The upstream's client: the early login's when it reached the same upstream."""
        if self._early is not None:
            early, self._early = self._early.result(), None
            if early is not None and _same_upstream(early, self._upstream):
                self._upstream = early
        return self._upstream

    def _read_upstream(self):
        self.types = replicated_types(self.client, self.upstream)
        return read_upstream(self.upstream, self.types, self.effective_q())

    def read(self):
        # Everything the plan and the record decision read, at once.
        others = {"upstream": self._read_upstream}
        if self.server["exists"] and self.params.get("skip_unchanged"):
            others["record"] = lambda: read_record(self.client, self.server["pk"])
        self.before, self._read = read_downstream(self.client, **others)
        self.upstream_snap = self._read["upstream"]

    def neighbours(self):
        """The other UpstreamPulps of the domain (who else could delete or take over objects here)."""
        return self._neighbours

    def plan(self, reconcile=False, on_foreign="ignore"):
        """The plan; with on_foreign='skip' the conflicting upstream distributions are left out."""
        if self.before is None:
            self.read()
        request_q = self.params.get("q_select")
        result = planmod.compute_plan(self.upstream_snap, self.before, self.server, request_q_select=request_q,
                                      reconcile=reconcile, on_foreign=on_foreign, replicated_types=self.types)
        if on_foreign == "skip":
            excluded = sorted(set(c["wanted_by"] for c in result["conflicts"] if c.get("wanted_by")))
            if excluded:
                self.client.require_version("on_foreign=skip (a per-request q_select)", REQUEST_Q_SELECT_VERSION,
                                            option="on_foreign")
                scoped = {"distributions": [u for u in self.upstream_snap["distributions"] if u["name"] not in excluded]}
                q = build_q(self.effective_q(), excluded)
                result = planmod.compute_plan(scoped, self.before, self.server, request_q_select=q,
                                              reconcile=reconcile, replicated_types=self.types)
                result["q_select"] = q
                result["excluded"] = excluded
        return result

    # -------------------------------------------------------------- the record
    def entries(self):
        """{name: [upstream digest, state digest]} of the state read by ``read()`` (one more list upstream at most)."""
        latest = read_latest_versions(self.upstream, self.upstream_snap)
        key = planmod.detect_label_key(self.before, self.server["pk"])
        return planmod.record_entries(self.upstream_snap, self.before, latest, key)

    def decide(self, plan, others, tag=None):
        """(decision, entries): may this run skip, or replicate only the changed distributions?"""
        if not self.server["exists"]:
            guard, record = None, None
        else:
            guard, record = self._read.get("record") or read_record(self.client, self.server["pk"])
        entries = self.entries()
        decision = planmod.record_decision(
            record, self.server, entries, plan, tag=tag, neighbours=others,
            partial_supported=self.client.core_version >= REQUEST_Q_SELECT_VERSION,
            request_q_select=self.params.get("q_select"))
        if guard is not None and record is None:
            decision["reasons"].insert(0, "content guard '%s' holds no record" % guard.get("name"))
        return decision, entries

    # -------------------------------------------------------------- writing
    def apply_steps(self, steps, timeout=600, poll_interval=2):
        """Apply reconcile renames (PATCH name) and adopt labels (set_label/); return what was done."""
        done = []
        for step in steps:
            href = step.get("href")
            if not href:
                continue
            if step["action"] == "rename":
                answer = self.client.patch(href, {"name": step["to"]})
            else:
                answer = self.client.post(href + "set_label/", {"key": step["key"], "value": step["value"]})
            self.client.task_result(answer, timeout=timeout, poll_interval=poll_interval)
            done.append(step)
        return done

    def force_resync(self):
        """Make the next replication sync every repository again.

        The server skips the sync of a distribution whose content did not change since the
        last replication, even when the downstream repository was deleted and recreated
        empty; any PATCH of the UpstreamPulp (here: its own base_url, unchanged) bumps
        pulp_last_updated, and the server then resyncs everything once.
        """
        self.client.patch(self.upstream_pulp["pulp_href"], {"base_url": self.upstream_pulp["base_url"]})

    def replicate(self, q_select=None, timeout=3600, poll_interval=2, wait=True):
        """POST replicate/ and wait for the task group; return (group_href, group, tasks)."""
        if not self.upstream_pulp:
            raise PulpError("UpstreamPulp '%s' does not exist in domain '%s'; create it first "
                            "(pulpops.replication.upstream_pulp)" % (self.params["upstream"], self.client.domain))
        body = {"q_select": q_select} if q_select is not None else {}
        answer = self.client.post(self.upstream_pulp["pulp_href"] + "replicate/", body)
        group_href = (answer or {}).get("task_group")
        if not wait:
            return group_href, None, []
        group, tasks = self.client.wait_task_group(group_href, timeout=timeout, poll_interval=poll_interval,
                                                   finished=group_finished)
        return group_href, group, tasks


def group_finished(group, tasks):
    """No task waiting/running/canceling, and finalize_replication is there or a task failed."""
    if any(t.get("state") in TASK_ACTIVE_STATES for t in tasks):
        return False
    if any(FINALIZE_TASK in (t.get("name") or "") for t in tasks):
        return True
    return any(t.get("state") in TASK_ERROR_STATES for t in tasks)


def _seconds(task):
    start = planmod.parse_time(task.get("started_at"))
    end = planmod.parse_time(task.get("finished_at"))
    return round((end - start).total_seconds(), 3) if start and end else None


def durations(tasks):
    """Per-task durations (seconds) and the group's wall time."""
    items = [{"task": t.get("pulp_href"), "name": t.get("name"), "state": t.get("state"), "seconds": _seconds(t)}
             for t in tasks]
    starts = [planmod.parse_time(t.get("started_at")) for t in tasks if t.get("started_at")]
    ends = [planmod.parse_time(t.get("finished_at")) for t in tasks if t.get("finished_at")]
    total = round((max(ends) - min(starts)).total_seconds(), 3) if starts and ends else None
    return {"total_seconds": total, "tasks": items}


def object_names(*snapshots):
    """{uuid: 'kind name'} for every object of the given snapshots."""
    names = {}
    for snap in snapshots:
        for kind in planmod.KINDS:
            for obj in snap.get(kind, []):
                match = _UUID.search(obj.get("href") or "")
                if match:
                    names[match.group(0)] = (planmod.SINGULAR[kind], obj["name"])
    return names


def failed_subtasks(tasks, names):
    """[{name, kind, task, task_name, error}] for each failed subtask (finalize excluded)."""
    order = {"distribution": 0, "repository": 1, "remote": 2}
    result = []
    for task in tasks:
        if task.get("state") not in TASK_ERROR_STATES or FINALIZE_TASK in (task.get("name") or ""):
            continue
        found = []
        for resource in task.get("reserved_resources_record") or []:
            for uid in _UUID.findall(resource):
                if uid in names:
                    found.append(names[uid])
        found.sort(key=lambda item: order.get(item[0], 9))
        kind, name = found[0] if found else (None, None)
        result.append({"name": name, "kind": kind, "task": task.get("pulp_href"),
                       "task_name": (task.get("name") or "").rsplit(".", 1)[-1], "error": task_error_text(task)})
    return result


def failure_message(group_href, failed):
    lines = ["Replication failed: %d subtask(s) failed; finalize_replication switched nothing (PLP0018). "
             "Task group: %s" % (len(failed), group_href)]
    for item in failed:
        who = "%s '%s'" % (item["kind"], item["name"]) if item["name"] else "(object unknown)"
        lines.append("- %s %s: %s (%s)" % (item["task_name"], who, item["error"], item["task"]))
    return "\n".join(lines)


def run(client, params, check_mode=False, upstream=None):
    """The whole module behaviour; returns the result dict (raises ReplicationFailed/PulpError)."""
    mode = params.get("mode") or "replicate"
    reconcile = mode == "reconcile" or bool(params.get("reconcile"))
    on_foreign = params.get("on_foreign") or "ignore"
    replication = Replication(client, params, upstream=upstream)
    plan = replication.plan(reconcile=reconcile, on_foreign=on_foreign)
    before = replication.before
    others = replication.neighbours()
    if mode == "record":
        return record_run(replication, plan, others, params, check_mode)
    result = {"plan": public_plan(plan), "changed": False, "task_group": None, "failed_tasks": [],
              "durations": None, "skipped": plan["skipped"], "conflicts": plan["conflicts"],
              "neighbours": others}
    if on_foreign == "fail" and plan["conflicts"]:
        raise PulpError(conflict_message(plan["conflicts"]))
    decision = None
    if params.get("skip_unchanged") and mode == "replicate" and not params.get("force_resync"):
        decision, entries = replication.decide(plan, others, tag=params.get("record_tag"))
        result["plan"]["partial_q_select"] = decision["partial_q_select"]
        result["plan"]["record"] = {"unchanged": decision["unchanged"], "reasons": decision["reasons"],
                                    "changed": decision["changed"], "resync": decision["resync"]}
        result["unchanged_since_record"] = decision["unchanged"]
        result["fingerprints"] = dict((name, entry[0]) for name, entry in entries.items())
        if decision["unchanged"]:
            result["skipped_reason"] = (
                "nothing changed since the verified replication recorded in content guard '%s': the %d upstream "
                "distribution(s) in scope serve the same content, and the downstream distributions, repositories "
                "and remotes are as recorded" % (planmod.record_name(replication.server["pk"]), len(entries)))
            result["diff"] = {"before": planmod.distributions_view(before), "after": planmod.distributions_view(before)}
            return result
    steps = plan["reconcile"] + plan.get("adopt", [])
    if mode == "reconcile":
        if check_mode:
            result["changed"] = bool(steps)
            result["diff"] = {"before": planmod.distributions_view(before),
                              "after": planmod.distributions_view(planmod.apply_steps(before, steps))}
            return result
        result["applied"] = replication.apply_steps(steps, timeout=params.get("timeout") or 3600,
                                                    poll_interval=params.get("poll_interval") or 2)
        after = read_downstream(client)[0]
        result["changes"] = planmod.changes_only(planmod.diff_snapshots(before, after))
        result["changed"] = planmod.is_change(result["changes"])
        result["diff"] = {"before": planmod.distributions_view(before), "after": planmod.distributions_view(after)}
        return result
    if check_mode:
        result["changed"] = plan["changed"]
        result["diff"] = {"before": planmod.distributions_view(before),
                          "after": planmod.distributions_view(plan["predicted_after"])}
        return result
    timeout = params.get("timeout") or 3600
    poll = params.get("poll_interval") or 2
    if "fingerprints" not in result:
        # What the upstream served before the POST: mode=record later checks that it still does.
        result["fingerprints"] = dict((name, entry[0]) for name, entry in replication.entries().items())
    result["applied"] = replication.apply_steps(steps, timeout=timeout, poll_interval=poll)
    if (params.get("force_resync") or (decision is not None and decision["resync"])) and replication.upstream_pulp:
        replication.force_resync()
        result["forced_resync"] = True
    q = plan.get("q_select", params.get("q_select"))
    if q is None and decision is not None and decision["partial_q_select"]:
        q = decision["partial_q_select"]
        result["partial"] = True
    started = time.time()
    try:
        group_href, group, tasks = replication.replicate(q_select=q, timeout=timeout, poll_interval=poll,
                                                         wait=params.get("wait", True))
    except PulpTimeout as exc:
        pending = [{"task": t.get("pulp_href"), "name": t.get("name"), "state": t.get("state")}
                   for t in exc.pending if isinstance(t, dict)]
        raise ReplicationFailed(
            "Replication did not finish within %s s; it goes on on the server. Task group: %s; still running: %s"
            % (timeout, exc.href, ", ".join("%s (%s)" % (p["name"], p["state"]) for p in pending) or "none"),
            dict(result, task_group=exc.href, pending=pending, changed=True))
    result["task_group"] = group_href
    result["wait_seconds"] = round(time.time() - started, 3)
    if not params.get("wait", True):
        result["changed"] = True
        return result
    after = read_downstream(client)[0]
    changes = planmod.diff_snapshots(before, after)
    result["changes"] = planmod.changes_only(changes)
    result["unchanged"] = changes["unchanged"]
    result["changed"] = planmod.is_change(changes) or bool(result["applied"]) or bool(result.get("forced_resync"))
    result["durations"] = durations(tasks)
    result["diff"] = {"before": planmod.distributions_view(before), "after": planmod.distributions_view(after)}
    failed = failed_subtasks(tasks, object_names(before, after))
    finalize_failed = [t for t in tasks if FINALIZE_TASK in (t.get("name") or "") and t.get("state") in TASK_ERROR_STATES]
    if failed or finalize_failed:
        if not failed:
            failed = [{"name": None, "kind": None, "task": t.get("pulp_href"), "task_name": FINALIZE_TASK,
                       "error": task_error_text(t)} for t in finalize_failed]
        result["failed_tasks"] = failed
        raise ReplicationFailed(failure_message(group_href, failed), result)
    return result


def record_run(replication, plan, others, params, check_mode):
    """mode=record: write the record of a verified replication, unless the state cannot be vouched for.

    ``params['fingerprints']`` (the upstream fingerprints the replication read before it
    posted) must equal the upstream's now: a change in between is never recorded as replicated.
    """
    server = replication.server
    entries = replication.entries()
    key = planmod.detect_label_key(replication.before, server["pk"])
    problems = planmod.record_problems(server, entries)
    problems += planmod.serving_problems(replication.upstream_snap, replication.before, key, server["pk"])
    for name in ("create", "update", "rename", "delete", "conflicts", "cycles", "failures"):
        if plan.get(name):
            problems.append("the plan is not empty (%s)" % name)
    given = params.get("fingerprints")
    if given is not None:
        current = dict((name, entry[0]) for name, entry in entries.items())
        moved = sorted(n for n in set(given) | set(current) if given.get(n) != current.get(n))
        if moved:
            problems.append("upstream changed since the replication read it: %s" % planmod.names_text(moved))
    result = {"changed": False, "record_written": False, "record_problems": problems,
              "record_name": planmod.record_name(server["pk"]) if server["pk"] else None,
              "plan": public_plan(plan), "neighbours": others, "failed_tasks": [], "conflicts": plan["conflicts"],
              "skipped": plan["skipped"]}
    if not server["exists"]:
        problems.insert(0, "UpstreamPulp '%s' does not exist" % params["upstream"])
    if problems:
        return result
    guard, existing = read_record(replication.client, server["pk"])
    if guard is not None and existing is None:
        problems.append("content guard '%s' exists and holds no record: rename or delete it" % guard.get("name"))
        return result
    record = planmod.make_record(server, entries, tag=params.get("record_tag"), neighbours=others,
                                 written_at=datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"))
    if not check_mode:
        write_record(replication.client, server["pk"], record, guard)
    result["changed"] = existing is None or existing.get("distributions") != record["distributions"] or any(
        existing.get(k) != record.get(k) for k in planmod.RECORD_GLOBALS + ("tag", "neighbours"))
    result["record_written"] = not check_mode
    return result


def conflict_message(conflicts):
    lines = ["Refusing to replicate (on_foreign=fail): %d object(s) this UpstreamPulp does not own are in the way:"
             % len(conflicts)]
    for c in conflicts:
        lines.append("- %s '%s' (owner: %s): %s; the server would: %s"
                     % (c["kind"], c["name"], c["owner"], c["reason"], c["effect"]))
    lines.append("To proceed: delete or rename them, or choose on_foreign=adopt (take them over) or on_foreign=skip.")
    return "\n".join(lines)


def public_plan(plan):
    """The plan as returned to the user (without the predicted snapshot)."""
    return dict((k, v) for k, v in plan.items() if k != "predicted_after")
