# Sourced by scripts/test and scripts/demo: the repository's paths and its tool venv.
# shellcheck shell=bash

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$REPO/.venv"
PY="$VENV/bin/python"
COLLECTIONS="$REPO/.cache/collections"
PULPLAB=("$PY" "$REPO/tests/lab/pulplab")

say() { printf '\n==> %s\n' "$*"; }

# Create .venv (python3.11) if missing and install requirements/test.txt with the pins of
# requirements/constraints.txt whenever either file changed; put the venv's tools first on PATH
# and make this checkout visible to Ansible as pulpops.replication.
setup_venv() {
    if [ ! -x "$PY" ]; then
        say "creating $VENV"
        python3.11 -m venv "$VENV" || return 1
    fi
    local stamp="$VENV/.requirements-test.sha256" wanted
    wanted="$(cat "$REPO/requirements/test.txt" "$REPO/requirements/constraints.txt" | sha256sum | cut -d' ' -f1)"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
        say "installing requirements/test.txt (pins: requirements/constraints.txt)"
        "$PY" -m pip install -q --disable-pip-version-check --progress-bar off \
            -r "$REPO/requirements/test.txt" -c "$REPO/requirements/constraints.txt" || return 1
        echo "$wanted" > "$stamp"
    fi
    export PATH="$VENV/bin:$PATH"
    local link="$COLLECTIONS/ansible_collections/pulpops/replication"
    if [ ! -L "$link" ]; then
        mkdir -p "$(dirname "$link")"
        ln -sfn "$REPO" "$link"
    fi
    export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS"
}
