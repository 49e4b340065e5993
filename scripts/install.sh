#!/usr/bin/env bash
# Install stetho-edge as a system service on Raspberry Pi OS / Debian (`sudo make install`).
#
#   - system user `stetho` (in groups bluetooth and audio, when they exist)
#   - virtual environment in $PREFIX/venv with the locked dependencies (requirements.lock)
#   - $SYSCONFDIR/config.toml from config.example.toml, only if absent (0640 root:stetho)
#   - /var/lib/stetho-edge (0750 stetho:stetho), so `stetho pair` can run before the first start
#   - the systemd unit, enabled (not started: edit the configuration first)
#
# Running it again upgrades the code and dependencies, keeps the configuration, and
# restarts the service if it was running.
#
# Environment:
#   DESTDIR     stage everything under this directory instead of / (tests, packaging).
#               The user is then created in DESTDIR/etc/passwd (useradd --prefix) and
#               systemctl is not run. The venv's scripts name their DESTDIR path, so a
#               staged tree is for inspection, not for copying to a Pi.
#   PREFIX      default /opt/stetho-edge       SYSCONFDIR  default /etc/stetho-edge
#   UNITDIR     default /etc/systemd/system    PYTHON      default python3 (3.11 or newer)
#   CONFIG_EXAMPLE  default config.example.toml in the source tree
#   EXTRAS      optional features, e.g. "usb" for USB stethoscopes (PyAudio; needs
#               `apt-get install portaudio19-dev python3-dev gcc` first: no Linux wheels)
#   PIP_OPTS    extra pip options, e.g. "--no-index --find-links /media/usb/wheels" to
#               install offline from a wheelhouse
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/opt/stetho-edge}
SYSCONFDIR=${SYSCONFDIR:-/etc/stetho-edge}
UNITDIR=${UNITDIR:-/etc/systemd/system}
PYTHON=${PYTHON:-python3}
CONFIG_EXAMPLE=${CONFIG_EXAMPLE:-$SRC/config.example.toml}
PIP_OPTS=${PIP_OPTS:-}
EXTRAS=${EXTRAS:-}
SERVICE=stetho-edge
SERVICE_USER=stetho
STATE_HOME=/var/lib/stetho-edge
WANTED_GROUPS=(bluetooth audio)

say() { echo "install: $*"; }
die() { echo "install: error: $*" >&2; exit 1; }

# Group and user lookups read DESTDIR's files when staging, the system's otherwise.
group_gid() {
    if [[ -n $DESTDIR ]]; then
        awk -F: -v g="$1" '$1 == g { print $3 }' "$DESTDIR/etc/group" 2>/dev/null
    else
        getent group "$1" | cut -d: -f3
    fi
}
user_exists() {
    if [[ -n $DESTDIR ]]; then
        awk -F: -v u="$1" '$1 == u { found = 1 } END { exit !found }' "$DESTDIR/etc/passwd" 2>/dev/null
    else
        getent passwd "$1" >/dev/null
    fi
}
user_id() {
    if [[ -n $DESTDIR ]]; then
        awk -F: -v u="$1" '$1 == u { print $3 }' "$DESTDIR/etc/passwd"
    else
        id -u "$1"
    fi
}
systemd_running() { [[ -z $DESTDIR && -d /run/systemd/system ]]; }  # sd_booted(3)

preflight() {
    [[ $(id -u) -eq 0 ]] || die "run as root: sudo make install"
    [[ -f $CONFIG_EXAMPLE ]] || die "no example configuration at $CONFIG_EXAMPLE"
    [[ -f $SRC/requirements.lock ]] || die "no requirements.lock in $SRC"
    # requirements-hub.lock and -dev.lock exist too, but neither belongs on a Pi.
    [[ -z $EXTRAS || $EXTRAS == usb ]] ||
        die "EXTRAS=$EXTRAS: only usb is offered on the Pi (the hub: docs/hospital.md)"
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null ||
        die "$PYTHON must be Python 3.11 or newer (Raspberry Pi OS 12 'bookworm' has it)"
    "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null ||
        die "the venv module is missing: apt-get install python3-venv"
    if [[ -n $DESTDIR ]]; then
        say "staging under DESTDIR=$DESTDIR"
        mkdir -p "$DESTDIR/etc"
    fi
}

create_user() {
    local present=() group
    for group in "${WANTED_GROUPS[@]}"; do
        if [[ -n $(group_gid "$group") ]]; then present+=("$group"); fi
    done
    local joined
    joined=$(IFS=,; echo "${present[*]}")
    if user_exists "$SERVICE_USER"; then
        say "user $SERVICE_USER exists"
        if [[ -n $joined ]]; then
            usermod ${DESTDIR:+--prefix "$DESTDIR"} -a -G "$joined" "$SERVICE_USER"
        fi
    else
        say "creating system user $SERVICE_USER${joined:+ (groups $joined)}"
        useradd ${DESTDIR:+--prefix "$DESTDIR"} --system --user-group --no-create-home \
            --home-dir "$STATE_HOME" --shell /usr/sbin/nologin --comment "stetho-edge agent" \
            ${joined:+--groups "$joined"} "$SERVICE_USER"
    fi
}

install_venv() {
    local venv=$DESTDIR$PREFIX/venv
    say "installing stetho-edge and its locked dependencies into $venv"
    mkdir -p "$DESTDIR$PREFIX"
    [[ -x $venv/bin/python ]] || "$PYTHON" -m venv "$venv"
    local lock=$SRC/requirements${EXTRAS:+-$EXTRAS}.lock
    [[ -f $lock ]] || die "no lock file $lock"
    # Every dependency at the version CI tested, checked against its published hashes; then the
    # project itself, which brings no dependency of its own.
    # shellcheck disable=SC2086 # PIP_OPTS is a list of options
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $PIP_OPTS \
        --require-hashes -r "$lock"
    # shellcheck disable=SC2086
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $PIP_OPTS \
        --no-deps "$SRC"
    # The unit's Documentation= points here.
    install -D -m 0644 "$SRC/docs/deploy-raspberry-pi.md" "$DESTDIR$PREFIX/doc/deploy-raspberry-pi.md"
    chmod -R go-w "$DESTDIR$PREFIX"
}

install_config() {
    local dir=$DESTDIR$SYSCONFDIR gid
    gid=$(group_gid "$SERVICE_USER")
    [[ -n $gid ]] || die "group $SERVICE_USER does not exist"
    # root owns the configuration; the service reads it through its group, never writes it.
    install -d -m 0750 -o 0 -g "$gid" "$dir"
    if [[ -e $dir/config.toml ]]; then
        say "keeping existing $SYSCONFDIR/config.toml"
    else
        install -m 0640 -o 0 -g "$gid" "$CONFIG_EXAMPLE" "$dir/config.toml"
        say "wrote $SYSCONFDIR/config.toml from the example: set site, broker and devices"
    fi
}

install_state_dir() {
    # systemd creates it at the first start (StateDirectory=); `stetho pair` may run before.
    local uid gid
    uid=$(user_id "$SERVICE_USER")
    gid=$(group_gid "$SERVICE_USER")
    install -d -m 0750 -o "$uid" -g "$gid" "$DESTDIR$STATE_HOME"
}

install_unit() {
    local dir=$DESTDIR$UNITDIR missing=() group
    install -D -m 0644 "$SRC/systemd/$SERVICE.service" "$dir/$SERVICE.service"
    for group in "${WANTED_GROUPS[@]}"; do
        if [[ -z $(group_gid "$group") ]]; then missing+=("$group"); fi
    done
    local dropin=$dir/$SERVICE.service.d/10-groups.conf
    if ((${#missing[@]})); then
        # systemd refuses to start a unit naming a group that does not exist.
        say "groups missing on this system: ${missing[*]} (install bluez for BLE);" \
            "writing $UNITDIR/$SERVICE.service.d/10-groups.conf without them"
        local keep=()
        for group in "${WANTED_GROUPS[@]}"; do
            if [[ -n $(group_gid "$group") ]]; then keep+=("$group"); fi
        done
        install -d -m 0755 "$(dirname "$dropin")"
        printf '# Written by scripts/install.sh: these groups do not exist here.\n[Service]\nSupplementaryGroups=\nSupplementaryGroups=%s\n' \
            "${keep[*]}" >"$dropin"
    else
        rm -f "$dropin"
    fi
}

enable_service() {
    if ! systemd_running; then
        say "systemd is not running as PID 1 here${DESTDIR:+ (DESTDIR staging)}: skipped" \
            "daemon-reload and enable; on the Pi run: systemctl enable --now $SERVICE"
        return
    fi
    systemctl daemon-reload
    systemctl enable "$SERVICE.service"
    if systemctl is-active --quiet "$SERVICE.service"; then
        # A new version may reject keys the old one accepted: check before restarting.
        if "$PREFIX/venv/bin/stetho" config check "$SYSCONFDIR/config.toml" >/dev/null; then
            systemctl restart "$SERVICE.service"
            say "restarted the running service with the new version"
        else
            say "NOT restarted: fix $SYSCONFDIR/config.toml for this version" \
                "(stetho config check), then: systemctl restart $SERVICE"
        fi
    else
        say "enabled; once $SYSCONFDIR/config.toml is ready: systemctl start $SERVICE"
    fi
}

preflight
create_user
install_venv
install_config
install_state_dir
install_unit
enable_service
say "done. Check with: systemctl status $SERVICE; journalctl -u $SERVICE; $PREFIX/venv/bin/stetho status"
