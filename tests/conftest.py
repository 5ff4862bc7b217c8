"""Make the collection importable as ansible_collections.pulpops.replication for every test."""

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(REPO, ".cache", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "pulpops", "replication")


def ensure_collection_link():
    """<repo>/.cache/collections/ansible_collections/pulpops/replication -> <repo>."""
    if not os.path.islink(LINK):
        os.makedirs(os.path.dirname(LINK), exist_ok=True)
        try:
            os.symlink(REPO, LINK)
        except FileExistsError:
            pass
    return COLLECTIONS


ensure_collection_link()
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
