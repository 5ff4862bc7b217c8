# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The replication record: what a verified replication leaves behind, and when a later run may skip.

What it holds: per upstream distribution in scope, two digests (``record_entries``): what
the upstream distribution serves (its fingerprint), and the whole state of that name on
both sides (the upstream's type, base_path and fingerprint; the downstream distribution,
repository and remote: href, base_path, content, url, owner). Beside them, the UpstreamPulp's
settings (``RECORD_GLOBALS``), the other UpstreamPulps of the domain (a digest) and the
role's settings tag.

When it is written (``record_problems``): only after the audit found the replica exact,
only when every upstream distribution can be fingerprinted, the UpstreamPulp has completed a
replication, the plan is empty, the downstream serves what replication leaves
(``serving_problems``), and the upstream still serves what the replication read before it
posted (a change in between is never recorded as replicated).

When a run may skip (``record_decision``): only when every in-scope distribution is provably
as recorded, upstream and downstream, nothing around it changed, and the plan changes
nothing. When only some distributions changed and nothing else did, replicating just those
(a per-request q_select) is safe. When in doubt: replicate everything.

The record lives in a content guard of the downstream domain (``guard_document``), named
after its UpstreamPulp so that two UpstreamPulps of one domain never share one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import re

from ansible_collections.pulpops.replication.plugins.module_utils.client import PulpError
from ansible_collections.pulpops.replication.plugins.module_utils.guard_document import GuardDocument, parse_document
from ansible_collections.pulpops.replication.plugins.module_utils.plan import (
    ATTENTION_KEYS,
    CHANGE_KEYS,
    nonempty_keys,
)
from ansible_collections.pulpops.replication.plugins.module_utils.snapshot import (
    OBJECT_KINDS,
    SINGULAR,
    owned,
)

RECORD_KIND = "pulpops.replication/replication-record"
RECORD_VERSION = 1
RECORD_NAME_PREFIX = "pulpops-replication-record-"
# The UpstreamPulp's settings a record is valid for: any change means "replicate everything".
RECORD_GLOBALS = ("upstream_pulp", "pulp_last_updated", "last_replication", "policy", "q_select")
# Plan keys a partial replication may carry (for the changed distributions only); any other key blocks it.
PARTIAL_KEYS = ("create", "update")
# What a per-request q_select may carry in a quoted name list (pulpcore's filter grammar).
_UNQUOTABLE = re.compile(r'[",\\]')


# ------------------------------------------------------------------ where it lives
def record_name(pk):
    """The content guard that holds the record of UpstreamPulp ``pk`` (never the lock's name)."""
    return RECORD_NAME_PREFIX + pk


def _is_record(document):
    return isinstance(document.get("distributions"), dict)


def record_document(client, pk):
    """The record of UpstreamPulp ``pk`` in ``client``'s domain, as a guard document."""
    return GuardDocument(client, record_name(pk), RECORD_KIND, version=RECORD_VERSION, valid=_is_record)


def parse_record(text):
    """The record in a guard's description, or None when it is not one of ours."""
    return parse_document(text, RECORD_KIND, RECORD_VERSION, _is_record)


def foreign_guard_problem(name):
    """Why no record is written: the guard of the record's name holds something else."""
    return "content guard '%s' exists and holds no record: rename or delete it" % name


def read_record(client, pk):
    """(guard, record): (None, None) when there is no guard, (guard, None) when it holds something else."""
    return record_document(client, pk).read()


def write_record(client, pk, record, guard=None):
    """Create the record guard, or replace the record in it; a guard of that name holding anything else is an error."""
    document = record_document(client, pk)
    if guard is None:
        created = document.create(record)
        if created is not None:
            return created
        guard, found = document.read()
        if guard is None or found is None:
            raise PulpError(foreign_guard_problem(record_name(pk)))
    return document.replace(guard, record)


# ------------------------------------------------------------------ what it holds
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
    by_name = dict((kind, dict((o["name"], o) for o in downstream.get(kind, []))) for kind in OBJECT_KINDS)
    entries = {}
    for u in upstream["distributions"]:
        fingerprint = upstream_fingerprint(u, latest_versions)
        up = [u["type"], u["base_path"], fingerprint]
        down = []
        for kind in OBJECT_KINDS:
            obj = by_name[kind].get(u["name"])
            down.append(None if obj is None else [obj.get("href"), obj.get("type"), obj.get("base_path"), obj.get("serves"),
                                                  obj.get("latest_version"), obj.get("url"),
                                                  (obj.get("labels") or {}).get(label_key)])
        entries[u["name"]] = [_digest(up) if fingerprint is not None else None, _digest([up, down])]
    return entries


def fingerprints(entries):
    """{name: upstream digest} of record entries: what the upstream served when they were read."""
    return dict((name, entry[0]) for name, entry in entries.items())


def neighbours_digest(neighbours):
    return _digest(sorted([n.get("name"), n.get("policy"), n.get("q_select"), n.get("domain")] for n in neighbours or []))


def make_record(upstream_pulp, entries, tag=None, neighbours=None, written_at=None):
    """The record of a verified replication, as stored in the record guard's description."""
    record = {"kind": RECORD_KIND, "version": RECORD_VERSION, "tag": tag, "neighbours": neighbours_digest(neighbours),
              "written_at": written_at, "distributions": entries}
    record["upstream_pulp"] = upstream_pulp.get("pk")
    for key in RECORD_GLOBALS[1:]:
        record[key] = upstream_pulp.get(key)
    return record


def record_differs(existing, record):
    """Whether writing ``record`` over ``existing`` changes what the record says (its time aside)."""
    return existing is None or existing.get("distributions") != record["distributions"] or any(
        existing.get(k) != record.get(k) for k in RECORD_GLOBALS + ("tag", "neighbours"))


# ------------------------------------------------------------------ when it is written
def record_problems(upstream_pulp, entries, plan=None, read_before=None, serving=()):
    """Why the current state must not be recorded as verified (empty: it may).

    ``serving``: ``serving_problems`` of the downstream now; ``plan``: the plan of the state
    now (it must be empty); ``read_before``: the upstream fingerprints the replication read
    before it posted (the upstream must still serve them).
    """
    problems = []
    unknown = sorted(name for name, entry in entries.items() if entry[0] is None)
    if unknown:
        problems.append("the upstream content of %s cannot be fingerprinted" % names_text(unknown))
    if not upstream_pulp.get("last_replication"):
        problems.append("the UpstreamPulp has never completed a replication")
    problems.extend(serving)
    for key in nonempty_keys(plan or {}):
        problems.append("the plan is not empty (%s)" % key)
    if read_before is not None:
        current = fingerprints(entries)
        moved = sorted(n for n in set(read_before) | set(current) if read_before.get(n) != current.get(n))
        if moved:
            problems.append("upstream changed since the replication read it: %s" % names_text(moved))
    return problems


def serves_latest(dist, repo):
    """Whether a distribution serves its repository's latest version: pinned to it (pulpcore >= 3.107's
    finalize) or pointing at the repository itself (older servers)."""
    if not repo.get("latest_version"):
        return False
    return dist.get("serves") in ("version:" + repo["latest_version"], "repository:%s" % repo.get("href"))


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
        elif not (owned(dist, label_key, pk) and owned(repo, label_key, pk)):
            problems.append("'%s' is not owned by UpstreamPulp %s downstream" % (u["name"], pk))
        elif not serves_latest(dist, repo):
            problems.append("'%s' does not serve its repository's latest version" % u["name"])
    return problems


# ------------------------------------------------------------------ when a run may skip
def record_decision(record, upstream_pulp, entries, plan, tag=None, neighbours=None, partial_supported=True,
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
    if record is None:
        decision["reasons"].append("no record of a verified replication of this UpstreamPulp in the domain")
        return decision
    settings = settings_changes(record, upstream_pulp, tag, neighbours)
    removed, added, changed = distribution_changes(record, entries)
    decision["reasons"] = settings + run_reasons(plan, request_q_select) + _distribution_reasons(removed, added, changed)
    decision["changed"] = sorted(added + changed)
    decision["resync"] = recreated_repositories(record, entries, plan, changed)
    decision["unchanged"] = not decision["reasons"]
    if partial_supported and not settings and not removed and request_q_select is None:
        decision["partial_q_select"] = partial_q_select(upstream_pulp, entries, plan, decision["changed"])
    return decision


def settings_changes(record, upstream_pulp, tag, neighbours):
    """What changed around the distributions since the record: the UpstreamPulp, the settings tag, the neighbours."""
    reasons = []
    for key in RECORD_GLOBALS:
        ours = upstream_pulp.get("pk") if key == "upstream_pulp" else upstream_pulp.get(key)
        if record.get(key) != ours:
            reasons.append("the UpstreamPulp's %s changed since the record (%r, now %r)" % (key, record.get(key), ours))
    if tag is not None and record.get("tag") != tag:
        reasons.append("the settings changed since the record (tag differs)")
    if record.get("neighbours") != neighbours_digest(neighbours):
        reasons.append("the other UpstreamPulps of the domain changed since the record")
    return reasons


def run_reasons(plan, request_q_select):
    """Why this run must replicate whatever the record says: a narrowed run, or a plan that is not empty."""
    reasons = ["a per-request q_select narrows this run"] if request_q_select is not None else []
    for key in CHANGE_KEYS:
        if plan.get(key):
            reasons.append("the plan would %s %s" % (key, _plan_names(plan[key])))
    for key in ATTENTION_KEYS:
        if plan.get(key):
            reasons.append("the plan has %d %s" % (len(plan[key]), key))
    return reasons


def distribution_changes(record, entries):
    """(removed, added, changed) distribution names: upstream gone, upstream new, state differs from the record.

    A distribution whose upstream content cannot be fingerprinted counts as changed.
    """
    recorded = record["distributions"]
    removed = sorted(set(recorded) - set(entries))
    added = sorted(set(entries) - set(recorded))
    changed = sorted(n for n in entries if n in recorded and (entries[n][0] is None or list(recorded[n]) != list(entries[n])))
    return removed, added, changed


def _distribution_reasons(removed, added, changed):
    reasons = []
    if removed:
        reasons.append("upstream no longer has %s" % names_text(removed))
    if added:
        reasons.append("upstream has new %s" % names_text(added))
    if changed:
        reasons.append("%s changed since the record" % names_text(changed))
    return reasons


def recreated_repositories(record, entries, plan, changed):
    """Changed distributions whose downstream repository the run creates again while the upstream is as recorded.

    The server never syncs those (requires_syncing looks at the upstream only): they need a forced resync.
    """
    recreated = set(((plan.get("create") or {}).get("repositories")) or [])
    recorded = record["distributions"]
    return sorted(n for n in changed if n in recreated and recorded[n][0] == entries[n][0])


def partial_q_select(upstream_pulp, entries, plan, changed):
    """A per-request q_select naming only the changed distributions, or None when that is not safe.

    Safe only when some but not all distributions changed, the plan would create or update
    nothing else, would delete or rename nothing, has nothing to reconcile or refuse, and
    every changed name can be quoted in pulpcore's filter grammar.
    """
    if not changed or len(changed) >= len(entries) or any(_UNQUOTABLE.search(n) for n in changed):
        return None
    if any(key not in PARTIAL_KEYS for key in nonempty_keys(plan)):
        return None
    planned = set()
    for key in PARTIAL_KEYS:
        for items in (plan.get(key) or {}).values():
            planned.update(items)
    if not planned <= set(changed):
        return None
    clause = 'name__in="%s"' % ",".join(changed)
    stored = upstream_pulp.get("q_select")
    return "(%s) AND %s" % (stored, clause) if stored else clause


# ------------------------------------------------------------------ text
def names_text(names, limit=5):
    shown = ", ".join("'%s'" % n for n in names[:limit])
    return shown + (" and %d more" % (len(names) - limit) if len(names) > limit else "")


def _plan_names(value):
    if isinstance(value, dict):
        names = []
        for kind, items in sorted(value.items()):
            listed = sorted(items) if isinstance(items, dict) else items
            names.extend("%s %s" % (SINGULAR.get(kind, kind), i if not isinstance(i, dict) else i.get("to")) for i in listed)
        return names_text(names, 3)
    return names_text([str(v) for v in value], 3)
