# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action of every pulpops.replication module: on a local connection, the module runs in the controller.

The modules talk to Pulp over HTTP and touch nothing on the host they run on. Where the
module would run on the controller's own machine anyway (a local connection, no become,
no async, no task environment), the action runs the module's own code (its ``execute``
with a ControllerModule) in the controller process instead of shipping it: no AnsiballZ
payload, no Python start, no second import of Ansible and requests, and the run's
sessions are reused through the session keeper (session_keeper.py): one login per server
and user per ansible-playbook run instead of one per task. Everywhere else the module runs
as usual; ``pulpops_replication_in_process: false`` turns the shortcut off.

The arguments are validated by the same argument spec as the module's (types, defaults,
choices, environment fallbacks, no_log values) and the result is the module's, secrets
masked the same way (common.ControllerModule).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import json
import os

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

# Imported when the action plugin is: ansible-playbook loads action plugins in its own process, before it
# forks a worker per task, so every task's worker starts with requests and module_utils already imported.
try:
    from ansible_collections.pulpops.replication.plugins.module_utils import client as pulp_client
    from ansible_collections.pulpops.replication.plugins.module_utils import common
    from ansible_collections.pulpops.replication.plugins.plugin_utils import session_keeper
except ImportError:  # the controller's Python lacks what the modules need: they run as modules and say so
    pulp_client = common = session_keeper = None

IN_PROCESS_VAR = "pulpops_replication_in_process"
PLUGINS = "ansible_collections.pulpops.replication.plugins"


def in_process_blockers(task, connection, play_context, task_vars):
    """Why the module must run as a module process here (empty: it can run in the controller)."""
    reasons = []
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


def plain(args):
    """The task's arguments as the module process would receive them: plain JSON types."""
    return json.loads(json.dumps(args, default=str))


def run_session_store():
    """The session store of this ansible-playbook run (the parent of this task's worker), or None."""
    try:
        return session_keeper.store_for_run(os.getppid())
    except (session_keeper.KeeperUnavailable, OSError):
        return None


class ControllerAction(ActionBase):
    """Run the module named ``module_name`` in the controller when that is the same as running it locally."""

    _supports_check_mode = True
    _supports_async = True
    module_name = None

    def _as_module(self, task_vars):
        return self._execute_module(task_vars=task_vars, wrap_async=self._task.async_val)

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        if common is None or not common.HAS_REQUESTS or \
                in_process_blockers(self._task, self._connection, self._play_context, task_vars):
            return self._as_module(task_vars)
        try:
            module_file = importlib.import_module("%s.modules.%s" % (PLUGINS, self.module_name))
        except ImportError:
            return self._as_module(task_vars)
        result = super(ControllerAction, self).run(tmp, task_vars)
        pulp_client.use_session_store(run_session_store())
        try:
            module = common.ControllerModule(self._task.resolved_action or "pulpops.replication.%s" % self.module_name,
                                             module_file.argument_spec(), plain(self._task.args),
                                             check_mode=self._task.check_mode, diff=self._task.diff,
                                             **getattr(module_file, "MODULE_OPTIONS", {}))
            module_file.execute(module)
        except common.ModuleExit as exc:
            result.update(exc.result)
        finally:
            pulp_client.use_session_store(None)
        return result

    @classmethod
    def preload(cls):
        """Import the module's file now (at the action plugin's import: in ansible-playbook's own process)."""
        try:
            importlib.import_module("%s.modules.%s" % (PLUGINS, cls.module_name))
        except ImportError:
            pass
