#!/usr/bin/env bash
# sync-tls.sh: the sync over HTTPS (examcentral --tls-cert/--tls-key,
# libevent_openssl at both ends) with a CA this test generates: the
# station verifies the office's certificate against [central] ca_file and
# the URL's host (an IP address or a name); a certificate from another CA,
# or one for another host name, is refused and nothing is stored; curl
# delivers an exported batch with the same CA.
. "$(dirname "$0")/lib.sh"
t_tmpdir
. "$TOP/tests/data/daemon/lib-daemon.sh"
. "$TOP/tests/data/sync/lib-sync.sh"

# ca NAME: a CA key and self-signed certificate in $T/NAME.{key,crt}
ca() {
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1 test CA" \
        -keyout "$T/$1.key" -out "$T/$1.crt" 2>/dev/null
}
# cert NAME CA SAN: a server certificate signed by CA for SAN
cert() {
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$T/$1.key" \
        -out "$T/$1.csr" 2>/dev/null &&
        printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$3" >"$T/$1.ext" &&
        openssl x509 -req -in "$T/$1.csr" -CA "$T/$2.crt" -CAkey "$T/$2.key" \
            -CAcreateserial -days 2 -extfile "$T/$1.ext" -out "$T/$1.crt" 2>/dev/null
}
ca goodca && ca otherca &&
    cert office goodca "DNS:localhost,IP:127.0.0.1" &&
    cert elsewhere goodca "DNS:office.elsewhere.example" ||
    t_fail "test certificates" "openssl failed"
chmod 600 "$T"/*.key

pick_zone
site_init "$T"
python3 "$SDATA/addevents.py" "$DB" 20
key_new "$T/st1.key"
office_keys "$T/keys" "S1/st1=$T/st1.key"
ODB=$T/office.db
central_start o "sqlite:$ODB" "$T/keys" --tls-cert "$T/office.crt" --tls-key "$T/office.key" ||
    t_fail "examcentral over TLS" "$(cat "${CLOG[o]}")"
grep -q "listening on https://" "${CLOG[o]}" && t_ok "listens on https" || t_fail "https" ""
P=${CPORT[o]}
t_eq "plain HTTP to the TLS port gets nothing" 000 \
    "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$P/healthz")"
t_eq "curl with the CA" true "$(curl -s --cacert "$T/goodca.crt" "https://127.0.0.1:$P/healthz" | jq .ok)"

CONF=$T/site.conf
LOG=$T/daemon.log
# conf URL CA: the station's configuration, reloaded
conf() {
    write_conf "$CONF" ticket
    central_conf "$CONF" "$1" "$T/st1.key" "$2" 10
}
conf "https://127.0.0.1:$P" "$T/otherca.crt"
daemon_start "$CONF" "$LOG" || t_fail "daemon start" "$(tail -5 "$LOG")"

out=$(ctl sync now 2>&1)
t_eq "a certificate from another CA: refused" 69 $?
t_contains "  ...saying so" "certificate is not trusted" "$out"
t_eq "  ...nothing stored" 0 "$(oq "$ODB" 'select count(*) from event')"

reload() { conf "$1" "$2"; kill -HUP "$DPID"; sleep 0.5; }
reload "https://127.0.0.1:$P" "$T/goodca.crt"
out=$(ctl sync now 2>&1)
t_eq "the right CA, by IP address: sent" 0 $?
n=$(q "select count(*) from event")
t_eq "  ...every event" "$n" "$(oq "$ODB" 'select count(*) from event')"

python3 "$SDATA/addevents.py" "$DB" 5
reload "https://localhost:$P" "$T/goodca.crt"
t_rc "the right CA, by host name: sent" 0 ctl sync now
t_eq "  ...every event" "$((n + 5))" "$(oq "$ODB" 'select count(*) from event')"

# the office presents a certificate for another host name
central_stop o TERM
central_start o "sqlite:$ODB" "$T/keys" --tls-cert "$T/elsewhere.crt" --tls-key "$T/elsewhere.key" ||
    t_fail "examcentral, other certificate" "$(tail -3 "${CLOG[o]}")"
python3 "$SDATA/addevents.py" "$DB" 5
for url in "https://127.0.0.1:$P" "https://localhost:$P"; do
    reload "$url" "$T/goodca.crt"
    out=$(ctl sync now 2>&1)
    t_eq "a certificate for another host ($url): refused" 69 $?
    t_contains "  ...saying so" "certificate is not trusted" "$out"
done
t_eq "  ...nothing stored" "$((n + 5))" "$(oq "$ODB" 'select count(*) from event')"

# back to the right certificate: curl delivers an export, then the daemon
central_stop o TERM
central_start o "sqlite:$ODB" "$T/keys" --tls-cert "$T/office.crt" --tls-key "$T/office.key" ||
    t_fail "examcentral restart" ""
reload "https://127.0.0.1:$P" "$T/goodca.crt"
mkdir "$T/exp"
ctl --config "$CONF" sync export "$T/exp" >/dev/null
f=$(ls "$T"/exp/*.ndjson.gz)
s=$(basename "$f" .ndjson.gz)
OFFICE_URL=https://127.0.0.1:$P CURL_CA=$T/goodca.crt
t_eq "curl --data-binary over HTTPS" 200 "$(post "$f" S1 st1 "${s##*-}")"
t_rc "and the station's sync after it" 0 ctl sync now
t_eq "every event once" "$(q "select count(*) from event")" "$(oq "$ODB" 'select count(*) from event')"
# the office's unit, hardened
if command -v systemd-analyze >/dev/null; then
    t_rc "examcentral.service: exposure <= 2.0" 0 systemd-analyze security --offline=true \
        --threshold=20 "$TOP/systemd/examcentral.service"
fi
kill -TERM "$DPID"; wait "$DPID" 2>/dev/null
central_stop o TERM
sanitizer_clean "no sanitizer report at exit" "$LOG" "${CLOG[o]}" 
t_done
