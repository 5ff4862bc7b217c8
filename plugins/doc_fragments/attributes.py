# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # What the attributes of every module of the collection mean; each module says its support.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check mode (the same code runs with every write skipped) and report what would change.
  diff_mode:
    description: Returns what changed, or in check mode what would change, as a C(before)/C(after) diff.
  action_group:
    description: Use C(group/pulpops.replication.pulp) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - pulpops.replication.pulp
"""
