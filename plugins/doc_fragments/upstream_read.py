# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The options of a module that reads the upstream itself (replicate, replica_audit).
    DOCUMENTATION = r"""
options:
  upstream:
    description: Name of the UpstreamPulp on the downstream (in O(pulp_domain)).
    type: str
    required: true
  upstream_username:
    description: User name on the upstream, used to read its distributions and content.
    type: str
  upstream_password:
    description: Password of O(upstream_username). Never shown.
    type: str
  upstream_validate_certs:
    description: Verify the upstream's TLS certificate (its API and its content app).
    type: bool
    default: true
  upstream_ca_cert:
    description:
      - The CA that signs the upstream's certificate, for this module's own connections to the upstream
        (its API and its content app). Either the path of a PEM file on the host the module runs on, or PEM
        text (the form the UpstreamPulp's C(ca_cert) takes).
      - With O(upstream_validate_certs=true) and no O(upstream_ca_cert), the system's trust store is used
        (or the bundle in E(REQUESTS_CA_BUNDLE)); a given O(upstream_ca_cert) is never replaced by those variables.
    type: str
  upstream_client_cert:
    description: Path of a client certificate (PEM) for the upstream.
    type: path
  upstream_client_key:
    description: Path of the private key of O(upstream_client_cert).
    type: path
"""
