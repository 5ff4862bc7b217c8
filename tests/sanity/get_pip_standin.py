# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pulpops.replication contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stand-in for the get-pip.py script ansible-test downloads to bootstrap pip in its venvs.

ansible-test fetches that script from a host this machine cannot reach; scripts/test
copies this file to ~/.ansible/test/cache/get_pip_<version>.py instead. It bootstraps pip
with ensurepip and then installs the packages ansible-test asked for (e.g. pip==24.2)
from the ordinary package index. ansible-test clears pip's environment, so the system
CA bundle is named explicitly.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# get-pip.py options that pip install itself does not know.
GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")


def main():
    """Install pip, then the requested packages, into the running interpreter's environment."""
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    if os.path.exists(CA_BUNDLE):
        args = ["--cert", CA_BUNDLE] + args
    if [arg for arg in args if not arg.startswith("-")]:
        subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)


if __name__ == "__main__":
    main()
