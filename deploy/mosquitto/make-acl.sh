#!/usr/bin/env bash
# Print a Mosquitto ACL for stetho-edge identities (see deploy/mosquitto/acl for the result).
#
#   DOCTORS="alice bob" HUBS="hub-1" make-acl.sh SITE[:AGENT]... > /etc/mosquitto/stetho/acl
#
# Identities are certificate Common Names (use_identity_as_username):
#   agent.SITE.AGENT  a care home's edge agent (AGENT defaults to "agent")
#   doctor.NAME       a clinician's console, one per name in $DOCTORS
#   hub.NAME          a hospital hub (`stetho hub run`), one per name in $HUBS (default hub-1);
#                     several hub processes may share one identity with different client ids
# After changing the file, `systemctl reload mosquitto` (SIGHUP) re-reads it.
set -euo pipefail

(($# >= 1)) || { echo "usage: DOCTORS='NAME...' $0 SITE[:AGENT]..." >&2; exit 2; }
DOCTORS=${DOCTORS:-dev}
HUBS=${HUBS:-hub-1}
slug='^[a-z0-9][a-z0-9-]{0,62}$'
root=stetho/v1

cat <<HEADER
# Mosquitto ACL for stetho-edge, made by deploy/mosquitto/make-acl.sh.
# Topic tree: $root/{site}/{agent|device}/status (retained), {device}/recordings,
# {device}/recordings/audio, {site}/triage, {site}/alerts, {site}/acks, {device}/live,
# {device|agent}/cmd, {site}/exams, {site}/exams/answers, {site}/receipts.
#
# A care home's agent writes only its own site's data topics and reads only its own
# site's commands, acknowledgements, exam answers and receipts. It cannot write those
# (only clinicians and the hub send them) and cannot touch another site at all.
# Clinicians read every site's data and exams, and write acknowledgements, exam answers
# and commands (what stetho ack, answer, request and listen send).
# The hub reads every site's data (also through \$share/GROUP/... shared subscriptions:
# Mosquitto checks what it delivers against these topics) and writes receipts, and the
# console's acknowledgements, exam answers and recording requests (commands).
# An identity not listed here may connect but can neither publish nor receive anything.
HEADER

for spec in "$@"; do
    site=${spec%%:*}
    agent=agent
    [[ $spec == *:* ]] && agent=${spec#*:}
    [[ $site =~ $slug && $agent =~ $slug ]] || { echo "$0: '$spec' is not SITE[:AGENT] with slugs" >&2; exit 2; }
    cat <<AGENT

# Care home "$site", edge agent "$agent"
user agent.$site.$agent
topic write $root/$site/+/status
topic write $root/$site/+/recordings
topic write $root/$site/+/recordings/audio
topic write $root/$site/triage
topic write $root/$site/alerts
topic write $root/$site/+/live
topic write $root/$site/exams
topic read $root/$site/+/cmd
topic read $root/$site/acks
topic read $root/$site/exams/answers
topic read $root/$site/receipts
AGENT
done

for doctor in $DOCTORS; do
    [[ $doctor =~ $slug ]] || { echo "$0: doctor name '$doctor' is not a slug" >&2; exit 2; }
    cat <<DOCTOR

# Clinician "$doctor": every site
user doctor.$doctor
topic read $root/+/+/status
topic read $root/+/+/recordings
topic read $root/+/+/recordings/audio
topic read $root/+/triage
topic read $root/+/alerts
topic read $root/+/exams
topic read $root/+/+/live
topic readwrite $root/+/acks
topic readwrite $root/+/exams/answers
topic write $root/+/+/cmd
DOCTOR
done

for hub in $HUBS; do
    [[ $hub =~ $slug ]] || { echo "$0: hub name '$hub' is not a slug" >&2; exit 2; }
    cat <<HUB

# Hospital hub "$hub": every site
user hub.$hub
topic read $root/+/+/status
topic read $root/+/+/recordings
topic read $root/+/+/recordings/audio
topic read $root/+/triage
topic read $root/+/alerts
topic read $root/+/exams
topic read $root/+/+/live
topic readwrite $root/+/acks
topic readwrite $root/+/exams/answers
topic write $root/+/receipts
topic write $root/+/+/cmd
HUB
done
