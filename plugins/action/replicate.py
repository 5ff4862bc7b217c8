# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of pulpops.replication.replicate: check mode on a local connection runs in the controller.

A check-mode replicate only reads both servers. Where the module would run on the
controller's own machine anyway (a local connection, no become, no async, no task
environment), the action runs the same module_utils code (replication.module_main) in
the controller process instead of shipping the module: no AnsiballZ payload, no Python
start, no second import of Ansible and requests. That is about a second of a role run
that skips an unchanged replication (docs/performance.md). Everywhere else, and for every
real run, the module runs as usual. ``pulpops_replication_in_process: false`` turns the
shortcut off.
"""

from __future__ import annotations

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

IN_PROCESS_VAR = "pulpops_replication_in_process"


def in_process_blockers(task, connection, play_context, task_vars):
    """Why the module must run as a module process here (empty: it can run in the controller)."""
    reasons = []
    if not task.check_mode:
        reasons.append("not check mode")
    if getattr(connection, "transport", None) != "local":
        reasons.append("connection %s" % getattr(connection, "transport", None))
    if play_context.become:
        reasons.append("become")
    if task.async_val:
        reasons.append("async")
    if any(task.environment or []):  # the play's environment is [{}] when none is set
        reasons.append("task environment")
    if not boolean(task_vars.get(IN_PROCESS_VAR, True), strict=False):
        reasons.append("%s is false" % IN_PROCESS_VAR)
    return reasons


class ActionModule(ActionBase):
    """Run replicate in the controller when that is the same as running it locally, else as a module."""

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        if in_process_blockers(self._task, self._connection, self._play_context, task_vars):
            return self._execute_module(task_vars=task_vars, wrap_async=self._task.async_val)
        try:
            # pylint: disable-next=import-outside-toplevel
            from ansible_collections.pulpops.replication.plugins.module_utils.common import (
                HAS_REQUESTS,
                ControllerModule,
                ModuleExit,
            )
            # pylint: disable-next=import-outside-toplevel
            from ansible_collections.pulpops.replication.plugins.module_utils.replication import (
                argument_spec,
                module_main,
            )
        except ImportError:  # the controller's Python lacks what the module needs: let the module say so
            HAS_REQUESTS = False
        if not HAS_REQUESTS:
            return self._execute_module(task_vars=task_vars)
        result = super().run(tmp, task_vars)
        try:
            module = ControllerModule(self._task.resolved_action or "pulpops.replication.replicate", argument_spec(), self._task.args,
                                      check_mode=True, diff=self._task.diff)
            module_main(module)
        except ModuleExit as exc:
            result.update(exc.result)
        return result
