#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: replica_audit
short_description: Prove that a downstream Pulp domain serves exactly what its upstream serves
version_added: 0.1.0
author: pulpops.replication contributors (@pulpops)
description:
  - Compares one downstream domain with its upstream, in the scope of one UpstreamPulp, and
    reports every difference with the object's name.
  - Kinds of difference, C(missing) (the upstream serves a distribution the downstream lacks),
    C(extra) (the downstream has a distribution in this UpstreamPulp's scope that the upstream
    does not serve), C(stale) (other content, older content or another base_path),
    C(unserved) (the base_path answers 404), C(dangling) (a distribution serving no repository,
    version or publication), C(foreign) (not owned by this UpstreamPulp) and C(plugin)
    (the upstream serves a plugin type the downstream lacks).
  - Content is compared by the content summary (count per content type) of the repository
    version each side serves and, where the plugin serves one, by the index file
    (C(PULP_MANIFEST) for file, C(repodata/repomd.xml) for rpm).
  - Read-only; runs the same in check mode and never reports a change.
  - Needs pulpcore >= 3.73 on the downstream (the ownership labels replication writes from that version on).
extends_documentation_fragment:
  - pulpops.replication.connection
  - pulpops.replication.upstream_read
  - pulpops.replication.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: N/A
    details: The audit only reads.
options:
  q_select:
    description:
      - Audit only the upstream distributions this filter selects (as a per-request replication
        would). Default, the UpstreamPulp's own C(q_select).
    type: str
  check_content:
    description: Compare content summaries and index files, not only the set of distributions.
    type: bool
    default: true
  content_names:
    description:
      - Compare content (summaries and index files) only for the upstream distributions named
        here; every other one still gets the checks that need no content (missing, extra,
        foreign, base_path, dangling). Default, all of them.
      - The role's verify phase passes the distributions a partial replication touched. Every
        other one was proven, by the record of the last verified replication, to serve the same
        immutable content as when it was audited (see docs/replicate.md, section What a skip proves).
      - Ignored when O(check_content=false).
    type: list
    elements: str
  skipped_names:
    description:
      - Upstream distributions the replication left out on purpose (the role's
        C(replica_on_foreign=skip) passes the ones its plan excluded). Each is listed in
        RV(skipped), not compared and not counted as a difference.
    type: list
    elements: str
    default: []
  parallel:
    description: How many requests to make at once.
    type: int
    default: 8
  report_path:
    description: Write the whole report as JSON to this path on the controller-side host.
    type: path
  junit_path:
    description: Write a JUnit XML report (one test case per distribution) to this path.
    type: path
  fail_on_difference:
    description: Fail when the replica is not exact.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Audit the replica of upstream "dc1" and fail when it drifted
  pulpops.replication.replica_audit:
    pulp_url: https://pulp-downstream.example.com
    username: admin
    password: "{{ vault_pulp_password }}"
    upstream: dc1
    upstream_username: reader
    upstream_password: "{{ vault_upstream_password }}"
    junit_path: /tmp/replica-audit.xml
    fail_on_difference: true
"""

RETURN = r"""
exact:
  description: True when no difference was found.
  returned: success
  type: bool
differences:
  description: Every difference, each with C(kind), C(name), C(base_path), C(type) and C(detail).
  returned: success
  type: list
  elements: dict
skipped:
  description: The upstream distributions of O(skipped_names) that are in scope, each with C(name), C(base_path), C(type) and C(detail); not differences.
  returned: success
  type: list
  elements: dict
summary:
  description: Count of differences per kind.
  returned: success
  type: dict
table:
  description: A short table of the differences, for people.
  returned: success
  type: list
  elements: str
distributions:
  description: How many upstream distributions were checked.
  returned: success
  type: int
content_checked:
  description: How many of them had their content compared (all of them unless O(content_names) narrows it).
  returned: success
  type: int
missing_plugins:
  description: Plugin types the upstream has and the downstream lacks.
  returned: success
  type: list
  elements: str
seconds:
  description: Seconds the audit took.
  returned: success
  type: float
requests:
  description: HTTP requests made to both servers.
  returned: success
  type: int
report_path:
  description: Where the JSON report was written.
  returned: when O(report_path) is given
  type: str
junit_path:
  description: Where the JUnit report was written.
  returned: when O(junit_path) is given
  type: str
"""

import json

from ansible_collections.pulpops.replication.plugins.module_utils.audit import Auditor, junit, table
from ansible_collections.pulpops.replication.plugins.module_utils.common import PulpModule, upstream_read_argument_spec
from ansible_collections.pulpops.replication.plugins.module_utils.inputs import UPSTREAM_READ_PEMS, check_inputs, domain_aware
from ansible_collections.pulpops.replication.plugins.module_utils.client import PulpError
from ansible_collections.pulpops.replication.plugins.module_utils.replication import upstream_client


def run(module):
    params = module.params
    module.client.require_feature("replication")
    server = module.client.find("upstream-pulps/", name=params["upstream"])
    if server is None:
        raise PulpError("upstream: no UpstreamPulp named %r in domain %r of %s"
                        % (params["upstream"], params["pulp_domain"], params["pulp_url"]))
    auditor = Auditor(module.client, upstream_client(server, params), server, q_select=params["q_select"],
                      check_content=params["check_content"], parallel=params["parallel"],
                      content_names=params["content_names"], skipped_names=params["skipped_names"])
    report = auditor.run()
    result = dict(report, changed=False, table=table(report))
    result.pop("checked")
    if params["report_path"]:
        with open(params["report_path"], "w") as handle:
            json.dump(report, handle, indent=2, sort_keys=True)
        result["report_path"] = params["report_path"]
    if params["junit_path"]:
        with open(params["junit_path"], "w") as handle:
            handle.write(junit(report))
        result["junit_path"] = params["junit_path"]
    if params["fail_on_difference"] and not report["exact"]:
        module.fail_json(msg="The replica of %r is not exact: %s" % (params["upstream"], table(report)[-1]), **result)
    return result


def argument_spec():
    """The module's own options (the connection options are added by PulpModule and ControllerModule)."""
    return dict(
        upstream_read_argument_spec(),
        q_select=dict(type="str"),
        check_content=dict(type="bool", default=True),
        content_names=dict(type="list", elements="str"),
        skipped_names=dict(type="list", elements="str", default=[]),
        parallel=dict(type="int", default=8),
        report_path=dict(type="path"),
        junit_path=dict(type="path"),
        fail_on_difference=dict(type="bool", default=False),
    )


def execute(module):
    """The module, given a PulpModule (module process) or a ControllerModule (plugin_utils/in_controller.py)."""
    check_inputs(module, positive=("parallel",), pems=UPSTREAM_READ_PEMS,
                 out_dirs=("report_path", "junit_path"))
    module.run_safely(domain_aware(run))


def main():
    execute(PulpModule(argument_spec=argument_spec()))


if __name__ == "__main__":
    main()
