# Sourced by run.sh and test.sh: a virtualenv in .venv with requirements-dev.txt and the runner
# package (editable, with its numpy/matplotlib extra) installed. Reinstalls only when a requirements
# file or the runner's pyproject.toml changed (a stamp holds their hash).
ensure_venv() {
    local python="${PYTHON:-python3}"
    if [ ! -x .venv/bin/python ]; then
        echo "==> creating .venv with $($python --version)"
        "$python" -m venv .venv
    fi
    local stamp=".venv/.stamp-requirements"
    local want
    want=$(cat requirements.txt requirements-dev.txt runner_client/pyproject.toml | sha256sum | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        echo "==> installing Python packages into .venv"
        .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
        .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
        .venv/bin/python -m pip install -q --disable-pip-version-check -e "./runner_client[numpy]"
        echo "$want" > "$stamp"
    fi
}
