#!/bin/sh
# Connectivity probe, run from a pod on one network: DNS, then for each target network a Service
# request and a direct pod-to-pod request, checking that the answering pod really has an IP of
# that network. Retries while the probe servers start; fails naming the first check that fails.
#   FROM       the network this pod is on (weave | calico), for the log
#   TARGETS    "name=cidr ..." e.g. "weave=10.32.0.0/12 calico=10.48.0.0/12"
#   NAMESPACE  where the probe Services live
#   ATTEMPTS   tries per check (5 s apart)
set -eu
FROM="${FROM:-?}"
TARGETS="${TARGETS:?TARGETS is required}"
NAMESPACE="${NAMESPACE:-cni-migrate-probe}"
ATTEMPTS="${ATTEMPTS:-36}"
PORT="${PORT:-8080}"

log() { echo "probe[$FROM]: $*"; }
fail() { echo "probe[$FROM]: FAILED: $*" >&2; exit 1; }

# Every command this script runs, checked before it changes anything: the image may lack one.
for tool in nslookup awk wget timeout sleep seq head; do
  command -v "$tool" >/dev/null 2>&1 || { echo "probe[$FROM]: ERROR: $tool not found in the image; nothing was changed" >&2; exit 1; }
done

# retry CMD...: run until it succeeds, ATTEMPTS times.
retry() {
  i=0
  until "$@"; do
    i=$((i + 1))
    [ "$i" -lt "$ATTEMPTS" ] || return 1
    sleep 5
  done
}

# The IPv4 addresses a name resolves to (busybox nslookup output).
addresses() { nslookup "$1" 2>/dev/null | awk '/^Name:/ {seen = 1; next} seen && /^Address/ {for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/) print $i}'; }

# in_cidr IP CIDR
in_cidr() {
  awk -v ip="$1" -v cidr="$2" 'BEGIN {
    split(cidr, c, "/"); split(c[1], n, "."); split(ip, a, ".")
    size = 1
    for (i = 0; i < 32 - c[2]; i++) size *= 2
    x = ((a[1] * 256 + a[2]) * 256 + a[3]) * 256 + a[4]
    y = ((n[1] * 256 + n[2]) * 256 + n[3]) * 256 + n[4]
    exit (int(x / size) == int(y / size)) ? 0 : 1
  }'
}

# (busybox 1.35 wget crashes with -T; timeout bounds it instead)
answer_ok() { [ "$(timeout 5 wget -q -O - "$1" 2>/dev/null)" = ok ]; }

retry sh -c "nslookup kubernetes.default >/dev/null 2>&1" || fail "DNS: kubernetes.default does not resolve"
log "DNS: kubernetes.default resolves"

for t in $TARGETS; do
  net="${t%%=*}"
  cidr="${t#*=}"
  svc=""
  for attempt in $(seq 1 "$ATTEMPTS"); do
    svc=$(addresses "probe-$net.$NAMESPACE" | head -n 1)
    [ -n "$svc" ] && answer_ok "http://$svc:$PORT/" && break
    svc=""
    [ "$attempt" -lt "$ATTEMPTS" ] && sleep 5
  done
  [ -n "$svc" ] || fail "pod → Service: probe-$net.$NAMESPACE does not resolve or its ClusterIP does not answer on port $PORT"
  log "pod → Service probe-$net ($svc): ok"
  found=""
  for attempt in $(seq 1 "$ATTEMPTS"); do
    for ip in $(addresses "probe-$net-pods.$NAMESPACE"); do
      if in_cidr "$ip" "$cidr" && answer_ok "http://$ip:$PORT/"; then found="$ip"; break; fi
    done
    [ -n "$found" ] && break
    [ "$attempt" -lt "$ATTEMPTS" ] && sleep 5
  done
  [ -n "$found" ] || fail "pod → pod: no probe-$net pod with an IP in $cidr answered"
  log "pod → pod on $net ($found): ok"
done
log "all checks passed"
