# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a replication's task group did: when it is over, how long each task took, which objects failed.

pulpcore runs a replication as a task group: one task per distribution (sync, create or
update) and finalize_replication, which switches every distribution at once, or nothing
when a task failed (PLP0018). A failed task names its objects only by the UUIDs of its
reserved resources: they are mapped back to 'repository demo-0001' from the snapshots.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.pulpops.replication.plugins.module_utils.client import (
    TASK_ACTIVE_STATES,
    TASK_ERROR_STATES,
    task_error_text,
)
from ansible_collections.pulpops.replication.plugins.module_utils.snapshot import OBJECT_KINDS, SINGULAR
from ansible_collections.pulpops.replication.plugins.module_utils.timestamps import parse_time, seconds_between

FINALIZE_TASK = "finalize_replication"
# What this report reads of each task of a finished group: its name and state, its times and, for a failed
# one, its error and reserved resources (which name the object it failed on).
REPORT_TASK_FIELDS = "pulp_href,name,state,started_at,finished_at,error,reserved_resources_record"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# A failed task reserves its distribution, repository and remote: it is named after the first of them.
_NAMING_ORDER = {"distribution": 0, "repository": 1, "remote": 2}
# A distribution's create or update reserves the domain's distributions lock (pdrn:<domain>:distributions),
# not the distribution, and shares the repository of the same name.
_DISTRIBUTION_WRITES = ("general_create", "general_update", "ageneral_update")
_DISTRIBUTIONS_LOCK = re.compile(r"(^|:)distributions/?$")


def _subject(task, names):
    """(kind, name) of the object a failed subtask worked on, or (None, None)."""
    resources = task.get("reserved_resources_record") or []
    found = [names[uid] for resource in resources for uid in _UUID.findall(resource) if uid in names]
    found.sort(key=lambda item: _NAMING_ORDER.get(item[0], 9))
    if not found:
        return None, None
    writes_distribution = (task.get("name") or "").rsplit(".", 1)[-1] in _DISTRIBUTION_WRITES and any(
        _DISTRIBUTIONS_LOCK.search(resource.split("shared:", 1)[-1]) for resource in resources)
    if writes_distribution and found[0][0] != "distribution":
        return "distribution", found[0][1]
    return found[0]


def _is_finalize(task):
    return FINALIZE_TASK in (task.get("name") or "")


def group_finished(group, tasks):
    """No task waiting/running/canceling, and finalize_replication is there or a task failed."""
    if any(t.get("state") in TASK_ACTIVE_STATES for t in tasks):
        return False
    if any(_is_finalize(t) for t in tasks):
        return True
    return any(t.get("state") in TASK_ERROR_STATES for t in tasks)


def durations(tasks):
    """Per-task durations (seconds) and the group's wall time."""
    items = [{"task": t.get("pulp_href"), "name": t.get("name"), "state": t.get("state"),
              "seconds": seconds_between(t.get("started_at"), t.get("finished_at"))} for t in tasks]
    starts = [parse_time(t.get("started_at")) for t in tasks if t.get("started_at")]
    ends = [parse_time(t.get("finished_at")) for t in tasks if t.get("finished_at")]
    total = round((max(ends) - min(starts)).total_seconds(), 3) if starts and ends else None
    return {"total_seconds": total, "tasks": items}


def object_names(*snapshots):
    """{uuid: (kind, name)} for every object of the given snapshots."""
    names = {}
    for snap in snapshots:
        for kind in OBJECT_KINDS:
            for obj in snap.get(kind, []):
                match = _UUID.search(obj.get("href") or "")
                if match:
                    names[match.group(0)] = (SINGULAR[kind], obj["name"])
    return names


def failed_subtasks(tasks, names):
    """[{name, kind, task, task_name, error}] for each failed subtask (finalize excluded)."""
    result = []
    for task in tasks:
        if task.get("state") not in TASK_ERROR_STATES or _is_finalize(task):
            continue
        kind, name = _subject(task, names)
        result.append({"name": name, "kind": kind, "task": task.get("pulp_href"),
                       "task_name": (task.get("name") or "").rsplit(".", 1)[-1], "error": task_error_text(task)})
    return result


def group_failures(tasks, names):
    """The failed subtasks; when only finalize_replication failed, finalize itself as the one failure."""
    failed = failed_subtasks(tasks, names)
    if failed:
        return failed
    return [{"name": None, "kind": None, "task": t.get("pulp_href"), "task_name": FINALIZE_TASK,
             "error": task_error_text(t)} for t in tasks if _is_finalize(t) and t.get("state") in TASK_ERROR_STATES]


def failure_message(group_href, failed, atomic=True):
    """The message of a failed replication (``atomic``: the server switches everything or nothing, 3.107+)."""
    outcome = "finalize_replication switched nothing (PLP0018)" if atomic else "see below what switched"
    lines = ["Replication failed: %d subtask(s) failed; %s. Task group: %s" % (len(failed), outcome, group_href)]
    for item in failed:
        who = "%s '%s'" % (item["kind"], item["name"]) if item["name"] else "(object unknown)"
        lines.append("- %s %s: %s (%s)" % (item["task_name"], who, item["error"], item["task"]))
    return "\n".join(lines)
