# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module shares: the connection options, the client, error reporting, masking of secrets."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib
from ansible.module_utils.common.arg_spec import ModuleArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError

from ansible_collections.pulpops.replication.plugins.module_utils.client import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    PulpClient,
    PulpError,
    url_passwords,
)


def connection_argument_spec():
    """The options of plugins/doc_fragments/connection.py, as an argument_spec."""
    return dict(
        pulp_url=dict(type="str", required=True, fallback=(env_fallback, ["PULP_URL"])),
        username=dict(type="str", fallback=(env_fallback, ["PULP_USERNAME"])),
        password=dict(type="str", no_log=True, fallback=(env_fallback, ["PULP_PASSWORD"])),
        validate_certs=dict(type="bool", default=True),
        ca_cert=dict(type="path"),
        client_cert=dict(type="path"),
        client_key=dict(type="path", no_log=False),
        pulp_domain=dict(type="str", default="default"),
        pulp_api_root=dict(type="str", default="/pulp/"),
        request_timeout=dict(type="int", default=60),
    )


def upstream_read_argument_spec():
    """The options a module uses to read the upstream (plan, audit): credentials and TLS."""
    return dict(
        upstream=dict(type="str", required=True),
        upstream_username=dict(type="str"),
        upstream_password=dict(type="str", no_log=True),
        upstream_validate_certs=dict(type="bool", default=True),
        upstream_ca_cert=dict(type="str"),
        upstream_client_cert=dict(type="path"),
        upstream_client_key=dict(type="path", no_log=False),
    )


def client_from_params(params):
    """A PulpClient from the connection options of a module's parameters."""
    return PulpClient(
        params["pulp_url"],
        username=params.get("username"),
        password=params.get("password"),
        validate_certs=params.get("validate_certs", True),
        ca_cert=params.get("ca_cert"),
        client_cert=params.get("client_cert"),
        client_key=params.get("client_key"),
        domain=params.get("pulp_domain") or "default",
        api_root=params.get("pulp_api_root") or "/pulp/",
        timeout=params.get("request_timeout") or 60,
    )


def spec_defaults(argument_spec):
    """{option: default} of an argument spec (None where it has none)."""
    return dict((name, spec.get("default")) for name, spec in argument_spec.items())


class PulpModuleMixin(object):
    """What PulpModule and ControllerModule share: the lazily built client and one error shape."""

    _client = None  # built by ``client`` on first use

    def _mask_url_passwords(self):
        """A password written into a URL option (refused by check_inputs) is masked like a no_log option,
        also in the result's invocation."""
        for value in self.params.values():
            self.no_log_values.update(url_passwords(value))

    @property
    def client(self):
        if self._client is None:
            try:
                self._client = client_from_params(self.params)
            except PulpError as exc:
                self.fail_json(msg=exc.message)
        return self._client

    def fail_pulp(self, exc, **extra):
        """Report an expected failure: one readable message, no stack trace, no secret."""
        result = dict(extra)
        if getattr(exc, "status", None):
            result["status_code"] = exc.status
        if getattr(exc, "fields", None):
            result["fields"] = exc.fields
        self.fail_json(msg=exc.message, **result)

    def run_safely(self, func):
        """Run ``func(self)``; PulpErrors become clean failures, anything else a failure with a trace."""
        try:
            result = func(self)
        except PulpError as exc:
            self.fail_pulp(exc)
        except Exception as exc:  # pragma: no cover - unexpected: show the trace for a bug report
            self.fail_json(msg="Unexpected error (please report it): %s" % exc, exception=traceback.format_exc())
        self.exit_json(**result)


class PulpModule(PulpModuleMixin, AnsibleModule):
    """AnsibleModule with the connection options, a lazily built client and one error shape."""

    def __init__(self, argument_spec=None, **kwargs):
        kwargs.setdefault("supports_check_mode", True)
        super(PulpModule, self).__init__(argument_spec=module_argument_spec(argument_spec), **kwargs)
        self._mask_url_passwords()
        if not HAS_REQUESTS:
            self.fail_json(msg=missing_required_lib("requests"), exception=str(REQUESTS_IMPORT_ERROR))


def module_argument_spec(argument_spec=None):
    """The connection options plus a module's own."""
    spec = connection_argument_spec()
    spec.update(argument_spec or {})
    return spec


class ModuleExit(BaseException):
    """Raised by ControllerModule.exit_json/fail_json: ``result`` is what the module would have returned.

    Like the SystemExit that ends a module process, it is no error: ``except Exception`` (run_safely's
    report of unexpected errors among them) lets it through to the action plugin that catches it.
    """

    def __init__(self, result):
        super(ModuleExit, self).__init__(result.get("msg", ""))
        self.result = result


class ControllerModule(PulpModuleMixin):
    """The subset of PulpModule a module's main function uses, run inside the controller process.

    The parameters go through the same ArgumentSpecValidator as an AnsibleModule's (types,
    defaults, choices, environment fallbacks, no_log values); exit_json and fail_json raise
    ModuleExit with the result, secrets masked, instead of printing it and exiting. Used by
    the collection's action plugins to run a module without a module process
    (plugin_utils/in_controller.py).
    """

    def __init__(self, name, argument_spec, args, check_mode=False, diff=False, **rules):
        self._name = name
        self.argument_spec = module_argument_spec(argument_spec)
        self.raw_params = dict(args)
        self.check_mode = check_mode
        self._diff = diff
        self.no_log_values = set()
        self.params = dict(args)
        # rules: mutually_exclusive, required_if, ... as a module passes them to AnsibleModule
        validation = ModuleArgumentSpecValidator(self.argument_spec, **rules).validate(self.params)
        self.params.update(validation.validated_parameters)
        self.no_log_values.update(validation._no_log_values)  # pylint: disable=protected-access
        self._mask_url_passwords()
        if validation.error_messages:
            msg = validation.errors.msg
            if isinstance(validation.errors[0], UnsupportedError):
                msg = "Unsupported parameters for (%s) module: %s" % (name, msg)
            self.fail_json(msg=msg)

    def _returned(self, result):
        result.setdefault("invocation", {"module_args": self.params})
        return remove_values(result, self.no_log_values)

    def exit_json(self, **result):
        result.setdefault("changed", False)
        raise ModuleExit(self._returned(result))

    def fail_json(self, msg, **result):
        result.update(failed=True, msg=str(msg))
        raise ModuleExit(self._returned(result))
