# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plugin types pulpcore replicates, and the endpoints of each: the one table of them.

A plugin ships a replicator (``pulp_<plugin>/app/replica.py``) for one distribution type.
Its distributions, repositories and publications live under ``<plugin>/<type>/`` endpoints,
except where pulpcore's plugins name them differently (deb, python, maven).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pulpops.replication.plugins.module_utils.client import PulpError

# plugin -> (distribution type, repository type, publication type or None, index file served at a base_path)
PLUGIN_TYPES = {
    "file": ("file/file", "file/file", "file/file", "PULP_MANIFEST"),
    "rpm": ("rpm/rpm", "rpm/rpm", "rpm/rpm", "repodata/repomd.xml"),
    "container": ("container/container", "container/container", "container/container", None),
    "ansible": ("ansible/ansible", "ansible/ansible", "ansible/ansible", None),
    "python": ("python/pypi", "python/python", "python/pypi", None),
    "deb": ("deb/apt", "deb/apt", "deb/apt", None),
    "gem": ("gem/gem", "gem/gem", "gem/gem", None),
    "maven": ("maven/maven", "maven/maven", None, None),
    "npm": ("npm/npm", "npm/npm", "npm/npm", None),
    "ostree": ("ostree/ostree", "ostree/ostree", "ostree/ostree", None),
}


def replicated_plugins():
    """The plugins that ship a replicator, in a fixed order."""
    return list(PLUGIN_TYPES)


def distribution_type(plugin):
    """'python' -> 'python/pypi': the distribution type replication creates for a plugin."""
    return PLUGIN_TYPES[plugin][0]


def distribution_endpoint(plugin):
    """'file' -> 'distributions/file/file/'."""
    return "distributions/%s/" % distribution_type(plugin)


def index_file(plugin):
    """The file a plugin serves at every base_path (PULP_MANIFEST, repodata/repomd.xml), or None."""
    entry = PLUGIN_TYPES.get(plugin)
    return entry[3] if entry else None


def distribution_paths(dist_type):
    """(distributions/..., repositories/..., publications/...) endpoints of a plugin type.

    ``dist_type`` is a plugin name ('file', 'rpm', 'container') or an explicit
    'plugin/type' pair ('deb/apt'). A plugin without publications has None there.
    """
    parts = dist_type.strip().strip("/").split("/")
    if not all(part.strip() for part in parts) or len(parts) > 2:
        raise PulpError("type must be a plugin name such as 'file' or a 'plugin/type' pair such as 'deb/apt', got %r"
                        % dist_type)
    if len(parts) == 2:
        paths = ("%s/%s" % tuple(parts),) * 3
    else:
        same = "%s/%s" % (parts[0], parts[0])
        paths = PLUGIN_TYPES.get(parts[0], (same, same, same))[:3]
    return tuple(("%s/%s/" % (prefix, path)) if path else None
                 for prefix, path in zip(("distributions", "repositories", "publications"), paths))
