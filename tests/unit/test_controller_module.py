"""The replicate module run in the controller (ControllerModule + action plugin) against the module process.

No server: every case fails in input validation, before any request. The module process
runs plugins/modules/replicate.py the way Ansible does (arguments in a JSON file), so the
two paths are compared on what they return, not on how they are written.
"""

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from ansible_collections.pulpops.replication.plugins.plugin_utils.in_controller import in_process_blockers, plain
from ansible_collections.pulpops.replication.plugins.module_utils.common import ControllerModule, ModuleExit
from ansible_collections.pulpops.replication.plugins.module_utils.replication import argument_spec, module_main

from tests.conftest import COLLECTIONS, REPO

NAME = "pulpops.replication.replicate"
SECRET = "s3cret-Pa55"
URL_SECRET = "Zq9-url/pw"  # a password written into a URL (its '/' breaks the URL): masked all the same
BASE = {"pulp_url": "http://127.0.0.1:9", "upstream": "up", "password": SECRET, "upstream_password": SECRET}


def in_controller(args, check_mode=True):
    """What the action plugin returns for ``args`` (ModuleExit carries the module's result)."""
    with pytest.raises(ModuleExit) as exit_info:
        module_main(ControllerModule(NAME, argument_spec(), args, check_mode=check_mode))
    return exit_info.value.result


def as_module(args, tmp_path):
    """What the module process prints for ``args`` (run like AnsiballZ does, without the zip)."""
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=True,
                                                            _ansible_module_name=NAME)}))
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    proc = subprocess.run([sys.executable, os.path.join(REPO, "plugins", "modules", "replicate.py"), str(path)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, check=False, timeout=120)
    return json.loads(proc.stdout)


BAD_INPUTS = [
    ({"timeout": -1}, "timeout must be greater than 0, got -1"),
    ({"poll_interval": 0}, "poll_interval must be greater than 0, got 0"),
    ({"base_url": "ftp://up"}, "base_url must be an http:// or https:// URL"),
    ({"policy": "some"}, "value of policy must be one of: all, labeled, nodelete, got: some"),
    ({"upstream_ca_cert": "/nonexistent/ca.pem"}, "upstream_ca_cert: no such file '/nonexistent/ca.pem'"),
    ({"q_select": ["a"]}, "q_select must be a string, got a list"),
    ({"bogus": 1}, "Unsupported parameters for (%s) module: bogus" % NAME),
    ({"pulp_url": "http://admin:Zq9-url-pw@127.0.0.1:9"}, "pulp_url must not hold credentials"),
    ({"base_url": "http://sync:Zq9-url-pw@up:24817/"}, "base_url must not hold credentials"),
    ({"pulp_url": "http://admin:%s@127.0.0.1:9" % URL_SECRET}, "pulp_url is not a usable URL"),
    ({"pulp_url": "http://127.0.0.1:99999"}, "pulp_url is not a usable URL (Port out of range"),
    ({"q_select": ""}, "q_select must not be empty: omit it instead"),
]


@pytest.mark.parametrize("extra,message", BAD_INPUTS, ids=[sorted(b[0])[0] for b in BAD_INPUTS])
def test_bad_input_fails_the_same_way_in_the_controller_and_as_a_module(extra, message, tmp_path):
    controller = in_controller(dict(BASE, **extra))
    module = as_module(dict(BASE, **extra), tmp_path)

    assert controller["failed"] is True and module["failed"] is True
    assert message in controller["msg"]
    assert controller["msg"] == module["msg"]
    assert SECRET not in json.dumps(controller) and SECRET not in json.dumps(module)
    for result in (controller, module):
        assert "Zq9" not in json.dumps(result), result


def test_secrets_are_masked_in_what_the_controller_returns():
    result = in_controller(dict(BASE, timeout=0, username="admin"))

    args = result["invocation"]["module_args"]
    assert args["password"] != SECRET and args["upstream_password"] != SECRET
    assert args["username"] == "admin" and args["timeout"] == 0 and args["wait"] is True  # defaults applied
    assert SECRET not in json.dumps(result)


def test_an_unreachable_server_is_a_clean_failure_not_a_crash():
    result = in_controller(dict(BASE, request_timeout=2))

    assert result["failed"] is True
    assert "127.0.0.1:9" in result["msg"] and "could not connect" in result["msg"]
    assert "exception" not in result


def test_a_password_outside_latin_1_is_sent_not_a_crash():
    result = in_controller(dict(BASE, password="p\u00e4ss\u20ac-" + SECRET, request_timeout=2))

    assert result["failed"] is True and "could not connect" in result["msg"], result["msg"]
    assert "exception" not in result and SECRET not in json.dumps(result)


def fake(check_mode=True, transport="local", become=False, async_val=0, environment=None):
    task = SimpleNamespace(check_mode=check_mode, async_val=async_val, environment=environment or [{}])
    return task, SimpleNamespace(transport=transport), SimpleNamespace(become=become)


def test_the_controller_runs_every_mode_on_a_local_connection_only():
    assert in_process_blockers(*fake(), task_vars={}) == []
    assert in_process_blockers(*fake(check_mode=False), task_vars={}) == []
    assert in_process_blockers(*fake(transport="ssh"), task_vars={}) == ["connection ssh"]
    assert in_process_blockers(*fake(become=True), task_vars={}) == ["become"]
    assert in_process_blockers(*fake(async_val=30), task_vars={}) == ["async"]
    assert in_process_blockers(*fake(environment=[{"HTTPS_PROXY": "http://proxy:3128"}]), task_vars={}) == [
        "task environment"]
    assert in_process_blockers(*fake(), task_vars={"pulpops_replication_in_process": "false"}) == [
        "pulpops_replication_in_process is false"]


def test_arguments_reach_the_module_as_plain_json_types():
    class Tagged(str):
        pass

    args = plain({"name": Tagged("dist-a"), "pulp_labels": {"k": Tagged("v")}, "timeout": 5})

    assert args == {"name": "dist-a", "pulp_labels": {"k": "v"}, "timeout": 5}
    assert not isinstance(args["name"], Tagged) and not isinstance(args["pulp_labels"]["k"], Tagged)


def test_a_failure_the_module_reports_itself_keeps_its_result_in_the_controller():
    """fail_json inside run_safely ends the module as a module process's exit would, not as an unexpected error."""
    module = ControllerModule(NAME, argument_spec(), dict(BASE), check_mode=False)

    def refuse(mod):
        mod.fail_json(msg="Refusing to replicate", task_group=None, failed_tasks=[{"name": "m-0002"}])

    with pytest.raises(ModuleExit) as exit_info:
        module.run_safely(refuse)
    result = exit_info.value.result
    assert result["msg"] == "Refusing to replicate" and "exception" not in result
    assert result["task_group"] is None and result["failed_tasks"] == [{"name": "m-0002"}]
