# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  pulp_url:
    description:
      - URL of the (downstream) Pulp server, for example C(https://pulp.example.com).
      - Credentials written into the URL (C(https://user:password@host)) are refused; give them in
        O(username) and O(password).
      - Falls back to the environment variable E(PULP_URL).
    type: str
    required: true
  username:
    description:
      - User name on the Pulp server.
      - Falls back to the environment variable E(PULP_USERNAME).
    type: str
  password:
    description:
      - Password of O(username). Never shown in output, diffs or logs.
      - Falls back to the environment variable E(PULP_PASSWORD).
    type: str
  validate_certs:
    description:
      - Verify the server's TLS certificate.
    type: bool
    default: true
  ca_cert:
    description:
      - Path of a CA bundle to verify the server's certificate with.
    type: path
  client_cert:
    description:
      - Path of a client certificate (PEM) for mutual TLS.
    type: path
  client_key:
    description:
      - Path of the private key of O(client_cert).
    type: path
  pulp_domain:
    description:
      - The Pulp domain to work in. Used only when the server has domains enabled (detected
        from its status, not assumed).
    type: str
    default: default
  pulp_api_root:
    description:
      - The server's API root (its E(API_ROOT) setting).
    type: str
    default: /pulp/
  request_timeout:
    description:
      - Seconds to wait for one HTTP request.
    type: int
    default: 60
notes:
  - Logs in once with E(POST .../login/) where the server offers it and then uses the session;
    a basic-auth request costs the server about half a second of password hashing.
  - Idempotent requests are retried with backoff on connection errors and HTTP 502/503/504;
    writes are never retried blindly.
requirements:
  - requests
"""
