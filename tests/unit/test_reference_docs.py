"""docs/reference/ is generated from the sources; a stale copy fails here.

Given the committed docs/reference/, when docs/build-reference renders the reference again
from each module's DOCUMENTATION and the role's argument_specs into a temporary directory,
then both trees hold the same files with the same text.
"""

import filecmp
import os
import subprocess
import sys
import tempfile

from tests.conftest import REPO

BUILD = os.path.join(REPO, "docs", "build-reference")
COMMITTED = os.path.join(REPO, "docs", "reference")


def tree(root):
    found = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            found[os.path.relpath(path, root)] = path
    return found


def test_reference_docs_match_the_sources():
    with tempfile.TemporaryDirectory(prefix="reference-") as fresh:
        env = dict(os.environ, VENV_BIN=os.path.dirname(sys.executable))
        proc = subprocess.run([BUILD, fresh], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              check=False, timeout=600)
        assert proc.returncode == 0, proc.stdout
        generated, committed = tree(fresh), tree(COMMITTED)
        assert sorted(generated) == sorted(committed), (
            "docs/reference/ lists other files than the sources produce; run docs/build-reference")
        stale = [name for name in sorted(generated) if not filecmp.cmp(generated[name], committed[name], shallow=False)]
        assert not stale, "docs/reference/ is stale (%s); run docs/build-reference and commit the result" % ", ".join(stale)
