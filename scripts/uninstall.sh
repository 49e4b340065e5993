#!/usr/bin/env bash
# Remove the stetho-edge service (`sudo make uninstall`, or `sudo make uninstall PURGE=1`).
#
#   uninstall.sh            stop and disable the service, remove the unit and $PREFIX;
#                           keep recordings and the outbox (/var/lib/stetho-edge), logs,
#                           the configuration and certificates (/etc/stetho-edge) and the
#                           `stetho` user, so a reinstall picks up where it left off
#   uninstall.sh --purge    also delete all of those: unsent recordings are lost
#
# DESTDIR, PREFIX, SYSCONFDIR and UNITDIR as for scripts/install.sh.
set -euo pipefail

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/opt/stetho-edge}
SYSCONFDIR=${SYSCONFDIR:-/etc/stetho-edge}
UNITDIR=${UNITDIR:-/etc/systemd/system}
SERVICE=stetho-edge
SERVICE_USER=stetho
STATEDIR=/var/lib/stetho-edge
LOGDIR=/var/log/stetho-edge

say() { echo "uninstall: $*"; }
die() { echo "uninstall: error: $*" >&2; exit 1; }

purge=false
case "${1:-}" in
    "") ;;
    --purge) purge=true ;;
    *) die "usage: $0 [--purge]" ;;
esac
[[ $(id -u) -eq 0 ]] || die "run as root: sudo make uninstall"

if [[ -z $DESTDIR && -d /run/systemd/system ]]; then
    systemctl disable --now "$SERVICE.service" 2>/dev/null || true
else
    say "systemd is not running as PID 1 here${DESTDIR:+ (DESTDIR staging)}: not stopping the service"
fi

rm -f "$DESTDIR$UNITDIR/$SERVICE.service"
rm -rf "$DESTDIR$UNITDIR/$SERVICE.service.d"
rm -rf "$DESTDIR$PREFIX"
if [[ -z $DESTDIR && -d /run/systemd/system ]]; then
    systemctl daemon-reload
fi
say "removed the unit and $PREFIX"

if ! $purge; then
    say "kept $STATEDIR (recordings, outbox), $LOGDIR, $SYSCONFDIR and user $SERVICE_USER;" \
        "run with --purge to delete them"
    exit 0
fi

rm -rf "$DESTDIR$STATEDIR" "$DESTDIR$LOGDIR" "$DESTDIR$SYSCONFDIR"
# Lookups read DESTDIR's files when staging, the system's otherwise.
has_entry() {
    if [[ -n $DESTDIR ]]; then
        awk -F: -v n="$2" '$1 == n { f = 1 } END { exit !f }' "$DESTDIR/etc/$1" 2>/dev/null
    else
        getent "$1" "$2" >/dev/null
    fi
}
if has_entry passwd "$SERVICE_USER"; then
    userdel ${DESTDIR:+--prefix "$DESTDIR"} "$SERVICE_USER"
fi
# userdel drops the user's own group only where login.defs says USERGROUPS_ENAB yes.
if has_entry group "$SERVICE_USER"; then
    groupdel ${DESTDIR:+--prefix "$DESTDIR"} "$SERVICE_USER"
fi
say "purged $STATEDIR, $LOGDIR, $SYSCONFDIR and user $SERVICE_USER"
