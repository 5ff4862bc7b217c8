# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each pulpcore release can do: the one table of the version differences the collection adapts to.

A server's version is read once, from its status (``PulpClient.core_version``); code asks
``supports(version, name)`` and never compares version numbers of its own. docs/compatibility.md
states the same table for operators.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# name: (first pulpcore release that has it, what it is).
FEATURES = {
    "content_guards": ((3, 18, 0), "content_redirect content guards (the domain lock and the record live in one)"),
    "upstream_pulp": ((3, 23, 0), "UpstreamPulp objects and their replicate/ action"),
    "upstream_q_select": ((3, 62, 0), "the UpstreamPulp's own q_select"),
    "replication": ((3, 73, 0), "replication with pulpops.replication (the ownership labels and policy of pulpcore 3.73)"),
    # Before: each distribution is pointed at its repository (repository: set, no pinned version) as
    # soon as its own sync has finished, so a run that fails midway leaves some switched, some not.
    "atomic_finalize": ((3, 107, 0), "finalize_replication switches every distribution at once, after every sync"),
    "replication_lock": ((3, 111, 0), "replicate() holds its domain's lock while it plans (pulpcore PR #7711)"),
    "network_fields": ((3, 111, 0), "the UpstreamPulp's download_concurrency, max_retries and timeouts"),
    # Before: a distribution of its own at an upstream base_path under another name makes the create
    # of the upstream's name fail (base_path taken): the role renames it first (reconcile, adopt).
    "base_path_reuse": ((3, 113, 0), "replicate() takes over its own distribution found at an upstream's base_path"),
    "request_q_select": ((3, 113, 0), "a q_select per replicate/ request (partial runs, on_foreign=skip)"),
}


def first_release(name):
    return FEATURES[name][0]


def describe(name):
    return FEATURES[name][1]


def supports(version, name):
    """Whether a server running ``version`` (a tuple, as ``core_version``) has feature ``name``."""
    return tuple(version or (0,)) >= first_release(name)


def capabilities(version):
    """{feature name: True/False} for one server: what the plan and the result report."""
    return dict((name, supports(version, name)) for name in sorted(FEATURES))


def version_text(version):
    return ".".join(str(part) for part in version)
