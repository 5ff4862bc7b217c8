# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The replication plan: from two snapshots to what a replication would do.

Pure functions, no HTTP. A snapshot is plain data (lists of dicts, see ``normalize_*``).
The server's algorithm (pulpcore ``replicate_distributions`` / ``finalize_replication``) is
simulated on the downstream snapshot, which gives a *predicted after* snapshot; the plan's
changes are ``diff_snapshots(before, predicted_after)``. The real run reports
``diff_snapshots(before, real_after)`` with the same function, so plan and outcome can be
compared key by key.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import hashlib
import json
import re
from datetime import datetime

DEFAULT_LABEL_KEY = "UpstreamPulp"
KINDS = ("distributions", "repositories", "remotes")
SINGULAR = {"distributions": "distribution", "repositories": "repository", "remotes": "remote"}
PLURAL = dict((v, k) for k, v in SINGULAR.items())
POLICIES = ("all", "labeled", "nodelete")
ARTIFACTS_TYPE = "core/artifacts"
# Plugins that ship a replicator (pulp_<plugin>/app/replica.py): distribution list endpoint.
REPLICATED_TYPES = {
    "file": "file/file",
    "rpm": "rpm/rpm",
    "container": "container/container",
    "ansible": "ansible/ansible",
    "python": "python/pypi",
    "deb": "deb/apt",
    "gem": "gem/gem",
    "maven": "maven/maven",
    "npm": "npm/npm",
    "ostree": "ostree/ostree",
}
CHANGE_KEYS = ("create", "update", "rename", "delete")
_TYPE_RE = re.compile(r"/(distributions|repositories|remotes)/([^/]+)/([^/]+)/")


# ------------------------------------------------------------------ snapshots
def object_type(href):
    """'/pulp/d/api/v3/distributions/file/file/<id>/' -> 'file/file' ('' when unknown)."""
    match = _TYPE_RE.search(href or "")
    return "%s/%s" % (match.group(2), match.group(3)) if match else ""


def plugin_of(type_path):
    return (type_path or "").split("/")[0]


def href_pk(href):
    """The last path segment of an href (an UpstreamPulp's pk)."""
    return [part for part in (href or "").split("/") if part][-1] if href else ""


def _serves(raw):
    """What a distribution serves, as one comparable value (None: nothing)."""
    if raw.get("repository_version"):
        return "version:" + raw["repository_version"]
    if raw.get("publication"):
        return "publication:" + raw["publication"]
    if raw.get("repository"):
        return "repository:" + raw["repository"]
    if "publication" not in raw and raw.get("no_content_change_since"):
        # Generic list endpoints omit 'publication'; a timestamp says a publication is served.
        return "publication@" + raw["no_content_change_since"]
    return None


# What the normalizers read: list requests ask for these fields only (cheaper for the server).
DISTRIBUTION_FIELDS = ("name", "pulp_href", "base_path", "base_url", "pulp_labels", "repository", "repository_version",
                       "publication", "no_content_change_since")
REPOSITORY_FIELDS = ("name", "pulp_href", "pulp_labels", "latest_version_href")
REMOTE_FIELDS = ("name", "pulp_href", "pulp_labels", "url")
# The upstream is listed per type: its rows need no href (the plan reads their type from the endpoint,
# and an href costs the server a query per row, 0.1 s per 50 on the lab).
UPSTREAM_DISTRIBUTION_FIELDS = tuple(f for f in DISTRIBUTION_FIELDS if f != "pulp_href")


def normalize_distribution(raw, type_path=None):
    """``type_path``: the type of a row listed without its href (from a per-type endpoint)."""
    return {
        "name": raw["name"],
        "href": raw.get("pulp_href"),
        "type": object_type(raw.get("pulp_href")) or type_path or "",
        "base_path": raw.get("base_path"),
        "base_url": raw.get("base_url"),
        "labels": dict(raw.get("pulp_labels") or {}),
        "serves": _serves(raw),
        "no_content_change_since": raw.get("no_content_change_since"),
    }


def normalize_repository(raw):
    return {
        "name": raw["name"],
        "href": raw.get("pulp_href"),
        "type": object_type(raw.get("pulp_href")),
        "labels": dict(raw.get("pulp_labels") or {}),
        "latest_version": raw.get("latest_version_href"),
    }


def normalize_remote(raw):
    return {
        "name": raw["name"],
        "href": raw.get("pulp_href"),
        "type": object_type(raw.get("pulp_href")),
        "labels": dict(raw.get("pulp_labels") or {}),
        "url": raw.get("url"),
    }


def downstream_snapshot(distributions, repositories, remotes):
    """The downstream domain as the plan sees it; the server-owned artifacts distribution is left out."""
    return {
        "distributions": [normalize_distribution(d) for d in distributions if object_type(d.get("pulp_href")) != ARTIFACTS_TYPE],
        "repositories": [normalize_repository(r) for r in repositories],
        "remotes": [normalize_remote(r) for r in remotes],
    }


def upstream_snapshot(distributions, type_path=None):
    """Upstream distributions in scope, in the order the server lists them (``type_path``: see normalize_distribution)."""
    return {"distributions": [normalize_distribution(d, type_path) for d in distributions
                              if object_type(d.get("pulp_href")) != ARTIFACTS_TYPE]}


def server_view(upstream_pulp, policy=None, q_select=None):
    """The UpstreamPulp fields the plan needs (or a stand-in when it does not exist yet)."""
    upstream_pulp = upstream_pulp or {}
    return {
        "pk": href_pk(upstream_pulp.get("pulp_href")),
        "href": upstream_pulp.get("pulp_href"),
        "exists": bool(upstream_pulp.get("pulp_href")),
        "policy": upstream_pulp.get("policy") or policy or "all",
        "q_select": upstream_pulp.get("q_select") if upstream_pulp else q_select,
        "base_url": upstream_pulp.get("base_url"),
        "last_replication": upstream_pulp.get("last_replication"),
        "pulp_last_updated": upstream_pulp.get("pulp_last_updated"),
    }


def detect_label_key(downstream, pk, default=DEFAULT_LABEL_KEY):
    """The label key replication puts on what it creates, read from the server's objects.

    Any downstream object labeled ``<key>: <pk>`` names the key; otherwise the default.
    """
    if not pk:
        return default
    for kind in KINDS:
        for obj in downstream.get(kind, []):
            labels = obj.get("labels") or {}
            if labels.get(default) == pk:
                return default
            for key, value in labels.items():
                if value == pk:
                    return key
    return default


def parse_time(text):
    if not text:
        return None
    text = text.replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


# ------------------------------------------------------------------ the diff
def diff_snapshots(before, after):
    """What changed between two downstream snapshots, matched by href.

    Returns {create, update, rename, delete, unchanged}: create/delete/rename per kind,
    update = {kind: {name: [fields]}}, unchanged = distribution names.
    """
    result = {"create": {}, "update": {}, "rename": {}, "delete": {}, "unchanged": []}
    for kind in KINDS:
        old = dict((o["href"], o) for o in before.get(kind, []) if o.get("href"))
        new_items = after.get(kind, [])
        new_hrefs = set(o.get("href") for o in new_items if o.get("href"))
        created = sorted(o["name"] for o in new_items if not o.get("href") or o["href"] not in old)
        deleted = sorted(o["name"] for href, o in old.items() if href not in new_hrefs)
        renamed, updated = [], {}
        for obj in new_items:
            prev = old.get(obj.get("href")) if obj.get("href") else None
            if prev is None:
                continue
            if prev["name"] != obj["name"]:
                renamed.append({"from": prev["name"], "to": obj["name"]})
            fields = _changed_fields(kind, prev, obj)
            if fields:
                updated[obj["name"]] = fields
            elif kind == "distributions" and prev["name"] == obj["name"]:
                result["unchanged"].append(obj["name"])
        if created:
            result["create"][kind] = created
        if deleted:
            result["delete"][kind] = deleted
        if renamed:
            result["rename"][kind] = sorted(renamed, key=lambda r: (r["from"], r["to"]))
        if updated:
            result["update"][kind] = updated
    result["unchanged"].sort()
    return result


def _changed_fields(kind, prev, obj):
    if kind == "distributions":
        fields = ("base_path", "labels", "serves")
    elif kind == "remotes":
        fields = ("url", "labels")
    else:
        fields = ("labels",)
    return [("pulp_labels" if f == "labels" else f) for f in fields if prev.get(f) != obj.get(f)]


def changes_only(diff):
    """The changing parts of a plan or a diff (for comparing plan and outcome)."""
    return dict((key, diff.get(key) or {}) for key in CHANGE_KEYS)


def is_change(diff):
    return any(diff.get(key) for key in CHANGE_KEYS)


def distributions_view(snapshot):
    """{name: {base_path, serves}} of a snapshot's distributions (the --diff before/after)."""
    return dict((d["name"], {"base_path": d["base_path"], "serves": d["serves"]}) for d in snapshot.get("distributions", []))


# ------------------------------------------------------------------ the plan
class _Domain(object):
    """A mutable copy of a downstream snapshot with name/base_path indexes."""

    def __init__(self, snapshot):
        self.objects = dict((kind, [copy.deepcopy(o) for o in snapshot.get(kind, [])]) for kind in KINDS)
        self._new = 0

    def named(self, kind, name):
        for obj in self.objects[kind]:
            if obj["name"] == name:
                return obj
        return None

    def at_base_path(self, base_path):
        for obj in self.objects["distributions"]:
            if obj["base_path"] == base_path:
                return obj
        return None

    def overlapping(self, base_path, exclude=None):
        """A distribution whose base_path nests in or contains ``base_path`` (the server refuses those)."""
        for obj in self.objects["distributions"]:
            if obj is exclude:
                continue
            other = obj["base_path"] or ""
            if other == base_path or other.startswith(base_path + "/") or base_path.startswith(other + "/"):
                return obj
        return None

    def add(self, kind, obj):
        self._new += 1
        obj.setdefault("href", None)
        obj["_new"] = self._new
        self.objects[kind].append(obj)
        return obj

    def remove(self, kind, obj):
        self.objects[kind] = [o for o in self.objects[kind] if o is not obj]

    def snapshot(self):
        return dict((kind, [dict((k, v) for k, v in o.items() if not k.startswith("_")) for o in self.objects[kind]]) for kind in KINDS)


def compute_plan(upstream, downstream, server, request_q_select=None, reconcile=False, on_foreign="ignore",
                 label_key=None, replicated_types=None):
    """The plan of one replication.

    ``upstream``/``downstream``: snapshots (``upstream_snapshot``/``downstream_snapshot``);
    ``server``: ``server_view(...)``; ``request_q_select``: the per-request filter (the upstream
    snapshot must already be filtered by it); ``reconcile``: plan the reconcile steps and predict
    the run after them; ``on_foreign='adopt'``: predict the run after labeling foreign objects.
    """
    policy = server["policy"]
    pk = server["pk"] or "<new UpstreamPulp>"
    key = label_key or detect_label_key(downstream, server["pk"])
    label = {key: pk}
    types = replicated_types
    if types is None:
        types = sorted(set(d["type"] for d in upstream["distributions"]))

    conflicts = find_conflicts(upstream, downstream, server, key, types)
    cycles = find_cycles(upstream, downstream, server, key, types)
    steps = reconcile_steps(upstream, downstream, server, key, types, cycles) if reconcile else []
    adopt = adopt_steps(conflicts, key, pk) if on_foreign == "adopt" else []
    prepared = apply_steps(downstream, steps + adopt, key)
    moved = renamed_or_moved(upstream, downstream)
    predicted, outcome = simulate(upstream, prepared, server, label, request_q_select, types, moved)
    diff = diff_snapshots(downstream, predicted)
    plan = changes_only(diff)
    plan["unchanged"] = diff["unchanged"]
    plan.update({
        "conflicts": conflicts,
        "cycles": cycles,
        "reconcile": steps,
        "adopt": adopt,
        "skipped": outcome["skipped"],
        "failures": outcome["failures"],
        "resync": outcome["resync"],
        "fails": bool(outcome["failures"]),
        "remove_missing": outcome["remove_missing"],
        "label": {key: pk},
        "policy": policy,
    })
    plan["summary"] = summarize(plan)
    plan["changed"] = is_change(plan) or bool(steps) or bool(adopt)
    plan["predicted_after"] = predicted
    return plan


def summarize(plan):
    def count(value):
        if isinstance(value, dict):
            return sum(len(v) for v in value.values())
        return len(value or [])
    summary = dict((key, count(plan.get(key))) for key in CHANGE_KEYS)
    summary.update({
        "unchanged": len(plan.get("unchanged") or []),
        "conflicts": len(plan.get("conflicts") or []),
        "cycles": len(plan.get("cycles") or []),
        "reconcile": len(plan.get("reconcile") or []),
        "skipped": len(plan.get("skipped") or []),
        "failures": len(plan.get("failures") or []),
    })
    return summary


def _serves_something(dist):
    return bool(dist.get("serves"))


def _owned(obj, key, pk):
    return (obj.get("labels") or {}).get(key) == pk


def _managed(obj, policy, key, pk):
    return policy != "labeled" or _owned(obj, key, pk)


def _owner_text(obj, key):
    value = (obj.get("labels") or {}).get(key)
    return "UpstreamPulp %s" % value if value else "nobody (hand-made)"


def _wanted(upstream, types):
    return [u for u in upstream["distributions"] if u["type"] in types]


def find_conflicts(upstream, downstream, server, key, types):
    """Objects on a wanted name or base_path that this UpstreamPulp does not own.

    Each: {kind, name, base_path, wanted_by, owner, reason, effect}. ``effect`` says what the
    server would do with it under the policy.
    """
    policy, pk = server["policy"], server["pk"]
    domain = _Domain(downstream)
    conflicts = []
    seen = set()
    wanted = [u for u in _wanted(upstream, types) if _serves_something(u)]
    wanted_names = set(u["name"] for u in wanted)
    for u in wanted:
        plugin = plugin_of(u["type"])
        for kind in KINDS:
            obj = domain.named(kind, u["name"])
            if obj is None or _owned(obj, key, pk) or (kind, obj["name"]) in seen:
                continue
            if plugin_of(obj["type"]) != plugin or (kind == "distributions" and obj["type"] != u["type"]):
                effect = "fails: the name is held by an object of another type"
            elif policy == "labeled":
                effect = ("skipped: its content is switched to the replicated repository" if kind == "distributions"
                          else "skipped: the upstream distribution is not replicated")
            else:
                effect = "taken over: relabeled and overwritten"
            seen.add((kind, obj["name"]))
            conflicts.append({"kind": SINGULAR[kind], "name": obj["name"], "href": obj.get("href"),
                              "base_path": obj.get("base_path"), "wanted_by": u["name"], "owner": _owner_text(obj, key),
                              "reason": "name '%s' is wanted by upstream distribution '%s'" % (obj["name"], u["name"]),
                              "effect": effect})
        holder = domain.overlapping(u["base_path"])
        if holder is not None and holder["name"] != u["name"] and not _owned(holder, key, pk) \
                and ("distributions", holder["name"]) not in seen:
            same = holder["base_path"] == u["base_path"] and holder["type"] == u["type"]
            if policy != "labeled" and same and server.get("base_path_reuse", True):
                effect = "taken over: renamed to '%s', relabeled, its content replaced" % u["name"]
            else:
                effect = "fails: base_path taken, PLP0018 and nothing switches"
            seen.add(("distributions", holder["name"]))
            conflicts.append({"kind": "distribution", "name": holder["name"], "href": holder.get("href"),
                              "base_path": holder["base_path"],
                              "wanted_by": u["name"], "owner": _owner_text(holder, key),
                              "reason": "base_path '%s' is wanted by upstream distribution '%s'" % (u["base_path"], u["name"]),
                              "effect": effect})
    if policy == "all":
        for kind in KINDS:
            for obj in domain.objects[kind]:
                if plugin_of(obj["type"]) not in set(plugin_of(t) for t in types) or obj["name"] in wanted_names:
                    continue
                if not _owned(obj, key, pk) and (kind, obj["name"]) not in seen:
                    seen.add((kind, obj["name"]))
                    conflicts.append({"kind": SINGULAR[kind], "name": obj["name"], "href": obj.get("href"),
                                      "base_path": obj.get("base_path"),
                                      "wanted_by": None, "owner": _owner_text(obj, key),
                                      "reason": "policy 'all' deletes every %s of the replicated types that upstream lacks" % SINGULAR[kind],
                                      "effect": "deleted"})
    return conflicts


def find_cycles(upstream, downstream, server, key, types):
    """Managed downstream distributions trading base_paths (swap, rotation): the server cannot apply them.

    Each cycle is a list of {name, base_path, to} in order.
    """
    policy, pk = server["policy"], server["pk"]
    domain = _Domain(downstream)
    wants = {}
    for u in _wanted(upstream, types):
        if not _serves_something(u):
            continue
        dist = domain.named("distributions", u["name"])
        if dist is not None and _managed(dist, policy, key, pk) and dist["base_path"] != u["base_path"]:
            wants[dist["name"]] = (dist["base_path"], u["base_path"])
    holder_of = dict((d["base_path"], d["name"]) for d in domain.objects["distributions"])
    cycles, done = [], set()
    for start in sorted(wants):
        if start in done:
            continue
        path, name = [], start
        while name in wants and name not in path and name not in done:
            path.append(name)
            name = holder_of.get(wants[name][1])
        if name in path and len(path[path.index(name):]) > 1:
            loop = path[path.index(name):]
            cycles.append([{"name": n, "base_path": wants[n][0], "to": wants[n][1]} for n in loop])
        done.update(path)
    return cycles


def reconcile_steps(upstream, downstream, server, key, types, cycles=None):
    """The renames that let the server only switch content (never moving a base_path).

    Upstream rename (same base_path, new name): rename the downstream distribution,
    repository and remote to the new name. Base_path cycle: rename the distributions through
    temporary names so each base_path's distribution carries the name its base_path has
    upstream. Steps: [{action: 'rename', kind, from, to, href, why}] in order.
    """
    policy, pk = server["policy"], server["pk"]
    domain = _Domain(downstream)
    if cycles is None:
        cycles = find_cycles(upstream, downstream, server, key, types)
    wanted = [u for u in _wanted(upstream, types) if _serves_something(u)]
    upstream_names = set(u["name"] for u in upstream["distributions"])
    steps = []
    for u in wanted:
        if domain.named("distributions", u["name"]) is not None:
            continue
        dist = domain.at_base_path(u["base_path"])
        if dist is None or dist["type"] != u["type"] or not _owned(dist, key, pk) or dist["name"] in upstream_names:
            continue
        old = dist["name"]
        for kind in KINDS:
            obj = domain.named(kind, old)
            if obj is None or not _owned(obj, key, pk) or domain.named(kind, u["name"]) is not None:
                continue
            steps.append({"action": "rename", "kind": SINGULAR[kind], "from": old, "to": u["name"], "href": obj["href"],
                          "why": "upstream renamed '%s' to '%s' on base_path '%s'" % (old, u["name"], u["base_path"])})
            obj["name"] = u["name"]
    by_base_path = dict((u["base_path"], u["name"]) for u in wanted)
    for index, cycle in enumerate(cycles):
        members = [domain.named("distributions", item["name"]) for item in cycle]
        if any(m is None or not _owned(m, key, pk) for m in members):
            continue
        for number, member in enumerate(members):
            temp = "%s-reconcile-%d-%d" % (member["name"], index, number)
            steps.append({"action": "rename", "kind": "distribution", "from": member["name"], "to": temp,
                          "href": member["href"], "why": "base_path cycle: temporary name"})
            member["name"] = temp
        for member in members:
            target = by_base_path[member["base_path"]]
            steps.append({"action": "rename", "kind": "distribution", "from": member["name"], "to": target,
                          "href": member["href"],
                          "why": "base_path cycle: '%s' is served by '%s' upstream" % (member["base_path"], target)})
            member["name"] = target
    return steps


def adopt_steps(conflicts, key, pk):
    """Label each foreign object on a wanted name or base_path so replication takes it over."""
    steps = []
    for conflict in conflicts:
        if conflict.get("wanted_by") is None or conflict["effect"].startswith("fails: the name is held"):
            continue
        steps.append({"action": "label", "kind": conflict["kind"], "name": conflict["name"], "href": conflict.get("href"),
                      "key": key, "value": pk,
                      "why": conflict["reason"]})
    return steps


def apply_steps(snapshot, steps, key=DEFAULT_LABEL_KEY):
    """The snapshot as it will be after ``steps`` (renames, labels): pure."""
    result = copy.deepcopy(snapshot)
    for step in steps:
        kind = PLURAL[step["kind"]]
        match = step.get("from") if step["action"] == "rename" else step.get("name")
        # Renames through temporary names reuse one href: match by href when the step has one.
        for obj in result.get(kind, []):
            if (step.get("href") and obj.get("href") == step["href"]) or (not step.get("href") and obj["name"] == match):
                if step["action"] == "rename":
                    obj["name"] = step["to"]
                else:
                    obj["labels"] = dict(obj.get("labels") or {}, **{step["key"]: step["value"]})
                break
    return result


def _requires_syncing(u, server):
    """The server's rule (Replicator.requires_syncing)."""
    since = parse_time(u.get("no_content_change_since"))
    last = parse_time(server.get("last_replication"))
    updated = parse_time(server.get("pulp_last_updated"))
    if since and last:
        if updated and last < updated:
            return True
        if last > since:
            return False
    return True


def renamed_or_moved(upstream, downstream):
    """Upstream distributions renamed (same base_path) or moved (same name) since the downstream copy.

    Their no_content_change_since was bumped by that PATCH, not by new content.
    """
    by_name = dict((d["name"], d) for d in downstream["distributions"])
    by_path = dict((d["base_path"], d) for d in downstream["distributions"])
    result = set()
    for u in upstream["distributions"]:
        same_name = by_name.get(u["name"])
        if (same_name is not None and same_name["base_path"] != u["base_path"]) or \
                (same_name is None and u["base_path"] in by_path):
            result.add(u["name"])
    return result


def simulate(upstream, downstream, server, label, request_q_select=None, types=(), moved=()):
    """Run the server's algorithm on a copy of ``downstream``; return (predicted_after, outcome)."""
    policy, pk = server["policy"], server["pk"] or "<new UpstreamPulp>"
    key = list(label)[0]
    domain = _Domain(downstream)
    outcome = {"skipped": [], "failures": [], "resync": [], "remove_missing": request_q_select is None and policy != "nodelete"}
    pairs = []  # (distribution name, repository object, content changes)
    for type_path in types:
        plugin = plugin_of(type_path)
        names, pending = [], []
        for u in [d for d in upstream["distributions"] if d["type"] == type_path]:
            if not _serves_something(u):
                outcome["skipped"].append({"name": u["name"], "reason": "serves nothing upstream"})
                continue
            remote = domain.named("remotes", u["name"])
            if remote is not None and plugin_of(remote["type"]) != plugin:
                outcome["failures"].append({"name": u["name"], "kind": "remote",
                                            "error": "remote name '%s' is held by a %s remote" % (u["name"], remote["type"])})
                continue
            if remote is not None and not _managed(remote, policy, key, pk):
                outcome["skipped"].append({"name": u["name"], "reason": "remote '%s' is not owned by this UpstreamPulp" % u["name"]})
                continue
            url_changes = False
            if remote is None:
                remote = domain.add("remotes", {"name": u["name"], "type": type_path, "labels": dict(label), "url": u["base_url"]})
            else:
                url_changes = not (remote.get("url") or "").startswith(u["base_url"] or "")
                if url_changes:
                    remote["url"] = u["base_url"]
                remote["labels"] = dict(label)
            repo = domain.named("repositories", u["name"])
            if repo is not None and plugin_of(repo["type"]) != plugin:
                outcome["failures"].append({"name": u["name"], "kind": "repository",
                                            "error": "repository name '%s' is held by a %s repository" % (u["name"], repo["type"])})
                continue
            if repo is not None and not _managed(repo, policy, key, pk):
                outcome["skipped"].append({"name": u["name"], "reason": "repository '%s' is not owned by this UpstreamPulp" % u["name"]})
                continue
            new_content = False
            if repo is None:
                repo = domain.add("repositories", {"name": u["name"], "type": type_path, "labels": dict(label), "latest_version": None})
                new_content = True
            else:
                repo["labels"] = dict(label)
            if _requires_syncing(u, server) and not new_content:
                since = parse_time(u.get("no_content_change_since"))
                last = parse_time(server.get("last_replication"))
                if url_changes or (since and (last is None or since > last) and u["name"] not in moved):
                    new_content = True
                else:
                    outcome["resync"].append(u["name"])
            if new_content:
                repo["latest_version"] = "new-version-of:%s" % repo["name"]
            names.append(u["name"])
            pending.append((u, repo))
        for u, repo in pending:
            dist = domain.named("distributions", u["name"])
            if dist is not None:
                if dist["type"] != u["type"]:
                    outcome["failures"].append({"name": u["name"], "kind": "distribution",
                                                "error": "name '%s' is held by a %s distribution" % (u["name"], dist["type"])})
                    continue
                pairs.append((u["name"], repo))
                if not _managed(dist, policy, key, pk):
                    continue
                if dist["base_path"] != u["base_path"]:
                    holder = domain.overlapping(u["base_path"], exclude=dist)
                    if holder is not None:
                        outcome["failures"].append({"name": u["name"], "kind": "distribution",
                                                    "error": "base_path '%s' is taken by distribution '%s'" % (u["base_path"], holder["name"])})
                        continue
                    dist["base_path"] = u["base_path"]
                dist["labels"] = dict(label)
                continue
            # pulpcore >= 3.113 takes over (renames) its own distribution at the base_path; older servers
            # try to create a second one there, which fails (the reconcile phase renames first).
            found = domain.at_base_path(u["base_path"]) if server.get("base_path_reuse", True) else None
            if found is not None and found["type"] == u["type"] and _managed(found, policy, key, pk):
                found["name"] = u["name"]
                found["labels"] = dict(label)
                pairs.append((u["name"], repo))
                continue
            holder = domain.overlapping(u["base_path"])
            if holder is not None:
                outcome["failures"].append({"name": u["name"], "kind": "distribution",
                                            "error": "base_path '%s' is taken by distribution '%s'" % (u["base_path"], holder["name"])})
                continue
            domain.add("distributions", {"name": u["name"], "type": u["type"], "base_path": u["base_path"],
                                         "labels": dict(label), "serves": None, "base_url": None})
            pairs.append((u["name"], repo))
        if request_q_select is None and policy != "nodelete":
            for kind in KINDS:
                for obj in list(domain.objects[kind]):
                    same_type = obj["type"] == type_path if kind == "distributions" else plugin_of(obj["type"]) == plugin
                    if same_type and obj["name"] not in names and (policy == "all" or _owned(obj, key, pk)):
                        domain.remove(kind, obj)
    if not outcome["failures"]:
        for name, repo in pairs:
            dist = domain.named("distributions", name)
            if dist is None:
                continue
            target = "version:%s" % repo["latest_version"] if repo["latest_version"] else "version:latest-of:%s" % repo["name"]
            if dist["serves"] != target:
                dist["serves"] = target
    return domain.snapshot(), outcome


# ------------------------------------------------------------------ the replication record
RECORD_KIND = "pulpops.replication/replication-record"
RECORD_VERSION = 1
RECORD_NAME_PREFIX = "pulpops-replication-record-"
RECORD_GLOBALS = ("upstream_pulp", "pulp_last_updated", "last_replication", "policy", "q_select")
# What a per-request q_select may carry in a quoted name list (pulpcore's filter grammar).
_UNQUOTABLE = re.compile(r'[",\\]')


def record_name(pk):
    """The content guard that holds the record of UpstreamPulp ``pk`` (never the lock's name)."""
    return RECORD_NAME_PREFIX + pk


def _digest(value):
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode("utf-8")).hexdigest()[:20]


def upstream_fingerprint(dist, latest_versions):
    """What an upstream distribution serves, as an immutable value, or None when it cannot be known.

    Publications and repository versions are immutable, so their hrefs are fingerprints; a
    distribution serving a repository is fingerprinted by that repository's latest version
    (``latest_versions``: repository href -> latest_version_href).
    """
    serves = dist.get("serves")
    if not serves:
        return "nothing"
    if serves.startswith("repository:"):
        href = serves[len("repository:"):]
        if href not in latest_versions:
            return None
        return "%s@%s" % (serves, latest_versions[href])
    if serves.startswith("publication@"):
        return None  # a generic list's timestamp is not an identity
    return serves


def record_entries(upstream, downstream, latest_versions, label_key):
    """{name: [upstream digest, state digest]} per upstream distribution in scope.

    The state digest covers the upstream fingerprint and base_path and the downstream
    distribution (href, base_path, what it serves, owner), repository (href, latest version,
    owner) and remote (href, url, owner) of that name. A None upstream digest: not knowable.
    """
    by_name = dict((kind, dict((o["name"], o) for o in downstream.get(kind, []))) for kind in KINDS)
    entries = {}
    for u in upstream["distributions"]:
        fingerprint = upstream_fingerprint(u, latest_versions)
        up = [u["type"], u["base_path"], fingerprint]
        down = []
        for kind in KINDS:
            obj = by_name[kind].get(u["name"])
            down.append(None if obj is None else [obj.get("href"), obj.get("type"), obj.get("base_path"), obj.get("serves"),
                                                  obj.get("latest_version"), obj.get("url"),
                                                  (obj.get("labels") or {}).get(label_key)])
        entries[u["name"]] = [_digest(up) if fingerprint is not None else None, _digest([up, down])]
    return entries


def neighbours_digest(neighbours):
    return _digest(sorted([n.get("name"), n.get("policy"), n.get("q_select"), n.get("domain")] for n in neighbours or []))


def make_record(server, entries, tag=None, neighbours=None, written_at=None):
    """The record of a verified replication, as stored in the record guard's description."""
    record = {"kind": RECORD_KIND, "version": RECORD_VERSION, "tag": tag, "neighbours": neighbours_digest(neighbours),
              "written_at": written_at, "distributions": entries}
    record["upstream_pulp"] = server.get("pk")
    for key in RECORD_GLOBALS[1:]:
        record[key] = server.get(key)
    return record


def parse_record(text):
    """The record in a guard's description, or None when it is not one of ours."""
    try:
        record = json.loads(text or "")
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("kind") != RECORD_KIND or record.get("version") != RECORD_VERSION \
            or not isinstance(record.get("distributions"), dict):
        return None
    return record


def record_problems(server, entries):
    """Why the current state must not be recorded as verified (empty: it may)."""
    problems = []
    unknown = sorted(name for name, entry in entries.items() if entry[0] is None)
    if unknown:
        problems.append("the upstream content of %s cannot be fingerprinted" % names_text(unknown))
    if not server.get("last_replication"):
        problems.append("the UpstreamPulp has never completed a replication")
    return problems


def names_text(names, limit=5):
    shown = ", ".join("'%s'" % n for n in names[:limit])
    return shown + (" and %d more" % (len(names) - limit) if len(names) > limit else "")


def record_decision(record, server, entries, plan, tag=None, neighbours=None, partial_supported=True,
                    request_q_select=None):
    """Compare the current state with the record of the last verified replication.

    Returns {unchanged, reasons, changed, partial_q_select, resync}: ``unchanged`` only when every
    in-scope distribution is provably as recorded (upstream and downstream) and the plan
    changes nothing; otherwise ``reasons`` says why. ``partial_q_select`` is a per-request
    filter naming just the changed distributions, when replicating those alone is safe.
    ``resync``: changed distributions whose downstream repository must be created again while
    their upstream content is as recorded. When in doubt, this says: replicate everything.
    """
    decision = {"unchanged": False, "reasons": [], "changed": [], "partial_q_select": None, "resync": []}
    reasons = decision["reasons"]
    if record is None:
        reasons.append("no record of a verified replication of this UpstreamPulp in the domain")
        return decision
    for key in RECORD_GLOBALS:
        ours = server.get("pk") if key == "upstream_pulp" else server.get(key)
        if record.get(key) != ours:
            reasons.append("the UpstreamPulp's %s changed since the record (%r, now %r)" % (key, record.get(key), ours))
    if tag is not None and record.get("tag") != tag:
        reasons.append("the settings changed since the record (tag differs)")
    if record.get("neighbours") != neighbours_digest(neighbours):
        reasons.append("the other UpstreamPulps of the domain changed since the record")
    global_reasons = len(reasons)
    if request_q_select is not None:
        reasons.append("a per-request q_select narrows this run")
    for key in CHANGE_KEYS:
        if plan.get(key):
            reasons.append("the plan would %s %s" % (key, _plan_names(plan[key])))
    for key in ("conflicts", "cycles", "reconcile", "adopt", "failures"):
        if plan.get(key):
            reasons.append("the plan has %d %s" % (len(plan[key]), key))
    recorded = record["distributions"]
    removed = sorted(set(recorded) - set(entries))
    added = sorted(set(entries) - set(recorded))
    changed = sorted(n for n in entries if n in recorded and (entries[n][0] is None or list(recorded[n]) != list(entries[n])))
    if removed:
        reasons.append("upstream no longer has %s" % names_text(removed))
    if added:
        reasons.append("upstream has new %s" % names_text(added))
    if changed:
        reasons.append("%s changed since the record" % names_text(changed))
    decision["changed"] = sorted(added + changed)
    # A repository recreated downstream while its upstream content stayed the same is never synced
    # by the server (requires_syncing looks at the upstream only): those need a forced resync.
    recreated = set(((plan.get("create") or {}).get("repositories")) or [])
    decision["resync"] = sorted(n for n in changed if n in recreated and recorded[n][0] == entries[n][0])
    decision["unchanged"] = not reasons
    blocking = [k for k in ("delete", "rename") if plan.get(k)] + \
        [k for k in ("conflicts", "cycles", "reconcile", "adopt", "failures") if plan.get(k)]
    planned = set()
    for key in ("create", "update"):
        for items in (plan.get(key) or {}).values():
            planned.update(items)
    if (partial_supported and not global_reasons and planned <= set(decision["changed"]) and request_q_select is None and not removed and not blocking
            and decision["changed"] and len(decision["changed"]) < len(entries)
            and not any(_UNQUOTABLE.search(n) for n in decision["changed"])):
        clause = 'name__in="%s"' % ",".join(decision["changed"])
        stored = server.get("q_select")
        decision["partial_q_select"] = "(%s) AND %s" % (stored, clause) if stored else clause
    return decision


def _plan_names(value):
    if isinstance(value, dict):
        names = []
        for kind, items in sorted(value.items()):
            listed = sorted(items) if isinstance(items, dict) else items
            names.extend("%s %s" % (SINGULAR.get(kind, kind), i if not isinstance(i, dict) else i.get("to")) for i in listed)
        return names_text(names, 3)
    return names_text([str(v) for v in value], 3)


def serving_problems(upstream, downstream, label_key, pk):
    """Why the downstream does not serve what a finished replication leaves (empty: it does).

    Each upstream distribution that serves something has a downstream distribution and
    repository of its name, both owned by ``pk``, on the same base_path, the distribution
    serving the repository's latest version.
    """
    problems = []
    for u in upstream["distributions"]:
        if not u.get("serves"):
            continue
        dist = next((d for d in downstream.get("distributions", []) if d["name"] == u["name"]), None)
        repo = next((r for r in downstream.get("repositories", []) if r["name"] == u["name"]), None)
        if dist is None or repo is None:
            problems.append("'%s' has no downstream %s" % (u["name"], "distribution" if dist is None else "repository"))
        elif dist.get("base_path") != u["base_path"]:
            problems.append("'%s' is served at base_path '%s', upstream at '%s'" % (u["name"], dist.get("base_path"), u["base_path"]))
        elif not (_owned(dist, label_key, pk) and _owned(repo, label_key, pk)):
            problems.append("'%s' is not owned by UpstreamPulp %s downstream" % (u["name"], pk))
        elif not repo.get("latest_version") or dist.get("serves") != "version:" + repo["latest_version"]:
            problems.append("'%s' does not serve its repository's latest version" % u["name"])
    return problems
