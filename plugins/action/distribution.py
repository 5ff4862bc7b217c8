# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action of pulpops.replication.distribution: on a local connection the module runs in the controller (plugin_utils/in_controller.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pulpops.replication.plugins.plugin_utils.in_controller import ControllerAction


class ActionModule(ControllerAction):
    module_name = "distribution"


ActionModule.preload()
