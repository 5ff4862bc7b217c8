"""The AWX credential type of docs/awx.md (docs/examples/awx-credential-type.yml), rendered as AWX renders it.

tests/integration/test_awx_runner.py runs the collection's playbooks with what these injectors give;
here: the definition's shape, what it injects with and without the optional inputs, and that its
extra variables leave every inventory host free to name its own server.
"""

import os

import pytest
import yaml

from tests.conftest import REPO
from tests.integration.awx import CREDENTIAL_TYPE, credential_type, render_injectors

INPUTS = {"pulp_url": "https://pulp.example.com", "pulp_username": "replicator", "pulp_password": "s3cret",
          "upstream_username": "reader", "upstream_password": "r3ad"}


def test_definition_is_an_awx_custom_credential_type():
    ctype = credential_type()
    assert ctype["name"] == "Pulp server" and ctype["kind"] in ("cloud", "net")
    fields = {field["id"]: field for field in ctype["inputs"]["fields"]}
    assert list(fields) == list(INPUTS)
    assert all(field["type"] == "string" and field["label"] for field in fields.values())
    assert sorted(name for name, field in fields.items() if field.get("secret")) == ["pulp_password", "upstream_password"]
    assert ctype["inputs"]["required"] == ["pulp_url", "pulp_username", "pulp_password"]
    assert set(ctype["injectors"]) == {"env", "extra_vars"}


def test_injectors_with_every_input():
    env, extra_vars = render_injectors(credential_type(), INPUTS)
    assert env == {"PULP_URL": "https://pulp.example.com", "PULP_USERNAME": "replicator", "PULP_PASSWORD": "s3cret"}
    assert extra_vars == {"pulp_server_url": "https://pulp.example.com", "pulp_server_username": "replicator",
                          "pulp_server_password": "s3cret", "pulp_upstream_username": "reader",
                          "pulp_upstream_password": "r3ad"}


def test_optional_inputs_left_out_render_empty():
    required = {k: v for k, v in INPUTS.items() if not k.startswith("upstream_")}
    _env, extra_vars = render_injectors(credential_type(), required)
    assert extra_vars["pulp_upstream_username"] == "" and extra_vars["pulp_upstream_password"] == ""


def test_a_required_input_is_required():
    with pytest.raises(AssertionError, match="pulp_password"):
        render_injectors(credential_type(), {k: v for k, v in INPUTS.items() if k != "pulp_password"})


def test_extra_vars_are_not_role_variables():
    """AWX passes them with -e, above every inventory variable: a role variable there would send every host to one server."""
    with open(os.path.join(REPO, "roles", "replica", "meta", "argument_specs.yml")) as handle:
        options = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    assert not set(credential_type()["injectors"]["extra_vars"]) & set(options)


def test_env_injectors_are_the_modules_fallbacks():
    with open(os.path.join(REPO, "plugins", "doc_fragments", "connection.py")) as handle:
        fragment = handle.read()
    for name in credential_type()["injectors"]["env"]:
        assert name in fragment, name


def test_docs_point_to_the_definition():
    with open(os.path.join(REPO, "docs", "awx.md")) as handle:
        page = handle.read()
    assert os.path.relpath(CREDENTIAL_TYPE, os.path.join(REPO, "docs")) in page
