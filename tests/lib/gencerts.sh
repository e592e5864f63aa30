#!/bin/sh
# Make a test CA and certificates signed by it in DIR (created if missing), with openssl:
# ca.crt/ca.key, server.crt/server.key (CN localhost, SAN IP 127.0.0.1 and DNS localhost; also
# usable as a client certificate, as raft peers need), client.crt/client.key, and
# other-ca.crt with other.crt/other.key (a second CA the servers do not trust), and
# server-other.crt: server.key's certificate signed by other-ca (a reload test swaps it in).
# Test use only.
set -eu
dir=${1:?usage: gencerts.sh DIR}
mkdir -p "$dir"
cd "$dir"
ossl() { openssl "$@" >/dev/null 2>&1; }
mkca() { # name
    ossl req -x509 -new -nodes -newkey rsa:2048 -sha256 -days 2 -subj "/CN=ConcordKV test $1" \
        -keyout "$1.key" -out "$1.crt"
}
mkcert() { # name ca cn [existing key]
    if [ -n "${4:-}" ]; then
        ossl req -new -key "$4.key" -subj "/CN=$3" -out "$1.csr"
    else
        ossl req -new -nodes -newkey rsa:2048 -subj "/CN=$3" -keyout "$1.key" -out "$1.csr"
    fi
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' > "$1.ext"
    ossl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -days 2 -sha256 \
        -extfile "$1.ext" -out "$1.crt"
    rm -f "$1.csr" "$1.ext"
}
mkca ca
mkcert server ca localhost
mkcert client ca client
mkca other-ca
mkcert other other-ca other
mkcert server-other other-ca localhost server
