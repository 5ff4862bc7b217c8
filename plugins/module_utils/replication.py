# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One replication over HTTP: read both snapshots, plan, then act as the module's mode says.

Reading costs O(pages) requests (page size 1000), never one request per distribution.
The plan is computed by plan.py and the skip decision by record.py; this file reads,
writes and waits, one function per mode of the replicate module:

- ``plan_mode``: check mode; the plan is the result (or the proof that nothing changed);
- ``reconcile_mode``: the renames and adoptions only (the role's reconcile phase);
- ``replicate_mode``: reconcile steps, then POST replicate/ and wait, then report;
- ``record_mode``: write the record of a verified replication (the role's verify phase).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import concurrent.futures
import threading
import time

from ansible_collections.pulpops.replication.plugins.module_utils.client import (
    PulpClient,
    PulpConnectionError,
    PulpError,
    PulpTimeout,
    hide_userinfo,
)
from ansible_collections.pulpops.replication.plugins.module_utils.common import (
    module_argument_spec,
    spec_defaults,
    upstream_read_argument_spec,
)
from ansible_collections.pulpops.replication.plugins.module_utils.group_report import (
    durations,
    failure_message,
    group_failures,
    group_finished,
    object_names,
    REPORT_TASK_FIELDS,
)
from ansible_collections.pulpops.replication.plugins.module_utils.inputs import UPSTREAM_READ_PEMS, check_inputs, domain_aware
from ansible_collections.pulpops.replication.plugins.module_utils.plan import (
    changes_only,
    compute_plan,
    diff_snapshots,
    is_change,
    predict_steps,
    readable_view,
    switch_report,
)
from ansible_collections.pulpops.replication.plugins.module_utils.pulp_types import (
    distribution_endpoint,
    distribution_type,
    replicated_plugins,
)
from ansible_collections.pulpops.replication.plugins.module_utils.server_features import describe, first_release, version_text
from ansible_collections.pulpops.replication.plugins.module_utils.record import (
    fingerprints,
    foreign_guard_problem,
    make_record,
    read_record,
    record_decision,
    record_differs,
    record_entries,
    record_name,
    record_problems,
    serving_problems,
    write_record,
)
from ansible_collections.pulpops.replication.plugins.module_utils.snapshot import (
    DISTRIBUTION_FIELDS,
    REMOTE_FIELDS,
    REPOSITORY_FIELDS,
    UPSTREAM_DISTRIBUTION_FIELDS,
    detect_label_key,
    downstream_snapshot,
    upstream_pulp_view,
    upstream_snapshot,
)
from ansible_collections.pulpops.replication.plugins.module_utils.timestamps import format_time, utc_now

PAGE_SIZE = 1000
MOVE_POLL_INTERVAL = 0.02  # seconds between looks at a base_path move's task (reconcile of a cross-type cycle)


def server_view(client):
    """What the plan must know of the downstream server's release (server_features), read from its status once."""
    return {"base_path_reuse": client.supports("base_path_reuse"), "atomic_finalize": client.supports("atomic_finalize"),
            "server_version": version_text(client.core_version)}


def unsupported_entry(client, feature, option, value):
    """A feature the plan needs and the server lacks: the refusal the run (or the role's preflight) reports."""
    return {"option": option, "value": value, "feature": feature, "needs": version_text(first_release(feature)),
            "server_version": version_text(client.core_version),
            "message": "option '%s' (%s: %s) needs pulpcore >= %s; the server at %s runs pulpcore %s" % (
                option, value, describe(feature), version_text(first_release(feature)), client.base_url,
                version_text(client.core_version))}


class ReplicationFailed(PulpError):
    """The task group ended with failed subtasks; ``report`` holds the result keys."""

    def __init__(self, message, report):
        super(ReplicationFailed, self).__init__(message)
        self.report = report


# ------------------------------------------------------------------ module
def argument_spec():
    """The replicate module's own options (the connection options are added by PulpModule): the one home of its defaults."""
    return dict(
        upstream_read_argument_spec(),
        base_url=dict(type="str"),
        api_root=dict(type="str"),
        domain=dict(type="str"),
        policy=dict(type="str", choices=["all", "labeled", "nodelete"]),
        q_select=dict(type="str"),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=3600),
        poll_interval=dict(type="float", default=2),
        mode=dict(type="str", choices=["replicate", "reconcile", "record"], default="replicate"),
        skip_unchanged=dict(type="bool", default=False),
        record_tag=dict(type="str"),
        fingerprints=dict(type="dict"),
        reconcile=dict(type="bool", default=False),
        on_foreign=dict(type="str", choices=["ignore", "fail", "skip", "adopt"], default="ignore"),
        force_resync=dict(type="bool", default=False),
    )


def with_defaults(params):
    """``params`` completed with the argument spec's defaults (for callers that pass only some options)."""
    return dict(spec_defaults(module_argument_spec(argument_spec())), **params)


def module_main(module):
    """The replicate module, given a PulpModule (module process) or a ControllerModule (action plugin)."""
    def replicate(mod):
        started = time.time()
        try:
            result = run(mod.client, mod.params, check_mode=mod.check_mode, diff=mod._diff)  # pylint: disable=protected-access
        except ReplicationFailed as exc:
            mod.fail_json(msg=exc.message, **exc.report)
        result["elapsed"] = round(time.time() - started, 3)
        return result

    # An empty per-request q_select is no filter to pulpcore: the server would replicate (and prune) everything.
    check_inputs(module, positive=("timeout", "poll_interval"), urls=("base_url",),
                 pems=UPSTREAM_READ_PEMS, non_empty=("q_select",))
    module.run_safely(domain_aware(replicate))


# ------------------------------------------------------------------ reading
def upstream_pulps(client, name):
    """(the UpstreamPulp ``name`` or None, the domain's other UpstreamPulps): one list, read once per run."""
    found, neighbours = None, []
    for item in client.list_all("upstream-pulps/", page_size=PAGE_SIZE):
        if item["name"] == name:
            found = item
        else:
            neighbours.append({"name": item["name"], "policy": item.get("policy"), "q_select": item.get("q_select"),
                               "base_url": hide_userinfo(item.get("base_url")), "domain": item.get("domain")})
    return found, neighbours


# Each list asks only for the fields the snapshot keeps (pulp ignores names a type lacks).
DOWNSTREAM_LISTS = (("distributions/", DISTRIBUTION_FIELDS), ("repositories/", REPOSITORY_FIELDS),
                    ("remotes/", REMOTE_FIELDS))


def read_downstream(client, **side_reads):
    """Every distribution, repository and remote of the client's domain: one list per kind, paged.

    The lists are read at the same time (they are independent; each costs the server a query and
    a serialization). ``side_reads`` (name: callable) run beside them. Returns (snapshot, {name: result}).
    """
    client.login()  # once, before the threads share the session
    with concurrent.futures.ThreadPoolExecutor(len(DOWNSTREAM_LISTS) + len(side_reads)) as pool:
        lists = [pool.submit(client.list_all, path, params={"fields": ",".join(fields)}, page_size=PAGE_SIZE)
                 for path, fields in DOWNSTREAM_LISTS]
        extra = dict((name, pool.submit(call)) for name, call in side_reads.items())
        snapshot = downstream_snapshot(*[future.result() for future in lists])
        return snapshot, dict((name, future.result()) for name, future in extra.items())


def replicated_types(downstream, upstream):
    """Distribution types both servers have a replicating plugin for, in the plugins' order."""
    down, up = downstream.versions(), upstream.versions()
    return [distribution_type(plugin) for plugin in replicated_plugins() if plugin in down and plugin in up]


def missing_plugins(downstream, upstream):
    """Plugins with a replicator that the upstream has and the downstream lacks (their distributions are not replicated)."""
    down, up = downstream.versions(), upstream.versions()
    return [plugin for plugin in replicated_plugins() if plugin in up and plugin not in down]


def read_unreplicable(client, plugins, q_select=None):
    """[{plugin, type, distributions}]: the upstream's distributions in scope of each plugin the downstream lacks."""
    found = []
    for plugin in plugins:
        params = {"fields": "name", "q": q_select} if q_select else {"fields": "name"}
        names = sorted(d["name"] for d in client.list_all(distribution_endpoint(plugin), params=params, page_size=PAGE_SIZE))
        if names:
            found.append({"plugin": plugin, "type": distribution_type(plugin), "distributions": names})
    return found


def unreplicable_text(unreplicable):
    """'the upstream serves 2 rpm/rpm distribution(s) (a, b) that this downstream cannot replicate: it lacks ...'."""
    return "; ".join("the upstream serves %d %s distribution(s) (%s) that this downstream cannot replicate: it lacks "
                     "the %s plugin" % (len(item["distributions"]), item["type"], ", ".join(item["distributions"][:10])
                                        + (", ..." if len(item["distributions"]) > 10 else ""), item["plugin"])
                     for item in unreplicable)


def read_upstream(client, types, q_select=None):
    """The upstream's distributions in scope, per type, as the server lists them (``q`` = the filter).

    Listing ``repository_version`` costs the server a query per distribution (pulpcore 3.123 defers
    the column), so each type is listed without it first. A distribution that serves neither a
    repository nor a publication may serve a version: then that type is listed again with it.
    Rows come without their href (their type is the endpoint's; the plan needs no other).
    """
    base = {"q": q_select} if q_select else {}
    fields = UPSTREAM_DISTRIBUTION_FIELDS
    first = ",".join(f for f in fields if f != "repository_version")
    items = []
    for type_path in types:
        path = "distributions/%s/" % type_path
        page = client.list_all(path, params=dict(base, fields=first), page_size=PAGE_SIZE)
        if any(not (d.get("repository") or d.get("publication")) for d in page):
            page = client.list_all(path, params=dict(base, fields=",".join(fields)), page_size=PAGE_SIZE)
        items.extend(upstream_snapshot(page, type_path)["distributions"])
    return {"distributions": items}


def upstream_client(upstream_pulp, params):
    """A client for the upstream, from the UpstreamPulp (or the module's stand-in options)."""
    params = with_defaults(params)
    base_url = upstream_pulp.get("base_url") or params.get("base_url")
    if not base_url:
        raise PulpError("base_url is required: UpstreamPulp '%s' does not exist, so the upstream's URL must be given"
                        % params["upstream"])
    return PulpClient(
        base_url,
        username=params.get("upstream_username"),
        password=params.get("upstream_password"),
        validate_certs=params["upstream_validate_certs"],
        ca_cert=params.get("upstream_ca_cert"),
        client_cert=params.get("upstream_client_cert"),
        client_key=params.get("upstream_client_key"),
        domain=upstream_pulp.get("domain") or params.get("domain") or "default",
        domain_option=None,  # an upstream without domains: ignored there, as pulpcore's replicate() does
        tls_options=("upstream_validate_certs", "upstream_ca_cert"),
        api_root=upstream_pulp.get("api_root") or params.get("api_root") or "/pulp/",
        timeout=params["request_timeout"],
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
        self.unreachable = None
        self._thread.start()

    def _login(self):
        try:
            self.client.status()
            self.client.login()
            self._ok = True
        except PulpConnectionError as exc:
            # The server did not answer (or its TLS failed): asking again would only wait as long again.
            self.unreachable = exc
        except Exception:  # pylint: disable=broad-except
            # The real client repeats the login and reports the error itself.
            self._ok = False

    def result(self):
        """The logged-in client, or None (``unreachable`` then holds a connection failure, if that was why)."""
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
    """Plan and (optionally) run one replication of ``client``'s domain from UpstreamPulp ``params['upstream']``.

    ``upstream_pulp``: the UpstreamPulp as the server shows it (None: not created yet);
    ``upstream_view``: the fields of it the plan and the record read; ``neighbours``: the
    domain's other UpstreamPulps (who else could delete or take over objects here).
    """

    def __init__(self, client, params, upstream=None, diff=False):
        self.client = client
        self.params = params = with_defaults(params)
        self.diff = diff
        # Each basic-auth login costs the server a password hash (seconds on a loaded host): log in
        # to the upstream the options name while the downstream login runs, and keep that session
        # when the UpstreamPulp names the same upstream (decided when the upstream is first read, so
        # the downstream's lists need not wait for the upstream's login).
        self._early = _EarlyLogin(params) if upstream is None and params.get("base_url") else None
        client.require_feature("replication")  # after the upstream's login has started
        self.upstream_pulp, self.neighbours = upstream_pulps(client, params["upstream"])
        if params.get("q_select") is not None:
            client.require_feature("request_q_select", option="q_select")
        self.upstream_view = upstream_pulp_view(self.upstream_pulp, policy=params.get("policy"))
        self.upstream_view.update(server_view(client))
        if self.upstream_pulp is None:
            self.upstream_view["q_select"] = None
        self._upstream = upstream or upstream_client(self.upstream_pulp or {}, params)
        self.types = None
        self.unreplicable = []
        self.before = None
        self.upstream_snap = None
        self._read = {}
        self._publications = {}

    # -------------------------------------------------------------- reading
    def effective_q(self):
        request = self.params.get("q_select")
        return request if request is not None else self.upstream_view.get("q_select")

    @property
    def upstream(self):
        """The upstream's client: the early login's when it reached the same upstream."""
        if self._early is not None:
            attempt, self._early = self._early, None
            early = attempt.result()
            if early is not None and _same_upstream(early, self._upstream):
                self._upstream = early
            elif attempt.unreachable is not None and _same_upstream(attempt.client, self._upstream):
                raise attempt.unreachable
        return self._upstream

    def _read_upstream(self):
        self.types = replicated_types(self.client, self.upstream)
        self.unreplicable = read_unreplicable(self.upstream, missing_plugins(self.client, self.upstream), self.effective_q())
        return read_upstream(self.upstream, self.types, self.effective_q())

    def read(self):
        """Everything the plan and the skip decision read, at once."""
        side_reads = {"upstream": self._read_upstream}
        if self.upstream_view["exists"] and (self.params.get("skip_unchanged") or self.params.get("mode") == "record"):
            side_reads["record"] = lambda: read_record(self.client, self.upstream_view["pk"])
        self.before, self._read = read_downstream(self.client, **side_reads)
        self.upstream_snap = self._read["upstream"]

    def plan(self, reconcile=False, on_foreign="ignore"):
        """The plan; with on_foreign='skip' the conflicting upstream distributions are left out."""
        if self.before is None:
            self.read()
        request_q = self.params.get("q_select")
        result = compute_plan(self.upstream_snap, self.before, self.upstream_view, request_q_select=request_q,
                              reconcile=reconcile, on_foreign=on_foreign, replicated_types=self.types)
        result["unsupported"] = []
        result["unreplicable"] = self.unreplicable
        if on_foreign == "skip":
            excluded = sorted(set(c["wanted_by"] for c in result["conflicts"] if c.get("wanted_by")))
            if excluded and not self.client.supports("request_q_select"):
                # Leaving distributions out takes a per-request q_select: the run must stop before any write.
                result["unsupported"] = [unsupported_entry(self.client, "request_q_select", "on_foreign", "skip")]
                result["fails"] = True
            elif excluded:
                # From here on the run's scope is the upstream without them (entries, record, serving).
                self.upstream_snap = {"distributions": [u for u in self.upstream_snap["distributions"]
                                                        if u["name"] not in excluded]}
                q = build_q(self.effective_q(), excluded)
                result = compute_plan(self.upstream_snap, self.before, self.upstream_view, request_q_select=q,
                                      reconcile=reconcile, replicated_types=self.types)
                result.update(q_select=q, excluded=excluded, unsupported=[], unreplicable=self.unreplicable)
        return result

    def entries(self):
        """The record entries of the state read by ``read()`` (one more list upstream at most)."""
        latest = read_latest_versions(self.upstream, self.upstream_snap)
        key = detect_label_key(self.before, self.upstream_view["pk"])
        return record_entries(self.upstream_snap, self.before, latest, key)

    def stored_record(self):
        """(content guard, record) of this UpstreamPulp: as ``read()`` read it beside the lists, or read now."""
        return self._read.get("record") or read_record(self.client, self.upstream_view["pk"])

    def decide(self, plan, tag=None):
        """(decision, entries): may this run skip, or replicate only the changed distributions?"""
        guard, record = None, None
        if self.upstream_view["exists"]:
            guard, record = self.stored_record()
        entries = self.entries()
        decision = record_decision(
            record, self.upstream_view, entries, plan, tag=tag, neighbours=self.neighbours,
            partial_supported=self.client.supports("request_q_select"),
            request_q_select=self.params.get("q_select"))
        if guard is not None and record is None:
            decision["reasons"].insert(0, "content guard '%s' holds no record" % guard.get("name"))
        return decision, entries

    def diff_of(self, after, always=False):
        """The --diff of this run: each distribution's base_path and what it serves, in words.

        None without --diff, unless ``always`` (a failed run reports what it left, diff or not).
        """
        if not (self.diff or always):
            return None
        repositories = dict((r["href"], r["name"]) for snap in (self.before, after)
                            for r in snap.get("repositories", []) if r.get("href"))
        return {"before": readable_view(self.before, repositories, self._publication_version),
                "after": readable_view(after, repositories, self._publication_version)}

    def _publication_version(self, href):
        if href not in self._publications:
            found = self.client.get(href, allow_404=True)
            self._publications[href] = (found or {}).get("repository_version")
        return self._publications[href]

    # -------------------------------------------------------------- writing
    def apply_steps(self, steps):
        """Apply reconcile renames (PATCH name), moves (PATCH base_path) and adopt labels (set_label/); return what was done."""
        done = []
        for step in steps:
            href = step.get("href")
            if not href:
                continue
            if step["action"] == "rename":
                answer = self.client.patch(href, {"name": step["to"]})
            elif step["action"] == "move":
                answer = self.client.patch(href, {"base_path": step["to"]})
            else:
                answer = self.client.post(href + "set_label/", {"key": step["key"], "value": step["value"]})
            # A move leaves its old base_path unserved until the next move fills it: wait for it closely.
            poll = MOVE_POLL_INTERVAL if step["action"] == "move" else self.params["poll_interval"]
            self.client.task_result(answer, timeout=self.params["timeout"], poll_interval=poll)
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

    def replicate(self, q_select=None):
        """POST replicate/ and, unless ``wait`` is off, wait for the task group; return (group_href, tasks)."""
        if not self.upstream_pulp:
            raise PulpError("UpstreamPulp '%s' does not exist in domain '%s'; create it first "
                            "(pulpops.replication.upstream_pulp)" % (self.params["upstream"], self.client.domain))
        body = {"q_select": q_select} if q_select is not None else {}
        answer = self.client.post(self.upstream_pulp["pulp_href"] + "replicate/", body)
        group_href = (answer or {}).get("task_group")
        if not self.params["wait"]:
            return group_href, []
        _group, tasks = self.client.wait_task_group(group_href, timeout=self.params["timeout"],
                                                    poll_interval=self.params["poll_interval"], finished=group_finished,
                                                    task_fields=REPORT_TASK_FIELDS)
        return group_href, tasks


# ------------------------------------------------------------------ the modes
def run(client, params, check_mode=False, upstream=None, diff=False):
    """The whole module behaviour; returns the result dict (raises ReplicationFailed/PulpError)."""
    replication = Replication(client, params, upstream=upstream, diff=diff)
    params = replication.params
    mode = params["mode"]
    plan = replication.plan(reconcile=mode == "reconcile" or params["reconcile"], on_foreign=params["on_foreign"])
    if mode == "record":
        return record_mode(replication, plan, check_mode)
    if params["on_foreign"] == "fail" and plan["conflicts"]:
        raise PulpError(conflict_message(plan["conflicts"]))
    result = plan_result(replication, plan)
    if mode == "reconcile":
        return reconcile_mode(replication, plan, result, check_mode)
    if plan["fails"] and not check_mode:
        # A plan that predicts a failure stops the run before any write (check mode returns it as the plan).
        raise ReplicationFailed(predicted_failure_message(plan), dict(result, changed=False))
    decision = None
    if params["skip_unchanged"] and not params["force_resync"]:
        decision = skip_decision(replication, plan, result)
    if check_mode or (decision is not None and decision["unchanged"]):
        return plan_mode(replication, plan, result, decision)
    return replicate_mode(replication, plan, result, decision)


def plan_result(replication, plan):
    """The result every mode but record starts from: the plan, and nothing done yet."""
    result = {"plan": public_plan(plan), "changed": False, "task_group": None, "failed_tasks": [],
              "durations": None, "skipped": plan["skipped"], "conflicts": plan["conflicts"],
              "neighbours": replication.neighbours, "upstream_exists": replication.upstream_view["exists"]}
    if plan.get("unreplicable"):
        result["warnings"] = [unreplicable_text(plan["unreplicable"])]
    return result


def finish(replication, result, after, changed):
    """The result with ``changed`` and, under --diff, the diff from the snapshot read before to ``after``."""
    result["changed"] = changed
    diff = replication.diff_of(after)
    if diff is not None:
        result["diff"] = diff
    return result


def skip_decision(replication, plan, result):
    """Compare with the record (``skip_unchanged``): may this run skip, or replicate only what changed?"""
    decision, entries = replication.decide(plan, tag=replication.params.get("record_tag"))
    result["plan"]["partial_q_select"] = decision["partial_q_select"]
    result["plan"]["record"] = {"unchanged": decision["unchanged"], "reasons": decision["reasons"],
                                "changed": decision["changed"], "resync": decision["resync"]}
    result["unchanged_since_record"] = decision["unchanged"]
    result["fingerprints"] = fingerprints(entries)
    if decision["unchanged"]:
        result["skipped_reason"] = (
            "nothing changed since the verified replication recorded in content guard '%s': the %d upstream "
            "distribution(s) in scope serve the same content, and the downstream distributions, repositories "
            "and remotes are as recorded" % (record_name(replication.upstream_view["pk"]), len(entries)))
    return decision


def plan_mode(replication, plan, result, decision):
    """Check mode, or a run the record proved unneeded: the plan is the result, nothing is written."""
    if decision is not None and decision["unchanged"]:
        return finish(replication, result, replication.before, False)
    return finish(replication, result, plan["predicted_after"], plan["changed"])


def reconcile_mode(replication, plan, result, check_mode):
    """Only the reconcile renames and adopt labels (no replication)."""
    steps = plan["reconcile"] + plan.get("adopt", [])
    if check_mode:
        return finish(replication, result, predict_steps(replication.before, steps), bool(steps))
    result["applied"] = replication.apply_steps(steps)
    after = read_downstream(replication.client)[0]
    result["changes"] = changes_only(diff_snapshots(replication.before, after))
    return finish(replication, result, after, is_change(result["changes"]))


def replicate_mode(replication, plan, result, decision):
    """Reconcile steps, a forced resync when due, POST replicate/, wait, report what changed and what failed."""
    params = replication.params
    if "fingerprints" not in result:
        # What the upstream served before the POST: mode=record later checks that it still does.
        result["fingerprints"] = fingerprints(replication.entries())
    result["applied"] = replication.apply_steps(plan["reconcile"] + plan.get("adopt", []))
    if (params["force_resync"] or (decision is not None and decision["resync"])) and replication.upstream_pulp:
        replication.force_resync()
        result["forced_resync"] = True
    q = plan.get("q_select", params.get("q_select"))
    if q is None and decision is not None and decision["partial_q_select"]:
        q = decision["partial_q_select"]
        result["partial"] = True
    started = time.time()
    try:
        result["task_group"], tasks = replication.replicate(q_select=q)
    except PulpTimeout as exc:
        raise timeout_failure(exc, params["timeout"], result)
    result["wait_seconds"] = round(time.time() - started, 3)
    if not params["wait"]:
        result["changed"] = True
        return result
    after = read_downstream(replication.client)[0]
    changes = diff_snapshots(replication.before, after)
    result.update(changes=changes_only(changes), unchanged=changes["unchanged"], durations=durations(tasks))
    finish(replication, result, after,
           is_change(changes) or bool(result["applied"]) or bool(result.get("forced_resync")))
    failed = group_failures(tasks, object_names(replication.before, after))
    if failed:
        result["failed_tasks"] = failed
        result["diff"] = replication.diff_of(after, always=True)
        message = failure_message(result["task_group"], failed, atomic=plan["atomic"])
        if not plan["atomic"]:
            result["switched"], result["not_switched"] = switch_report(replication.before, after, replication.upstream_snap)
            message += ("\nThis server (pulpcore %s, before 3.107) switches each distribution as its own sync finishes: "
                        "switched: %s; not switched: %s." % (replication.upstream_view["server_version"],
                                                             ", ".join(result["switched"]) or "none",
                                                             ", ".join(result["not_switched"]) or "none"))
        raise ReplicationFailed(message, result)
    return result


def timeout_failure(exc, timeout, result):
    """The failure of a wait that ran out: the replication goes on on the server."""
    pending = [{"task": t.get("pulp_href"), "name": t.get("name"), "state": t.get("state")}
               for t in exc.pending if isinstance(t, dict)]
    return ReplicationFailed(
        "Replication did not finish within %s s; it goes on on the server. Task group: %s; still running: %s"
        % (timeout, exc.href, ", ".join("%s (%s)" % (p["name"], p["state"]) for p in pending) or "none"),
        dict(result, task_group=exc.href, pending=pending, changed=True))


def record_mode(replication, plan, check_mode):
    """mode=record: write the record of a verified replication, unless the state cannot be vouched for.

    ``params['fingerprints']`` (the upstream fingerprints the replication read before it
    posted) must equal the upstream's now: a change in between is never recorded as replicated.
    """
    params, view = replication.params, replication.upstream_view
    entries = replication.entries()
    key = detect_label_key(replication.before, view["pk"])
    problems = record_problems(view, entries, plan=plan, read_before=params.get("fingerprints"),
                               serving=serving_problems(replication.upstream_snap, replication.before, key, view["pk"]))
    result = {"changed": False, "record_written": False, "record_problems": problems,
              "record_name": record_name(view["pk"]) if view["pk"] else None,
              "plan": public_plan(plan), "neighbours": replication.neighbours, "failed_tasks": [],
              "conflicts": plan["conflicts"], "skipped": plan["skipped"]}
    if not view["exists"]:
        problems.insert(0, "UpstreamPulp '%s' does not exist" % params["upstream"])
    if problems:
        return result
    guard, existing = replication.stored_record()
    if guard is not None and existing is None:
        problems.append(foreign_guard_problem(guard.get("name")))
        return result
    record = make_record(view, entries, tag=params.get("record_tag"), neighbours=replication.neighbours,
                         written_at=format_time(utc_now()))
    if not check_mode:
        write_record(replication.client, view["pk"], record, guard)
    result["changed"] = record_differs(existing, record)
    result["record_written"] = not check_mode
    return result


def predicted_failure_message(plan):
    """Why a run whose plan predicts a failure was not started, and what to do."""
    lines = ["Refusing to replicate: the plan predicts that the server's replication would fail; nothing was changed."]
    for item in plan.get("unsupported") or []:
        lines.append("- %s" % item["message"])
    for failure in plan.get("failures") or []:
        lines.append("- %s '%s': %s" % (failure["kind"], failure["name"], failure["error"]))
    if plan.get("cycles"):
        lines.append("Distributions trade base_paths (a cycle): run with reconcile=true (the role always does).")
    if any(c["effect"].startswith("fails") for c in plan.get("conflicts") or []):
        lines.append("Objects this UpstreamPulp does not own are in the way (see conflicts): delete or rename them, "
                     "or choose on_foreign=adopt or on_foreign=skip.")
    return "\n".join(lines)


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
