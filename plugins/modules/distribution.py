#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: distribution
short_description: Manage a Pulp distribution of any plugin type
version_added: 0.1.0
author: pulpops.replication contributors (@pulpops)
description:
  - Creates, updates, renames in place or deletes a distribution in the domain O(pulp_domain).
  - Only the options you give are compared; nothing is written when nothing differs.
  - Supports check mode (the same code runs with every write skipped) and diff mode.
extends_documentation_fragment:
  - pulpops.replication.connection
  - pulpops.replication.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  name:
    description: Name of the distribution.
    type: str
    required: true
  type:
    description:
      - Plugin type of the distribution, for example C(file), C(rpm), C(container). The
        endpoints are C(distributions/<type>/<type>/) and C(repositories/<type>/<type>/),
        except for the known exceptions C(deb) (C(deb/apt)) and C(python) (C(python/pypi)).
      - An explicit C(plugin/type) pair such as C(deb/apt) is used as given; any other form is an error.
      - A type the server has no plugin for is an error.
    type: str
    default: file
  base_path:
    description:
      - Base path the distribution serves at (unique across every distribution of the domain).
        Required to create, and with O(match=base_path).
    type: str
  repository:
    description:
      - Repository to serve (its latest version), by name (of the same O(type)) or href.
      - Giving one of O(repository), O(repository_version), O(publication) clears the other two.
      - An empty string clears it.
    type: str
  repository_version:
    description:
      - Repository version to serve, as an href or as C(<repository name>/<version number>),
        for example C(myrepo/3).
    type: str
  publication:
    description: Publication to serve, as an href.
    type: str
  content_guard:
    description:
      - Content guard protecting the distribution, by name (any guard type) or href. An empty
        string removes it.
    type: str
  pulp_labels:
    description:
      - Labels of the distribution. When given, they are the whole set (labels not listed are removed).
      - Values are strings; quote numbers and booleans (V("1"), not V(1)).
    type: dict
  state:
    description: Whether the distribution should exist.
    type: str
    choices: [present, absent]
    default: present
  match:
    description:
      - How the existing distribution is found.
      - C(name) finds it by O(name); a O(base_path) held by another distribution is an error.
      - C(base_path) finds the distribution serving O(base_path) (falling back to O(name)); if it
        has another name, it is renamed in place (a PATCH of its name only), so the base_path
        never stops serving.
    type: str
    choices: [name, base_path]
    default: name
notes:
  - Distribution writes are tasks in most plugins; the module waits for them.
"""

EXAMPLES = r"""
- name: Serve the latest version of repository "tools" at tools/
  pulpops.replication.distribution:
    pulp_url: https://pulp.example.com
    username: admin
    password: "{{ pulp_admin_password }}"
    pulp_domain: prod
    name: tools
    base_path: tools
    repository: tools

- name: Rename the distribution at tools/ in place (the base_path keeps serving)
  pulpops.replication.distribution:
    pulp_url: https://pulp.example.com
    name: tools-v2
    base_path: tools
    match: base_path

- name: Serve a fixed version of an RPM repository behind a content guard
  pulpops.replication.distribution:
    pulp_url: https://pulp.example.com
    type: rpm
    name: el9
    base_path: el9
    repository_version: el9-baseos/12
    content_guard: internal-only
"""

RETURN = r"""
distribution:
  description:
    - The distribution as the server shows it after the run (in check mode, as it would be);
      empty when it is absent.
  returned: always
  type: dict
  sample:
    name: tools
    base_path: tools
    repository: /pulp/prod/api/v3/repositories/file/file/0190.../
    publication: null
    content_guard: null
    pulp_labels: {}
"""

from ansible_collections.pulpops.replication.plugins.module_utils.common import PulpModule
from ansible_collections.pulpops.replication.plugins.module_utils.inputs import check_inputs, domain_aware
from ansible_collections.pulpops.replication.plugins.module_utils.entity import distribution_entity, ensure

SOURCES = ("repository", "repository_version", "publication")


def run(module):
    params = module.params
    entity = distribution_entity(module.client, params["type"])
    wanted = dict((key, params[key]) for key in ("base_path", "content_guard", "pulp_labels") + SOURCES)
    given_sources = [key for key in SOURCES if params[key] not in (None, "")]
    if given_sources:
        # The server serves one source at a time: asking for one clears the others.
        for key in SOURCES:
            if key not in given_sources:
                wanted[key] = ""
    outcome = ensure(module, entity, params["name"], wanted, state=params["state"], match=params["match"])
    result = {"changed": outcome["changed"], "distribution": outcome["after"] or {}}
    if module._diff:
        result["diff"] = outcome["diff"]
    return result


def argument_spec():
    """The module's own options (the connection options are added by PulpModule and ControllerModule)."""
    return dict(
        name=dict(type="str", required=True),
        type=dict(type="str", default="file"),
        base_path=dict(type="str"),
        repository=dict(type="str"),
        repository_version=dict(type="str"),
        publication=dict(type="str"),
        content_guard=dict(type="str"),
        pulp_labels=dict(type="dict"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        match=dict(type="str", choices=["name", "base_path"], default="name"),
    )


MODULE_OPTIONS = dict(mutually_exclusive=[("repository", "repository_version", "publication")])


def execute(module):
    """The module, given a PulpModule (module process) or a ControllerModule (plugin_utils/in_controller.py)."""
    check_inputs(module)
    module.run_safely(domain_aware(run))


def main():
    execute(PulpModule(argument_spec=argument_spec(), **MODULE_OPTIONS))


if __name__ == "__main__":
    main()
