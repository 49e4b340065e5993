#!/usr/bin/env bash
# Sets up everything stetho-edge needs on Debian or Raspberry Pi OS:
# system packages (Mosquitto, RabbitMQ and NATS for the MQTT 3.1.1 tests, FLAC tools, libsndfile,
# PostgreSQL for the hub tests,
# venv), then a virtual
# environment with the locked Python dependencies. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
# rabbitmq-server: the MQTT 3.1.1 tests start their own node (MQTT plugin, loopback, private
# epmd port); the system service Debian enables is neither needed nor touched. nats-server: the
# same for NATS's MQTT gateway (tests/nats.py starts its own, loopback, JetStream in tmp).
APT_PACKAGES=(mosquitto mosquitto-clients flac libsndfile1 postgresql libpq5 chromium chromium-driver
    rabbitmq-server nats-server)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
    missing+=(python3-venv)
fi

if ((${#missing[@]})); then
    echo "bootstrap: installing Debian packages: ${missing[*]}" >&2
    if [[ $(id -u) -eq 0 ]]; then
        SUDO=()
    elif command -v sudo >/dev/null; then
        SUDO=(sudo)
    else
        echo "bootstrap: these Debian packages are missing and I am not root and sudo is absent:" >&2
        echo "    apt-get install ${missing[*]}" >&2
        echo "bootstrap: run that as root, then run this command again." >&2
        exit 1
    fi
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "bootstrap: stetho-edge needs Python 3.11 or newer; $PYTHON is $("$PYTHON" --version)" >&2
    exit 1
fi

stamp="$VENV/.stetho-installed"
if [[ ! -f "$stamp" || requirements-dev.lock -nt "$stamp" || pyproject.toml -nt "$stamp" ]]; then
    echo "bootstrap: preparing the virtual environment in $VENV" >&2
    [[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
    # Every dependency at the version CI tested, checked against its published hashes; then the
    # project itself, editable, which brings no dependency of its own.
    # --no-compile: Python compiles what is imported when it is first imported; compiling all
    # of scipy, matplotlib and the rest up front cost about 60 s of every fresh setup. Where the
    # environment forbids writing bytecode, `make test` writes it anyway (Makefile).
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-compile \
        --require-hashes -r requirements-dev.lock
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e .
    touch "$stamp"
fi
