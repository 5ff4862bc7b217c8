#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: replicate
short_description: Run one replication of a downstream Pulp domain from one UpstreamPulp, with a plan first
version_added: 0.1.0
author: pulpops.replication contributors (@pulpops)
description:
  - Reads the upstream's distributions (in the scope the server would use) and the downstream
    domain's distributions, repositories and remotes, and computes the plan of the replication
    (create, update, rename, delete, unchanged, conflicts, base_path cycles) by simulating the
    server's algorithm. In check mode the plan is the result.
  - In a real run it optionally applies reconcile steps (renames that keep every base_path
    serving), POSTs C(replicate/), waits for the task group and reports what changed from a
    before/after snapshot of the domain, per-task durations, and every failed subtask.
  - Works for every plugin type both servers have a replicator for, not only file.
extends_documentation_fragment:
  - pulpops.replication.connection
  - pulpops.replication.upstream_read
  - pulpops.replication.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  base_url:
    description:
      - The upstream's base URL, used only when the UpstreamPulp does not exist yet (check mode
        of a play that would create it). Otherwise the UpstreamPulp's value is used.
      - Credentials written into the URL are refused; give them in O(upstream_username) and O(upstream_password).
    type: str
  api_root:
    description: The upstream's API root, when the UpstreamPulp does not exist yet.
    type: str
  domain:
    description: The upstream's domain, when the UpstreamPulp does not exist yet.
    type: str
  policy:
    description:
      - The policy to plan with when the UpstreamPulp does not exist yet (pulpcore >= 3.73).
    type: str
    choices: [all, labeled, nodelete]
  q_select:
    description:
      - A per-request filter over the upstream distributions (pulpcore >= 3.113). With it the
        server deletes nothing (remove_missing is skipped).
      - An empty string is refused (pulpcore reads it as no filter).
    type: str
  wait:
    description: Wait for the replication's task group to finish.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for the task group.
    type: int
    default: 3600
  poll_interval:
    description:
      - Longest pause between two polls of the task group, in seconds. The pauses start at 0.1 s
        and grow to this value. Each poll is one request for the group's counts of active tasks (a few
        fields); once no task is active, the group and its tasks are read. The replica role passes
        C(replica_poll_interval).
    type: float
    default: 2
  mode:
    description:
      - V(replicate) plans and replicates; V(reconcile) applies only the reconcile steps
        (and adopt labels) and returns.
      - V(record) writes the record of a verified replication (see O(skip_unchanged)) and
        replicates nothing. Use it only once the replica was verified (the replica role writes
        it after its exactness audit passed). It refuses, with C(record_problems), when the
        downstream does not serve what a finished replication leaves, when the plan is not
        empty, or when the upstream changed since O(fingerprints) were read.
    type: str
    choices: [replicate, reconcile, record]
    default: replicate
  skip_unchanged:
    description:
      - Compare the upstream's content fingerprints and the downstream's objects with the record
        of the last verified replication (a content guard named
        C(pulpops-replication-record-<UpstreamPulp pk>) in the domain). When every in-scope
        distribution is provably unchanged and the plan changes nothing, post nothing and
        return C(skipped_reason), with C(changed=false).
      - When only some distributions changed, nothing must be deleted or renamed and the server
        is pulpcore >= 3.113, replicate just those with a per-request q_select
        (C(plan.partial_q_select)). Otherwise replicate in full. When in doubt, it replicates.
      - A downstream repository deleted by hand while its upstream content stayed the same is
        never synced again by the server on its own; such a run also forces a resync (as
        O(force_resync)) of the distributions it replicates.
      - Ignored with O(force_resync).
    type: bool
    default: false
  record_tag:
    description:
      - An opaque value stored in the record; with O(skip_unchanged), a record with another tag
        never allows a skip. The replica role passes a digest of its UpstreamPulp settings.
    type: str
  fingerprints:
    description:
      - With O(mode=record), the upstream fingerprints (C(fingerprints) of the run that
        replicated); the record is written only when the upstream still serves exactly those.
    type: dict
  reconcile:
    description:
      - In O(mode=replicate), apply the reconcile steps before replicating. Upstream rename (same
        base_path, new name) renames the downstream distribution, repository and remote;
        a base_path swap or rotation renames the distributions through temporary names. Renames
        never move a base_path.
    type: bool
    default: false
  on_foreign:
    description:
      - What to do with objects this UpstreamPulp does not own that sit on a wanted name or base_path.
      - V(ignore) reports them as conflicts and lets the server act.
      - V(fail) refuses before any write, naming each one.
      - V(skip) replicates the rest with a per-request q_select that leaves out the conflicting
        upstream distributions (pulpcore >= 3.113; nothing is deleted then).
      - V(adopt) labels them with this UpstreamPulp's label first, so replication takes them over.
    type: str
    choices: [ignore, fail, skip, adopt]
    default: ignore
  force_resync:
    description:
      - Make this run sync every repository again, even those whose upstream content did not change.
      - Repairs a downstream repository that was deleted and recreated empty, which the server never
        resyncs by itself. Done by a PATCH of the UpstreamPulp that changes no value (the server
        resyncs everything after any PATCH), so the run is slower; use it for repairs only.
    type: bool
    default: false
notes:
  - Needs pulpcore >= 3.73 on the downstream (replication labels what it creates with its UpstreamPulp and
    honours a policy from that version on); an older server fails before anything is read or changed.
  - Check mode returns the plan; with C(--diff) also the domain's distributions before and after.
  - Upstream distributions that serve a repository are synced on every run (the server cannot tell
    whether their content changed); the plan lists them under C(plan.resync) and predicts no content change.
  - In check mode on a local connection (no become, no async, no task C(environment)) the action plugin
    runs the same code in the controller process instead of starting a module process, which saves about
    a second per task. Set the variable C(pulpops_replication_in_process=false) to run the module process
    anyway. Real runs always run as a module.
"""

EXAMPLES = r"""
- name: Show what a replication would do
  pulpops.replication.replicate:
    pulp_url: https://pulp-down.example.com
    username: admin
    password: "{{ pulp_password }}"
    upstream: main-upstream
    upstream_username: reader
    upstream_password: "{{ upstream_password }}"
  check_mode: true
  register: plan

- name: Replicate only when something changed since the last verified replication
  pulpops.replication.replicate:
    pulp_url: https://pulp-down.example.com
    username: admin
    password: "{{ pulp_password }}"
    upstream: main-upstream
    upstream_username: reader
    upstream_password: "{{ upstream_password }}"
    skip_unchanged: true
  register: run

- name: Replicate, renaming first what upstream renamed or swapped
  pulpops.replication.replicate:
    pulp_url: https://pulp-down.example.com
    username: admin
    password: "{{ pulp_password }}"
    upstream: main-upstream
    upstream_username: reader
    upstream_password: "{{ upstream_password }}"
    reconcile: true
    on_foreign: fail
"""

RETURN = r"""
plan:
  description:
    - The plan (create, update, rename, delete, unchanged, conflicts, cycles, reconcile, summary, ...).
    - C(fails) is true when the server's replication is predicted to fail (then a real run is refused
      before any write); C(failures) names each predicted failure and C(unsupported) each option the
      downstream's pulpcore lacks for this run (option, needs, server_version, message).
    - C(atomic) is false on pulpcore before 3.107, where each distribution switches as its own sync finishes.
    - C(unreplicable) lists, per plugin the downstream lacks, the upstream's distributions in scope
      that cannot be replicated (plugin, type, distributions); a warning says so.
    - With O(on_foreign=skip), C(excluded) names the upstream distributions left out.
  returned: always
  type: dict
switched:
  description: Upstream base_paths whose downstream distribution serves other content after a failed run (pulpcore before 3.107 only).
  returned: when the run failed on a server without atomic finalize
  type: list
  elements: str
not_switched:
  description: The other upstream base_paths of such a run.
  returned: when the run failed on a server without atomic finalize
  type: list
  elements: str
changes:
  description: What changed, from before/after snapshots of the domain; same shape as the plan's create/update/rename/delete.
  returned: when the run waited
  type: dict
unchanged:
  description: Distributions the run left as they were.
  returned: when the run waited
  type: list
  elements: str
task_group:
  description: Href of the replication's task group.
  returned: when replicate was posted
  type: str
neighbours:
  description: The other UpstreamPulps of the domain (C(name), C(policy), C(q_select), C(base_url), C(domain)).
  returned: always
  type: list
  elements: dict
upstream_exists:
  description:
    - Whether the UpstreamPulp O(upstream) existed when the plan was read. Without it, the plan is that of an
      UpstreamPulp created with the options given (O(base_url), O(policy)), which owns nothing yet.
  returned: always, but with O(mode=record)
  type: bool
forced_resync:
  description: True when O(force_resync) made the server resync everything.
  returned: when O(force_resync) was applied
  type: bool
failed_tasks:
  description: One item per failed subtask, with the object's name and the server's error.
  returned: always
  type: list
  elements: dict
durations:
  description: The task group's wall time and per-task durations.
  returned: when the run waited
  type: dict
skipped:
  description: Upstream distributions the server skips (serving nothing, name held by a foreign remote or repository).
  returned: always
  type: list
  elements: dict
conflicts:
  description: Objects this UpstreamPulp does not own on a wanted name or base_path, or that policy all would delete.
  returned: always
  type: list
  elements: dict
applied:
  description: Reconcile and adopt steps that were applied.
  returned: when not in check mode
  type: list
  elements: dict
pending:
  description: Tasks still running when the wait timed out.
  returned: on timeout
  type: list
  elements: dict
elapsed:
  description: Seconds this call took, from reading both servers to the end of the wait (the role reports it as its check phase).
  returned: success
  type: float
wait_seconds:
  description: Seconds from the POST to the end of the wait.
  returned: when replicate was posted
  type: float
unchanged_since_record:
  description: True when nothing changed since the recorded verified replication (nothing was posted then).
  returned: with O(skip_unchanged)
  type: bool
skipped_reason:
  description: Why the replication was skipped.
  returned: when O(skip_unchanged) skipped the replication
  type: str
fingerprints:
  description: Per upstream distribution in scope, a digest of the content it serves, read before the POST (for O(mode=record)).
  returned: with O(skip_unchanged), and in real runs before replicate is posted
  type: dict
partial:
  description: True when only the changed distributions were replicated (per-request q_select C(plan.partial_q_select)).
  returned: when a partial replication was posted
  type: bool
record_written:
  description: Whether the record was written.
  returned: with O(mode=record)
  type: bool
record_problems:
  description: Why the record was not written (empty when it was).
  returned: with O(mode=record)
  type: list
  elements: str
record_name:
  description: Name of the content guard holding the record.
  returned: with O(mode=record)
  type: str
"""

from ansible_collections.pulpops.replication.plugins.module_utils.common import PulpModule
from ansible_collections.pulpops.replication.plugins.module_utils.replication import argument_spec, module_main

# The module's options and behaviour live in module_utils/replication.py; ``execute`` is what
# plugin_utils/in_controller.py runs in the controller.
execute = module_main


def main():
    execute(PulpModule(argument_spec=argument_spec(), supports_check_mode=True))


if __name__ == "__main__":
    main()
