#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: domain_lock
short_description: Take turns replicating into a Pulp domain
version_added: 0.1.0
author: pulpops.replication contributors (@pulpops)
description:
  - Acquires, renews or releases a lease on a downstream Pulp domain, so that every run that
    replicates into that domain takes turns, whether the runs are separate ansible-playbook
    processes, hosts of one play, or AWX jobs on different execution nodes.
  - The lock lives on the server, in the domain, as a content guard named O(lock_name) whose
    description records the owner and the lease. Acquiring is the create of that guard; the
    server keeps names unique, so exactly one of any number of simultaneous attempts wins.
  - The guard is not attached to any distribution, so it changes nothing users see, and
    replication (even with C(policy=all)) never deletes content guards.
  - A lease ends O(ttl) seconds after it was taken or last renewed, on the server's clock.
    A lease that has ended is taken over safely; the stale guard is deleted by its own href and
    only the waiter whose create succeeds gets the lock.
extends_documentation_fragment:
  - pulpops.replication.connection
  - pulpops.replication.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
    details: The lease is not a change users see; no diff is returned.
options:
  state:
    description:
      - V(acquired) waits up to O(timeout) seconds for the lock and takes it.
      - V(released) gives back a lock this O(owner) holds; nothing happens when the lock is
        free. Releasing another owner's lock fails unless O(force=true).
      - V(renewed) extends this O(owner)'s lease to O(ttl) seconds from now. It fails when the
        lock is not held by O(owner) or its lease has already ended.
    type: str
    choices: [acquired, released, renewed]
    default: acquired
  lock_name:
    description:
      - Name of the content guard that is the lock. Every run that must take turns uses the same name.
    type: str
    default: pulpops-replication-lock
  owner:
    description:
      - Who holds the lock. Acquire and release must use the same owner.
      - Defaults to C(user@host pid=N) (N is the ansible-playbook process when found, otherwise
        the parent process) plus C(job=J) when E(JOB_ID), E(AWX_JOB_ID) or E(tower_job_id) is set.
      - An owner that already holds a live lease gets it again without waiting, so contenders
        need distinct owners; hosts of one play share the default owner (see the notes).
    type: str
  ttl:
    description:
      - Length of the lease in seconds. After it ends, another run may take the lock over.
      - Choose it longer than the work it protects, or renew the lease between phases.
    type: int
    default: 3600
  timeout:
    description:
      - Seconds to wait for the lock with O(state=acquired). V(0) tries once.
    type: int
    default: 600
  poll_interval:
    description:
      - Longest pause in seconds between two attempts while waiting; the pauses start short
        and grow (with jitter) up to this value.
    type: float
    default: 5.0
  force:
    description:
      - With O(state=released), release the lock even when another owner holds it.
    type: bool
    default: false
  lock_href:
    description:
      - With O(state=released), the RV(lock_href) that acquiring returned. The release is then one
        request, the delete of exactly that lease, without reading the lock first. The href is only
        ever this run's own lease, as a lease taken over by another run has another href. A lease that
        is already gone (broken after its O(ttl) had ended) is left alone and nothing changes.
      - Without it, the lock is read first and released only when O(owner) holds it.
    type: str
notes:
  - Check mode writes nothing; the result says whether the lock is free (RV(free)) and who holds it.
  - "Hosts of one play: with the default C(linear) strategy a host that waits for the lock blocks
    the play's next task, and so the release by the host that holds it: they deadlock until
    O(timeout). Use C(serial: 1) on the play, or C(strategy: free) with an O(owner) that names
    the host (for example C({{ inventory_hostname }})). See docs/lock.md."
  - The server's clock decides when a lease ends; no client clock is trusted.
  - Needs pulpcore >= 3.18 (content_redirect content guards hold the lease).
"""

EXAMPLES = r"""
# Two hosts of one play that target one domain take turns with serial: 1 on the play
# (see docs/lock.md); the tasks of one run:
- name: Wait for our turn
  pulpops.replication.domain_lock:
    pulp_url: https://pulp.example.com
    username: admin
    password: "{{ vault_pulp_password }}"
    pulp_domain: mirror
    owner: "replica {{ inventory_hostname }} {{ awx_job_id | default('manual') }}"
    ttl: 1800
    timeout: 900

- name: Replicate and always give the lock back
  module_defaults:
    group/pulpops.replication.pulp:
      pulp_url: https://pulp.example.com
      username: admin
      password: "{{ vault_pulp_password }}"
      pulp_domain: mirror
  block:
    - name: Replicate
      pulpops.replication.replicate:
        upstream: upstream-a
  always:
    - name: Release the lock
      pulpops.replication.domain_lock:
        state: released
        owner: "replica {{ inventory_hostname }} {{ awx_job_id | default('manual') }}"

- name: Extend the lease before a long phase
  pulpops.replication.domain_lock:
    state: renewed
    owner: "replica {{ inventory_hostname }} {{ awx_job_id | default('manual') }}"
    ttl: 3600

- name: Who holds the lock? (writes nothing)
  pulpops.replication.domain_lock:
  check_mode: true
  register: lock_status
"""

RETURN = r"""
state:
  description: The requested state.
  returned: always
  type: str
  sample: acquired
acquired:
  description: Whether O(owner) holds the lock after this task (for V(released), false).
  returned: always
  type: bool
  sample: true
waited:
  description: Seconds spent waiting for the lock.
  returned: always
  type: float
  sample: 12.5
owner:
  description: The owner string this task used.
  returned: always
  type: str
  sample: deploy@ctl-1 pid=4242 job=118
free:
  description: Whether the lock was free (or its lease had ended) when looked at. Set in check mode and for V(acquired).
  returned: always
  type: bool
  sample: true
holder:
  description: Who holds the lock (after the task; for V(released), who held it), or null when nobody does.
  returned: always
  type: dict
  sample: {"owner": "deploy@ctl-1 pid=4242", "since": "2026-11-26T01:18:54.302491Z",
           "expires_at": "2026-11-26T02:18:54.302506Z", "href": "/pulp/mirror/api/v3/contentguards/core/content_redirect/01a2.../"}
  contains:
    owner:
      description: The owner string of the holder.
      type: str
    since:
      description: When the lease was taken (server time, UTC).
      type: str
    expires_at:
      description: When the lease ends (server time, UTC).
      type: str
    href:
      description: The lock object's href, its identity.
      type: str
contended:
  description:
    - With O(state=acquired), whether the lock was taken otherwise than by the first attempt on a free
      lock (another lease was met, waited for or broken). The replica role reuses the plan its check
      phase read before the lock only when this is false.
  returned: when O(state=acquired)
  type: bool
  sample: false
lock_href:
  description: The href of the lock object this task took, renewed or released, or null.
  returned: always
  type: str
  sample: /pulp/mirror/api/v3/contentguards/core/content_redirect/01a2156f-215e-7344-bff8-2d4c4f316041/
"""

from ansible_collections.pulpops.replication.plugins.module_utils.common import PulpModule
from ansible_collections.pulpops.replication.plugins.module_utils.inputs import check_inputs, domain_aware
from ansible_collections.pulpops.replication.plugins.module_utils.guard_document import GUARD_FEATURE
from ansible_collections.pulpops.replication.plugins.module_utils.lock import (
    DEFAULT_LOCK_NAME,
    DomainLock,
    LockError,
)


def run(module):
    params = module.params
    module.client.require_feature(GUARD_FEATURE, what="domain_lock (it keeps its lease in a content_redirect content guard)")
    lock = DomainLock(module.client, name=params["lock_name"], owner=params["owner"], ttl=params["ttl"],
                      check_mode=module.check_mode)
    state = params["state"]
    result = {"state": state, "owner": lock.owner, "waited": 0.0, "acquired": False}
    try:
        if state == "acquired":
            outcome = lock.acquire(timeout=params["timeout"], poll_interval=params["poll_interval"])
        elif state == "released":
            outcome = lock.release(force=params["force"], lock_href=params["lock_href"])
        else:
            outcome = lock.renew()
    except LockError as exc:
        holder = exc.holder.as_dict() if exc.holder is not None else None
        module.fail_json(msg=exc.message, holder=holder, owner=lock.owner, state=state, acquired=False)
    if state == "renewed":
        outcome["acquired"] = True
    result.update(outcome)
    result.setdefault("free", result.get("holder") is None)
    result.pop("token", None)
    result.pop("released", None)
    result.pop("renewed", None)
    return result


def argument_spec():
    """The module's own options (the connection options are added by PulpModule and ControllerModule)."""
    return dict(
        state=dict(type="str", choices=["acquired", "released", "renewed"], default="acquired"),
        lock_name=dict(type="str", default=DEFAULT_LOCK_NAME),
        owner=dict(type="str"),
        ttl=dict(type="int", default=3600),
        timeout=dict(type="int", default=600),
        poll_interval=dict(type="float", default=5.0),
        force=dict(type="bool", default=False),
        lock_href=dict(type="str"),
    )


def execute(module):
    """The module, given a PulpModule (module process) or a ControllerModule (plugin_utils/in_controller.py)."""
    check_inputs(module)
    for option in ("ttl", "poll_interval"):
        if module.params[option] <= 0:
            module.fail_json(msg="%s must be greater than 0, got %s" % (option, module.params[option]))
    if module.params["timeout"] < 0:
        module.fail_json(msg="timeout must be 0 or more seconds, got %s" % module.params["timeout"])
    if module.params["lock_href"] and module.params["state"] != "released":
        module.fail_json(msg="lock_href is only for state=released (the lease that acquiring returned), got state=%s"
                         % module.params["state"])
    module.run_safely(domain_aware(run))


def main():
    execute(PulpModule(argument_spec=argument_spec()))


if __name__ == "__main__":
    main()
