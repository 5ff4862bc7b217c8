# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of module input that the argument_spec cannot express, made before any request.

A wrong type or an impossible value fails with one line naming the option, and nothing
is sent to a server. ``check_inputs(module, ...)`` is called by each module right after
its PulpModule is built; ``domain_aware(func)`` turns a 404 caused by a missing
``pulp_domain`` into an error naming the domain (the check costs a request only after a
failure, never on the successful path).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.basic import _load_params

try:
    from urllib.parse import urlparse
except ImportError:  # pragma: no cover - Python 2 is not supported, sanity imports it
    from urlparse import urlparse  # type: ignore

from ansible_collections.pulpops.replication.plugins.module_utils.client import PulpAuthError, PulpError, hide_option_userinfo
from ansible_collections.pulpops.replication.plugins.module_utils.common import client_from_params
from ansible_collections.pulpops.replication.plugins.module_utils.trust import pem_error

# PEM options: option -> (what it holds, whether PEM text is accepted besides a file's path).
CONNECTION_PEMS = {"ca_cert": ("certificate", False), "client_cert": ("certificate", False), "client_key": ("key", False)}
UPSTREAM_READ_PEMS = {"upstream_ca_cert": ("certificate", True), "upstream_client_cert": ("certificate", False),
                      "upstream_client_key": ("key", False)}


def _type_name(value):
    return "a list" if isinstance(value, (list, tuple)) else "a dict" if isinstance(value, dict) else type(value).__name__


def _raw_params(module):
    """The arguments as given (before type conversion): the module's own when it runs in the controller."""
    raw = getattr(module, "raw_params", None)
    if raw is not None:
        return raw
    try:
        return _load_params()
    except Exception:  # pylint: disable=broad-except  # pragma: no cover - only when run outside Ansible
        return {}


def string_type_errors(argument_spec, raw):
    """Options of type str or path that were given a list or a dict (Ansible would make a string of it)."""
    errors = []
    for option, spec in sorted(argument_spec.items()):
        value = raw.get(option)
        if spec.get("type", "str") in ("str", "path") and isinstance(value, (list, tuple, dict)):
            errors.append("%s must be a string, got %s" % (option, _type_name(value)))
    return errors


def url_error(option, value):
    """None when ``value`` is an http(s) URL with a host, a valid port and no credentials, else the message
    (which never repeats credentials written into the URL, even where they break it)."""
    if value is None:
        return None
    shown = hide_option_userinfo(value)
    try:
        parsed = urlparse(value)
        port = parsed.port
    except ValueError as exc:  # '[::1' without its bracket, a port out of range or not a number
        # The parser's words may quote a piece of a password that broke the URL ('user:pa/ss@host').
        reason = exc if shown == value else "a port or an address that cannot be read"
        return "%s is not a usable URL (%s), got %r" % (option, reason, shown)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return "%s must be an http:// or https:// URL such as https://pulp.example.com, got %r" % (option, shown)
    if "@" in parsed.netloc:
        return ("%s must not hold credentials (user:password@ before the host): they would show in messages "
                "and logs; give them in the username and password options" % option)
    if port == 0:
        return "%s: port 0 is not a usable port, got %r" % (option, shown)
    return None


def label_errors(option, labels):
    """Pulp's label values are strings (or null): a number or a boolean would never equal what the server stores."""
    if not isinstance(labels, dict):
        return []
    return ["%s.%s must be a string, got %s %r%s" % (option, key, type(value).__name__, value,
                                                     ": quote it" if isinstance(value, (int, float)) else "")
            for key, value in sorted(labels.items(), key=lambda item: str(item[0]))
            if value is not None and not isinstance(value, str)]


def input_errors(params, argument_spec, raw=None, positive=(), non_negative=(), urls=(), files=(), out_dirs=(),
                 non_empty=(), pems=None):
    """Every problem with the given parameters, as one-line messages naming the option.

    ``pems``: more PEM options, as in ``CONNECTION_PEMS``.
    """
    errors = string_type_errors(argument_spec, raw or {})
    if errors:
        return errors
    for option in non_empty:
        if params.get(option) is not None and not str(params[option]).strip():
            errors.append("%s must not be empty: omit it instead" % option)
    for option in positive:
        if params.get(option) is not None and params[option] <= 0:
            errors.append("%s must be greater than 0, got %s" % (option, params[option]))
    for option in non_negative:
        if params.get(option) is not None and params[option] < 0:
            errors.append("%s must be 0 or more, got %s" % (option, params[option]))
    for option in ("pulp_url",) + tuple(urls):
        message = url_error(option, params.get(option))
        if message:
            errors.append(message)
    errors.extend(label_errors("pulp_labels", params.get("pulp_labels")))
    for option in files:
        if params.get(option) and not os.path.isfile(params[option]):
            errors.append("%s: no such file %r" % (option, params[option]))
    for option, (kind, text_allowed) in sorted(dict(CONNECTION_PEMS, **(pems or {})).items()):
        message = pem_error(option, params.get(option), kind, text_allowed=text_allowed)
        if message:
            errors.append(message)
    for option in out_dirs:
        if params.get(option):
            directory = os.path.dirname(os.path.abspath(params[option]))
            if os.path.isdir(params[option]):
                errors.append("%s: %r is a directory; give the path of a file to write" % (option, params[option]))
            elif not os.path.isdir(directory):
                errors.append("%s: directory %r does not exist" % (option, directory))
    return errors


def check_inputs(module, positive=(), non_negative=(), urls=(), files=(), out_dirs=(), non_empty=(), pems=None):
    """Fail the module (one line, naming the option) when an input is of a wrong type or impossible."""
    errors = input_errors(module.params, module.argument_spec, raw=_raw_params(module),
                          positive=("request_timeout",) + tuple(positive), non_negative=non_negative,
                          urls=urls, files=files, out_dirs=out_dirs, non_empty=non_empty, pems=pems)
    if errors:
        module.fail_json(msg="; ".join(errors))


def domain_aware(func):
    """Wrap a module's run(module): a failure in a pulp_domain that does not exist names the domain."""
    def wrapper(module):
        try:
            return func(module)
        except PulpAuthError:
            raise  # a refused credential or permission: the domain is not what went wrong
        except PulpError:
            missing = missing_domain(module.params)
            if missing:
                raise PulpError(missing)
            raise
    return wrapper


def missing_domain(params):
    """A message when params['pulp_domain'] does not exist on a server with domains enabled, else None."""
    domain = params.get("pulp_domain") or "default"
    if domain == "default":
        return None
    try:
        root = client_from_params(dict(params, pulp_domain="default"))
        if not root.domain_enabled:
            return None
        found = root.find("domains/", name=domain)
        # A user who may not list domains sees none, not even the default one: then nothing can be said.
        visible = found is not None or root.find("domains/", name="default") is not None
    except PulpError:
        return None
    if found is not None or not visible:
        return None
    return "pulp_domain: no domain %r on %s; create it first or fix pulp_domain" % (domain, params.get("pulp_url"))
