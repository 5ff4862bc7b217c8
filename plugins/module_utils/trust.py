# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificates and keys as options give them: PEM text, or the path of a PEM file.

The UpstreamPulp stores PEM text (its ``ca_cert`` field takes text, not a path); the
controller's HTTPS connections need a file (requests verifies against a CA bundle file).
Options that accept both say so; a value that is neither readable PEM text nor a readable
PEM file is named before any request.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import atexit
import os
import tempfile

PEM_BEGIN = "-----BEGIN "
# What each kind of PEM option must hold.
PEM_MARKERS = {"certificate": ("-----BEGIN CERTIFICATE-----",), "key": ("PRIVATE KEY-----",)}


def is_pem_text(value):
    """Whether an option's value is PEM text itself (rather than the path of a file)."""
    return isinstance(value, str) and PEM_BEGIN in value


def _read(path):
    with open(path, "r") as handle:
        return handle.read()


def pem_error(option, value, kind="certificate", text_allowed=False):
    """None when ``value`` holds PEM of ``kind`` (as text where allowed, else in a file), else the message.

    The message names the option and the file, never the content (a key stays unshown).
    """
    if value in (None, ""):
        return None
    markers = PEM_MARKERS[kind]
    if is_pem_text(value):
        if not text_allowed:
            return "%s must be the path of a PEM file, got PEM text" % option
        if not all(marker in value for marker in markers) or "-----END " not in value:
            return "%s holds text that is not a PEM %s" % (option, kind)
        return None
    path = os.path.expanduser(value)
    if not os.path.isfile(path):
        return "%s: no such file %r" % (option, value)
    try:
        content = _read(path)
    except (IOError, OSError, UnicodeDecodeError) as exc:
        return "%s: cannot read %r (%s)" % (option, value, exc)
    if not all(marker in content for marker in markers):
        return "%s: %r is not a PEM %s file (no %s)" % (option, value, kind, " ".join(markers))
    return None


def pem_text(value):
    """The PEM text of an option that accepts text or a file (None stays None)."""
    if value in (None, "") or is_pem_text(value):
        return value
    return _read(os.path.expanduser(value))


_WRITTEN = []
_BY_TEXT = {}  # PEM text -> the file written for it (clients of one upstream share one file)


def _remove_written():
    for path in _WRITTEN:
        try:
            os.remove(path)
        except OSError:
            pass


def ca_bundle_path(value):
    """A CA bundle file for requests: the path as given, or PEM text written to a private temporary file.

    A CA certificate is public; the file is removed when the process ends.
    """
    if not is_pem_text(value):
        return os.path.expanduser(value) if value else value
    if value in _BY_TEXT:
        return _BY_TEXT[value]
    handle, path = tempfile.mkstemp(prefix="pulpops-ca-", suffix=".pem")
    with os.fdopen(handle, "w") as out:
        out.write(value)
    if not _WRITTEN:
        atexit.register(_remove_written)
    _WRITTEN.append(path)
    _BY_TEXT[value] = path
    return path
