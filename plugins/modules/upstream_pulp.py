#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: upstream_pulp
short_description: Manage an UpstreamPulp on the downstream Pulp server
version_added: 0.1.0
author: pulpops.replication contributors (@pulpops)
description:
  - Creates, updates or deletes the UpstreamPulp object that a downstream Pulp replicates from.
  - Only the options you give are compared; nothing is written when nothing differs. This
    matters, because every PATCH of an UpstreamPulp makes its next replication resync everything.
  - Supports check mode (the same code runs with every write skipped) and diff mode.
    Secrets appear in results and diffs only as C(is set) / C(is not set).
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
    description: Name of the UpstreamPulp (unique in the downstream domain O(pulp_domain)).
    type: str
    required: true
  state:
    description: Whether the UpstreamPulp should exist.
    type: str
    choices: [present, absent]
    default: present
  base_url:
    description:
      - URL of the upstream Pulp server, for example C(https://upstream.example.com). Required to create.
      - Credentials written into the URL are refused; give them in O(upstream_username) and O(upstream_password).
    type: str
  api_root:
    description: API root of the upstream server. Sent as C(/pulp/) on create when not given.
    type: str
  domain:
    description: The upstream's domain to replicate from (not the downstream domain, see O(pulp_domain)).
    type: str
  upstream_username:
    description:
      - User name on the upstream server. The server never shows it back, so it is treated like
        O(upstream_password) (see O(update_password)).
    type: str
  upstream_password:
    description: Password of O(upstream_username) on the upstream server. Never shown.
    type: str
  upstream_ca_cert:
    description:
      - The CA certificate(s) with which the downstream verifies the upstream's TLS certificate, as
        PEM text or as the path of a PEM file on the host the module runs on (its text is stored).
    type: str
  upstream_client_cert:
    description: A client certificate for the upstream, as PEM text or the path of a PEM file.
    type: str
  upstream_client_key:
    description: The private key of O(upstream_client_cert), as PEM text or the path of a PEM file. Never shown.
    type: str
  tls_validation:
    description: Whether the downstream verifies the upstream's TLS certificate.
    type: bool
  policy:
    description:
      - What replication may delete in the domain. C(all) every object of the replicated
        types, C(labeled) only what this UpstreamPulp created, C(nodelete) nothing.
      - Needs pulpcore 3.73 or newer on the downstream.
    type: str
    choices: [all, labeled, nodelete]
  q_select:
    description:
      - Filter expression selecting the upstream distributions to replicate. Needs pulpcore 3.62.
      - An empty string clears it.
    type: str
  download_concurrency:
    description: Download concurrency of the remotes replication creates. Needs pulpcore 3.111.
    type: int
  max_retries:
    description: Retries of the remotes replication creates. Needs pulpcore 3.111.
    type: int
  total_timeout:
    description: Total timeout (seconds) of the remotes replication creates. Needs pulpcore 3.111.
    type: float
  connect_timeout:
    description: Connect timeout (seconds) of the remotes replication creates. Needs pulpcore 3.111.
    type: float
  sock_connect_timeout:
    description: Socket connect timeout (seconds) of the remotes replication creates. Needs pulpcore 3.111.
    type: float
  sock_read_timeout:
    description: Socket read timeout (seconds) of the remotes replication creates. Needs pulpcore 3.111.
    type: float
  update_password:
    description:
      - The server cannot show O(upstream_username), O(upstream_password) or O(upstream_client_key) back.
      - With C(on_create) they are sent when the UpstreamPulp is created, or when the server
        reports one as unset while you give a value (or set while you give an empty string).
      - With C(always) every given one is sent on every run; the module then PATCHes and
        reports changed=true on every run, and each such PATCH makes the next replication
        resync everything.
    type: str
    choices: [on_create, always]
    default: on_create
notes:
  - Needs pulpcore >= 3.23 (UpstreamPulp). An option that the server's pulpcore does not know fails before
    any write, naming the option and the server's version.
"""

EXAMPLES = r"""
- name: Replicate from the upstream's default domain, deleting only what replication made
  pulpops.replication.upstream_pulp:
    pulp_url: https://pulp.example.com
    username: admin
    password: "{{ pulp_admin_password }}"
    name: central
    base_url: https://central.example.com
    api_root: /pulp/
    domain: default
    upstream_username: replicator
    upstream_password: "{{ central_password }}"
    policy: labeled
    q_select: 'pulp_label_select="env=prod"'

- name: Remove it
  pulpops.replication.upstream_pulp:
    pulp_url: https://pulp.example.com
    name: central
    state: absent
"""

RETURN = r"""
created:
  description: True when this run created the UpstreamPulp (or, in check mode, would create it).
  returned: success
  type: bool
upstream_pulp:
  description:
    - The UpstreamPulp as the server shows it after the run (in check mode, as it would be);
      empty when it is absent.
    - C(username), C(password) and C(client_key) are reduced to C(is set) / C(is not set).
  returned: always
  type: dict
  sample:
    name: central
    base_url: https://central.example.com
    api_root: /pulp/
    password: is set
    policy: labeled
"""

from ansible_collections.pulpops.replication.plugins.module_utils.common import PulpModule
from ansible_collections.pulpops.replication.plugins.module_utils.inputs import check_inputs, domain_aware
from ansible_collections.pulpops.replication.plugins.module_utils.entity import UPSTREAM_PULP, ensure
from ansible_collections.pulpops.replication.plugins.module_utils.trust import pem_text

# The UpstreamPulp stores PEM text; these options also take the path of a PEM file.
PEM_OPTIONS = {"upstream_ca_cert": ("certificate", True), "upstream_client_cert": ("certificate", True),
               "upstream_client_key": ("key", True)}


def run(module):
    params = module.params
    wanted = dict((field.name, pem_text(params[field.option]) if field.option in PEM_OPTIONS else params[field.option])
                  for field in UPSTREAM_PULP.fields if field.name != "name")
    outcome = ensure(module, UPSTREAM_PULP, params["name"], wanted, state=params["state"],
                     update_secrets=params["update_password"])
    result = {"changed": outcome["changed"], "upstream_pulp": outcome["after"] or {},
              "created": outcome["before"] is None and outcome["after"] is not None}
    if module._diff:
        result["diff"] = outcome["diff"]
    return result


def argument_spec():
    """The module's own options (the connection options are added by PulpModule and ControllerModule)."""
    return dict(
        UPSTREAM_PULP.option_spec(),
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        update_password=dict(type="str", choices=["on_create", "always"], default="on_create", no_log=False),
    )


def execute(module):
    """The module, given a PulpModule (module process) or a ControllerModule (plugin_utils/in_controller.py)."""
    check_inputs(module, positive=("download_concurrency",), urls=("base_url",), pems=PEM_OPTIONS,
                 non_negative=("max_retries", "total_timeout", "connect_timeout", "sock_connect_timeout",
                               "sock_read_timeout"))
    module.run_safely(domain_aware(run))


def main():
    execute(PulpModule(argument_spec=argument_spec()))


if __name__ == "__main__":
    main()
