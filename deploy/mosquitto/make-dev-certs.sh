#!/usr/bin/env bash
# Make a development CA and the certificates a stetho-edge deployment needs, with openssl.
# For tests and first deployments; a hospital in production issues these from its own PKI.
#
#   make-dev-certs.sh OUTDIR SITE[:AGENT]...
#
# Writes into OUTDIR (created if needed; the CA is reused if OUTDIR already holds one):
#   ca.crt ca.key                      the development CA (keep ca.key off the broker and agents)
#   server.crt server.key              the broker, valid for $SERVER_NAMES
#   agent.SITE.AGENT.crt/.key          one per care-home agent (AGENT defaults to "agent",
#                                      the agent_id a config.toml uses unless it sets one)
#   doctor.NAME.crt/.key               one per name in $DOCTORS (default: "dev")
#   hub.NAME.crt/.key                  one per name in $HUBS (default: "hub-1"), the hospital hub
#
# The certificate's Common Name is the MQTT identity (Mosquitto's use_identity_as_username),
# which deploy/mosquitto/acl grants topics to. SITE, AGENT and NAME are slugs:
# lower-case letters, digits and '-', so the '.' in an identity is unambiguous.
#
# Environment: SERVER_NAMES (default "localhost 127.0.0.1": names and IPs the broker's
# certificate is valid for), DOCTORS (default "dev"), HUBS (default "hub-1"), DAYS (leaf
# validity, default 397).
set -euo pipefail

usage() { echo "usage: $0 OUTDIR SITE[:AGENT]..." >&2; exit 2; }
(($# >= 2)) || usage
outdir=$1
shift
SERVER_NAMES=${SERVER_NAMES:-localhost 127.0.0.1}
DOCTORS=${DOCTORS:-dev}
HUBS=${HUBS:-hub-1}
DAYS=${DAYS:-397}
slug='^[a-z0-9][a-z0-9-]{0,62}$'

command -v openssl >/dev/null || { echo "$0: openssl is not installed (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$outdir"
umask 077  # private keys are readable by their owner only

new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# issue NAME CN EXTENSIONS: key, CSR, then a certificate signed by the CA.
issue() {
    local name=$1 cn=$2 ext=$3
    new_key "$outdir/$name.key"
    openssl req -new -key "$outdir/$name.key" -subj "/O=stetho-edge dev/CN=$cn" \
        -out "$outdir/$name.csr"
    printf '%s\n' "$ext" >"$outdir/$name.ext"
    openssl x509 -req -in "$outdir/$name.csr" -CA "$outdir/ca.crt" -CAkey "$outdir/ca.key" \
        -CAcreateserial -days "$DAYS" -sha256 -extfile "$outdir/$name.ext" \
        -out "$outdir/$name.crt" 2>/dev/null
    rm -f "$outdir/$name.csr" "$outdir/$name.ext"
    chmod 644 "$outdir/$name.crt"
    echo "make-dev-certs: $outdir/$name.crt (CN=$cn)"
}

if [[ ! -f $outdir/ca.key ]]; then
    new_key "$outdir/ca.key"
    openssl req -x509 -new -key "$outdir/ca.key" -days 1825 -sha256 \
        -subj "/O=stetho-edge dev/CN=stetho-edge development CA" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$outdir/ca.crt"
    chmod 644 "$outdir/ca.crt"
    echo "make-dev-certs: new CA $outdir/ca.crt"
fi

client_ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"

san=""
for name in $SERVER_NAMES; do
    if [[ $name =~ ^[0-9.]+$ || $name == *:* ]]; then san+="IP:$name,"; else san+="DNS:$name,"; fi
done
issue server "${SERVER_NAMES%% *}" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=${san%,}"

for spec in "$@"; do
    site=${spec%%:*}
    agent=agent
    [[ $spec == *:* ]] && agent=${spec#*:}
    [[ $site =~ $slug && $agent =~ $slug ]] || { echo "$0: '$spec' is not SITE[:AGENT] with slugs" >&2; exit 2; }
    issue "agent.$site.$agent" "agent.$site.$agent" "$client_ext"
done

for doctor in $DOCTORS; do
    [[ $doctor =~ $slug ]] || { echo "$0: doctor name '$doctor' is not a slug" >&2; exit 2; }
    issue "doctor.$doctor" "doctor.$doctor" "$client_ext"
done

for hub in $HUBS; do
    [[ $hub =~ $slug ]] || { echo "$0: hub name '$hub' is not a slug" >&2; exit 2; }
    issue "hub.$hub" "hub.$hub" "$client_ext"
done
