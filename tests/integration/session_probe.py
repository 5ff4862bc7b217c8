"""Run by a test playbook's command task: the counts of the session keeper of the run it is part of.

Prints the keeper's ``stats`` as JSON (numbers only: the keeper never hands out a list of its
sessions), or ``{"keeper": null}`` when the run has none.
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                ".cache", "collections"))

# pylint: disable=wrong-import-position
from ansible_collections.pulpops.replication.plugins.module_utils.lock import playbook_pid  # noqa: E402
from ansible_collections.pulpops.replication.plugins.plugin_utils.session_keeper import (  # noqa: E402
    SessionStore,
    socket_path,
)

store = SessionStore(socket_path(playbook_pid()))
print(json.dumps(store.stats() if store.alive() else {"keeper": None}))
