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

from ansible_collections.pulpops.replication.plugins.module_utils.snapshot import (
    OBJECT_KINDS,
    PLURAL,
    SINGULAR,
    detect_label_key,
    owned,
    owner_text,
    plugin_of,
    serves_something,
)
from ansible_collections.pulpops.replication.plugins.module_utils.timestamps import parse_time

# What a replication changes, per kind of object.
CHANGE_KEYS = ("create", "update", "rename", "delete")
# What needs the operator's or the reconcile phase's attention before the server may run.
ATTENTION_KEYS = ("conflicts", "cycles", "reconcile", "adopt", "failures")


def nonempty_keys(plan):
    """The change and attention keys of a plan that are not empty: an empty list means "nothing to do"."""
    return [key for key in CHANGE_KEYS + ATTENTION_KEYS if plan.get(key)]


# ------------------------------------------------------------------ the diff
def diff_snapshots(before, after):
    """What changed between two downstream snapshots, matched by href.

    Returns {create, update, rename, delete, unchanged}: create/delete/rename per kind,
    update = {kind: {name: [fields]}}, unchanged = distribution names.
    """
    result = {"create": {}, "update": {}, "rename": {}, "delete": {}, "unchanged": []}
    for kind in OBJECT_KINDS:
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


FIELD_NAMES = {"labels": "pulp_labels", "latest_version": "latest_version_href"}


def _changed_fields(kind, prev, obj):
    if kind == "distributions":
        fields = ("base_path", "labels", "serves")
    elif kind == "remotes":
        fields = ("url", "labels")
    else:  # a new latest version: new content (what a distribution that serves the repository shows next)
        fields = ("labels", "latest_version")
    return [FIELD_NAMES.get(f, f) for f in fields if prev.get(f) != obj.get(f)]


def changes_only(diff):
    """The changing parts of a plan or a diff (for comparing plan and outcome)."""
    return dict((key, diff.get(key) or {}) for key in CHANGE_KEYS)


def is_change(diff):
    return any(diff.get(key) for key in CHANGE_KEYS)


def distributions_view(snapshot):
    """{name: {base_path, serves}} of a snapshot's distributions, ``serves`` as the snapshot holds it."""
    return dict((d["name"], {"base_path": d["base_path"], "serves": d["serves"]}) for d in snapshot.get("distributions", []))


def describe_serves(serves, repositories, publication_version=None):
    """What a distribution serves, in words: 'repository demo-0001, version 3', 'publication of demo-0001 version 3'.

    ``repositories``: repository href -> name; ``publication_version``: a callable, publication
    href -> the repository version href it was made from (None when unknown). What cannot be
    named is shown as the href it is.
    """
    if not serves:
        return "nothing"
    if serves.startswith("publication@"):
        return "a publication (listed without its href)"
    kind, _sep, href = serves.partition(":")
    if href.startswith("new-version-of:"):
        return "repository %s, a new version" % href[len("new-version-of:"):]
    if href.startswith("latest-of:") or kind == "repository":
        name = href[len("latest-of:"):] if href.startswith("latest-of:") else repositories.get(href, href)
        return "repository %s, its latest version" % name
    if kind == "publication":
        version = publication_version(href) if publication_version else None
        named = _version_name(version, repositories)
        return "publication of %s version %s" % named if named else "publication %s" % href
    named = _version_name(href, repositories)
    return "repository %s, version %s" % named if named else serves


def _version_name(href, repositories):
    """'<repository href>versions/3/' -> (repository name, '3'), or None."""
    repository, marker, number = (href or "").rstrip("/").rpartition("/versions/")
    name = repositories.get(repository + "/") if marker else None
    return (name, number) if name is not None else None


def _served_content(snapshot):
    """{base_path: what it serves}, a distribution that points at its repository as that repository's latest version."""
    latest = dict((r["href"], r.get("latest_version")) for r in snapshot.get("repositories", []) if r.get("href"))
    served = {}
    for dist in snapshot.get("distributions", []):
        serves = dist.get("serves") or ""
        if serves.startswith("repository:"):
            serves = "version:%s" % latest.get(serves[len("repository:"):])
        served[dist["base_path"]] = serves
    return served


def switch_report(before, after, upstream):
    """(switched, not switched): the upstream base_paths whose downstream distribution changed what it
    serves (or appeared) between two snapshots, and the others. What a failed run left on a server
    without atomic finalize, where each distribution switches as its own sync finishes."""
    old, new = _served_content(before), _served_content(after)
    paths = sorted(set(u["base_path"] for u in upstream.get("distributions", []) if serves_something(u)))
    switched = [p for p in paths if p in new and new[p] != old.get(p)]
    return switched, [p for p in paths if p not in switched]


def readable_view(snapshot, repositories, publication_version=None):
    """``distributions_view`` with what each distribution serves in words (the --diff of replicate)."""
    view = distributions_view(snapshot)
    for entry in view.values():
        entry["serves"] = describe_serves(entry["serves"], repositories, publication_version)
    return view


# ------------------------------------------------------------------ the plan
class _Domain(object):
    """A mutable copy of a downstream snapshot with name/base_path indexes."""

    def __init__(self, snapshot):
        self.objects = dict((kind, [copy.deepcopy(o) for o in snapshot.get(kind, [])]) for kind in OBJECT_KINDS)
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
        return dict((kind, [dict((k, v) for k, v in o.items() if not k.startswith("_")) for o in self.objects[kind]]) for kind in OBJECT_KINDS)


def compute_plan(upstream, downstream, upstream_pulp, request_q_select=None, reconcile=False, on_foreign="ignore",
                 label_key=None, replicated_types=None):
    """The plan of one replication.

    ``upstream``/``downstream``: snapshots (``upstream_snapshot``/``downstream_snapshot``);
    ``upstream_pulp``: ``snapshot.upstream_pulp_view(...)``; ``request_q_select``: the per-request filter (the upstream
    snapshot must already be filtered by it); ``reconcile``: plan the reconcile steps and predict
    the run after them; ``on_foreign='adopt'``: predict the run after labeling foreign objects.
    """
    policy = upstream_pulp["policy"]
    pk = upstream_pulp["pk"] or "<new UpstreamPulp>"
    key = label_key or detect_label_key(downstream, upstream_pulp["pk"])
    label = {key: pk}
    types = replicated_types
    if types is None:
        types = sorted(set(d["type"] for d in upstream["distributions"]))

    conflicts = find_conflicts(upstream, downstream, upstream_pulp, key, types)
    cycles = find_cycles(upstream, downstream, upstream_pulp, key, types)
    steps = reconcile_steps(upstream, downstream, upstream_pulp, key, types, cycles) if reconcile else []
    adopt = adopt_steps(conflicts, key, pk, upstream_pulp.get("base_path_reuse", True)) if on_foreign == "adopt" else []
    prepared = predict_steps(downstream, steps + adopt)
    moved = renamed_or_moved(upstream, downstream)
    predicted, outcome = simulate(upstream, prepared, upstream_pulp, label, request_q_select, types, moved)
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
        # False before pulpcore 3.107: each distribution switches as its own sync finishes.
        "atomic": upstream_pulp.get("atomic_finalize", True),
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


def _managed(obj, policy, key, pk):
    return policy != "labeled" or owned(obj, key, pk)


def _wanted(upstream, types):
    return [u for u in upstream["distributions"] if u["type"] in types]


def find_conflicts(upstream, downstream, upstream_pulp, key, types):
    """Objects on a wanted name or base_path that this UpstreamPulp does not own.

    Each: {kind, name, base_path, wanted_by, owner, reason, effect}. ``effect`` says what the
    server would do with it under the policy.
    """
    policy, pk = upstream_pulp["policy"], upstream_pulp["pk"]
    domain = _Domain(downstream)
    conflicts = []
    seen = set()
    wanted = [u for u in _wanted(upstream, types) if serves_something(u)]
    wanted_names = set(u["name"] for u in wanted)
    for u in wanted:
        plugin = plugin_of(u["type"])
        for kind in OBJECT_KINDS:
            obj = domain.named(kind, u["name"])
            if obj is None or owned(obj, key, pk) or (kind, obj["name"]) in seen:
                continue
            if plugin_of(obj["type"]) != plugin or (kind == "distributions" and obj["type"] != u["type"]):
                effect = "fails: the name is held by an object of another type"
            elif policy == "labeled":
                effect = ("skipped: its content is switched to the replicated repository" if kind == "distributions"
                          else "skipped: the upstream distribution is not replicated")
            else:
                effect = "taken over: relabeled and overwritten"
            seen.add((kind, obj["name"]))
            conflicts.append({"kind": SINGULAR[kind], "name": obj["name"], "href": obj.get("href"), "clash": "name",
                              "base_path": obj.get("base_path"), "wanted_by": u["name"], "owner": owner_text(obj, key),
                              "reason": "name '%s' is wanted by upstream distribution '%s'" % (obj["name"], u["name"]),
                              "effect": effect})
        holder = domain.overlapping(u["base_path"])
        if holder is not None and holder["name"] != u["name"] and not owned(holder, key, pk) \
                and ("distributions", holder["name"]) not in seen:
            same = holder["base_path"] == u["base_path"] and holder["type"] == u["type"]
            if policy != "labeled" and same and upstream_pulp.get("base_path_reuse", True):
                effect = "taken over: renamed to '%s', relabeled, its content replaced" % u["name"]
            else:
                effect = "fails: base_path taken, PLP0018 and nothing switches"
            seen.add(("distributions", holder["name"]))
            conflicts.append({"kind": "distribution", "name": holder["name"], "href": holder.get("href"),
                              "base_path": holder["base_path"], "clash": "base_path", "type": holder["type"],
                              "wanted_type": u["type"], "wanted_base_path": u["base_path"],
                              "wanted_by": u["name"], "owner": owner_text(holder, key),
                              "reason": "base_path '%s' is wanted by upstream distribution '%s'" % (u["base_path"], u["name"]),
                              "effect": effect})
    if policy == "all":
        for kind in OBJECT_KINDS:
            for obj in domain.objects[kind]:
                if plugin_of(obj["type"]) not in set(plugin_of(t) for t in types) or obj["name"] in wanted_names:
                    continue
                if not owned(obj, key, pk) and (kind, obj["name"]) not in seen:
                    seen.add((kind, obj["name"]))
                    conflicts.append({"kind": SINGULAR[kind], "name": obj["name"], "href": obj.get("href"),
                                      "base_path": obj.get("base_path"), "clash": None,
                                      "wanted_by": None, "owner": owner_text(obj, key),
                                      "reason": "policy 'all' deletes every %s of the replicated types that upstream lacks" % SINGULAR[kind],
                                      "effect": "deleted"})
    return conflicts


def find_cycles(upstream, downstream, upstream_pulp, key, types):
    """Managed downstream distributions trading base_paths (swap, rotation): the server cannot apply them.

    Each cycle is a list of {name, base_path, to} in order.
    """
    policy, pk = upstream_pulp["policy"], upstream_pulp["pk"]
    domain = _Domain(downstream)
    wants = {}
    for u in _wanted(upstream, types):
        if not serves_something(u):
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


def reconcile_steps(upstream, downstream, upstream_pulp, key, types, cycles=None):
    """The renames that let the server only switch content (never moving a base_path).

    Upstream rename (same base_path, new name): rename the downstream distribution,
    repository and remote to the new name. Base_path cycle: rename the distributions through
    temporary names so each base_path's distribution carries the name its base_path has
    upstream. Steps: [{action: 'rename', kind, from, to, href, why}] in order.
    """
    pk = upstream_pulp["pk"]
    domain = _Domain(downstream)
    if cycles is None:
        cycles = find_cycles(upstream, downstream, upstream_pulp, key, types)
    wanted = [u for u in _wanted(upstream, types) if serves_something(u)]
    upstream_names = set(u["name"] for u in upstream["distributions"])
    steps = []
    for u in wanted:
        if domain.named("distributions", u["name"]) is not None:
            continue
        dist = domain.at_base_path(u["base_path"])
        if dist is None or dist["type"] != u["type"] or not owned(dist, key, pk) or dist["name"] in upstream_names:
            continue
        old = dist["name"]
        for kind in OBJECT_KINDS:
            obj = domain.named(kind, old)
            if obj is None or not owned(obj, key, pk) or domain.named(kind, u["name"]) is not None:
                continue
            steps.append({"action": "rename", "kind": SINGULAR[kind], "from": old, "to": u["name"], "href": obj["href"],
                          "why": "upstream renamed '%s' to '%s' on base_path '%s'" % (old, u["name"], u["base_path"])})
            obj["name"] = u["name"]
    by_base_path = dict((u["base_path"], u["name"]) for u in wanted)
    for index, cycle in enumerate(cycles):
        members = [domain.named("distributions", item["name"]) for item in cycle]
        if any(m is None or not owned(m, key, pk) for m in members):
            continue
        if len(set(m["type"] for m in members)) > 1:
            steps.extend(_cycle_moves(index, members, dict((item["name"], item["to"]) for item in cycle)))
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


def _cycle_moves(index, members, targets):
    """A cycle of distributions of different types (an rpm and a file distribution trading base_paths):
    renames cannot help (a name's type is fixed), so each distribution moves to its base_path, the first
    one through a temporary base_path. Each base_path is unserved between two of these PATCHes."""
    steps = []

    def move(member, to, why):
        steps.append({"action": "move", "kind": "distribution", "name": member["name"], "from": member["base_path"],
                      "to": to, "href": member["href"], "why": why})
        member["base_path"] = to

    first = members[0]
    move(first, "pulpops-reconcile-%d-%s" % (index, first["name"]), "base_path cycle across types: temporary base_path")
    for member in reversed(members[1:]):
        move(member, targets[member["name"]], "base_path cycle across types: '%s' serves '%s' upstream"
             % (targets[member["name"]], member["name"]))
    move(first, targets[first["name"]], "base_path cycle across types: '%s' serves '%s' upstream"
         % (targets[first["name"]], first["name"]))
    return steps


def adopt_steps(conflicts, key, pk, base_path_reuse=True):
    """Label each foreign object on a wanted name or base_path so replication takes it over.

    A server without base-path reuse (pulpcore < 3.113) cannot take over a distribution at an
    upstream's base_path under another name: the adopted distribution is also renamed to the
    upstream's name (then the server updates it in place).
    """
    steps = []
    named = set(c["wanted_by"] for c in conflicts if c.get("clash") == "name" and c["kind"] == "distribution")
    for conflict in conflicts:
        if conflict.get("wanted_by") is None or conflict["effect"].startswith("fails: the name is held"):
            continue
        steps.append({"action": "label", "kind": conflict["kind"], "name": conflict["name"], "href": conflict.get("href"),
                      "key": key, "value": pk,
                      "why": conflict["reason"]})
        if not base_path_reuse and conflict.get("clash") == "base_path" and conflict["wanted_by"] not in named \
                and conflict.get("type") == conflict.get("wanted_type") \
                and conflict["base_path"] == conflict.get("wanted_base_path"):
            steps.append({"action": "rename", "kind": "distribution", "from": conflict["name"], "to": conflict["wanted_by"],
                          "href": conflict.get("href"),
                          "why": "adopted at base_path '%s': this server (pulpcore < 3.113) takes over a distribution "
                                 "by name only" % conflict["base_path"]})
    return steps


def predict_steps(snapshot, steps):
    """The snapshot as it will be after ``steps`` (renames, labels): pure."""
    result = copy.deepcopy(snapshot)
    for step in steps:
        kind = PLURAL[step["kind"]]
        match = step.get("from") if step["action"] == "rename" else step.get("name")  # move: by href
        # Renames through temporary names reuse one href: match by href when the step has one.
        for obj in result.get(kind, []):
            if (step.get("href") and obj.get("href") == step["href"]) or (not step.get("href") and obj["name"] == match):
                if step["action"] == "rename":
                    obj["name"] = step["to"]
                elif step["action"] == "move":
                    obj["base_path"] = step["to"]
                else:
                    obj["labels"] = dict(obj.get("labels") or {}, **{step["key"]: step["value"]})
                break
    return result


def _requires_syncing(u, upstream_pulp):
    """The server's rule (Replicator.requires_syncing)."""
    since = parse_time(u.get("no_content_change_since"))
    last = parse_time(upstream_pulp.get("last_replication"))
    updated = parse_time(upstream_pulp.get("pulp_last_updated"))
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


def simulate(upstream, downstream, upstream_pulp, label, request_q_select=None, types=(), moved=()):
    """Run the server's algorithm on a copy of ``downstream``; return (predicted_after, outcome).

    ``outcome``: {skipped, failures, resync, remove_missing}. The steps are the server's:
    per type, sync each upstream distribution's remote and repository, then place its
    distribution, then remove what upstream lacks; finally, unless a task failed, switch every
    distribution to its repository's new version at once (finalize_replication). A server without
    atomic finalize (``upstream_pulp['atomic_finalize']`` False: pulpcore < 3.107) points each
    placed distribution at its repository as soon as its sync is done, failures elsewhere or not.
    """
    run = _ServerRun(downstream, upstream_pulp, label, moved,
                     remove_missing=request_q_select is None and upstream_pulp["policy"] != "nodelete")
    for type_path in types:
        run.replicate_type(type_path, [d for d in upstream["distributions"] if d["type"] == type_path])
    if run.atomic and not run.outcome["failures"]:
        run.switch_content()
    return run.domain.snapshot(), run.outcome


class _ServerRun(object):
    """pulpcore's replicate() replayed on a copy of the downstream domain."""

    def __init__(self, downstream, upstream_pulp, label, moved, remove_missing):
        self.domain = _Domain(downstream)
        self.upstream_pulp = upstream_pulp
        self.policy = upstream_pulp["policy"]
        self.pk = upstream_pulp["pk"] or "<new UpstreamPulp>"
        self.key = list(label)[0]
        self.label = label
        self.moved = moved
        self.atomic = upstream_pulp.get("atomic_finalize", True)
        self.outcome = {"skipped": [], "failures": [], "resync": [], "remove_missing": remove_missing}
        self.served = []  # (distribution name, its repository): what finalize switches

    def _fail(self, u, kind, error):
        self.outcome["failures"].append({"name": u["name"], "kind": kind, "error": error})

    def _skip(self, u, reason):
        self.outcome["skipped"].append({"name": u["name"], "reason": reason})

    def _managed(self, obj):
        return _managed(obj, self.policy, self.key, self.pk)

    def _claim(self, kind, u, type_path):
        """(usable, the object of ``kind`` named like ``u`` or None): the server stops at another plugin's
        object of that name (a failure) and at one this UpstreamPulp may not manage (a skip)."""
        obj = self.domain.named(kind, u["name"])
        what = SINGULAR[kind]
        if obj is not None and plugin_of(obj["type"]) != plugin_of(type_path):
            self._fail(u, what, "%s name '%s' is held by a %s %s" % (what, u["name"], obj["type"], what))
            return False, obj
        if obj is not None and not self._managed(obj):
            self._skip(u, "%s '%s' is not owned by this UpstreamPulp" % (what, u["name"]))
            return False, obj
        return True, obj

    def replicate_type(self, type_path, wanted):
        """One plugin type: remotes and repositories first, then distributions, then remove_missing."""
        synced = []
        for u in wanted:
            if not serves_something(u):
                self._skip(u, "serves nothing upstream")
                continue
            remote = self.sync_remote(u, type_path)
            repo = self.sync_repository(u, type_path, remote) if remote is not None else None
            if repo is not None:
                synced.append((u, repo))
        for u, repo in synced:
            self.place_distribution(u, repo)
        if self.outcome["remove_missing"]:
            self.remove_missing(type_path, set(u["name"] for u, _repo in synced))

    def sync_remote(self, u, type_path):
        """The remote of ``u`` after the server's create or update (None: the server stops there).

        ``remote["_url_changed"]`` says whether the server points it at a new URL.
        """
        usable, remote = self._claim("remotes", u, type_path)
        if not usable:
            return None
        if remote is None:
            return self.domain.add("remotes", {"name": u["name"], "type": type_path, "labels": dict(self.label),
                                               "url": u["base_url"], "_url_changed": False})
        remote["_url_changed"] = not (remote.get("url") or "").startswith(u["base_url"] or "")
        if remote["_url_changed"]:
            remote["url"] = u["base_url"]
        remote["labels"] = dict(self.label)
        return remote

    def sync_repository(self, u, type_path, remote):
        """The repository of ``u`` after the server's create or sync (None: the server stops there)."""
        usable, repo = self._claim("repositories", u, type_path)
        if not usable:
            return None
        if repo is None:
            repo = self.domain.add("repositories", {"name": u["name"], "type": type_path, "labels": dict(self.label),
                                                    "latest_version": None})
            new_content = True
        else:
            repo["labels"] = dict(self.label)
            new_content = self._sync_brings_content(u, remote["_url_changed"])
        if new_content:
            repo["latest_version"] = "new-version-of:%s" % repo["name"]
        return repo

    def _sync_brings_content(self, u, url_changed):
        """Whether syncing an existing repository makes a new version (else a resync may be due)."""
        if not _requires_syncing(u, self.upstream_pulp):
            return False
        since = parse_time(u.get("no_content_change_since"))
        last = parse_time(self.upstream_pulp.get("last_replication"))
        if since and (last is None or since > last) and u["name"] not in self.moved:
            return True
        if not url_changed:
            # A sync from a new URL (a moved upstream distribution) is due anyway; it brings the same content.
            self.outcome["resync"].append(u["name"])
        return False

    def place_distribution(self, u, repo):
        """Create, move or take over the distribution of ``u``; it serves ``repo`` once finalize runs
        (at once on a server without atomic finalize)."""
        dist = self.domain.named("distributions", u["name"])
        if dist is not None:
            if dist["type"] != u["type"]:
                self._fail(u, "distribution", "name '%s' is held by a %s distribution" % (u["name"], dist["type"]))
                return
            if self._managed(dist) and self._move(u, dist):
                dist["labels"] = dict(self.label)
                self._serve(dist, repo)
            elif self.atomic:  # finalize switches every distribution of the run by name, managed or not
                self.served.append((u["name"], repo))
            return
        # pulpcore >= 3.113 takes over (renames) its own distribution at the base_path; older servers
        # try to create a second one there, which fails (the reconcile phase renames first).
        found = self.domain.at_base_path(u["base_path"]) if self.upstream_pulp.get("base_path_reuse", True) else None
        if found is not None and found["type"] == u["type"] and self._managed(found):
            found["name"] = u["name"]
            found["labels"] = dict(self.label)
            self._serve(found, repo)
            return
        if self._base_path_free(u, None):
            self._serve(self.domain.add("distributions", {"name": u["name"], "type": u["type"], "base_path": u["base_path"],
                                                          "labels": dict(self.label), "serves": None, "base_url": None}),
                        repo)

    def _serve(self, dist, repo):
        """What the server's distribution create/update sets: before atomic finalize, the repository itself."""
        if self.atomic:
            self.served.append((dist["name"], repo))
        else:
            dist["serves"] = "repository:%s" % (repo["href"] or "new-repository:%s" % repo["name"])

    def _move(self, u, dist):
        """Give ``dist`` the upstream's base_path; False when another distribution holds it."""
        if dist["base_path"] == u["base_path"]:
            return True
        if not self._base_path_free(u, dist):
            return False
        dist["base_path"] = u["base_path"]
        return True

    def _base_path_free(self, u, dist):
        holder = self.domain.overlapping(u["base_path"], exclude=dist)
        if holder is not None:
            self._fail(u, "distribution", "base_path '%s' is taken by distribution '%s'" % (u["base_path"], holder["name"]))
        return holder is None

    def remove_missing(self, type_path, kept):
        """Delete what the policy manages of this type and upstream lacks (remote, repository: the plugin's)."""
        for kind in OBJECT_KINDS:
            for obj in list(self.domain.objects[kind]):
                same_type = obj["type"] == type_path if kind == "distributions" else plugin_of(obj["type"]) == plugin_of(type_path)
                if same_type and obj["name"] not in kept and (self.policy == "all" or owned(obj, self.key, self.pk)):
                    self.domain.remove(kind, obj)

    def switch_content(self):
        """finalize_replication: every placed distribution serves its repository's latest version."""
        for name, repo in self.served:
            dist = self.domain.named("distributions", name)
            if dist is None:
                continue
            target = "version:%s" % repo["latest_version"] if repo["latest_version"] else "version:latest-of:%s" % repo["name"]
            if dist["serves"] != target:
                dist["serves"] = target
