#!/bin/sh
# Proves IP-in-IP works between this node and its peers before any pod moves onto Calico: pings
# each peer's tunnel address from the node's own network namespace. The route Calico programs to a
# peer's pod block (and so to its tunnel address) goes out tunl0, so the echo and its reply both
# travel encapsulated (IP protocol 4) between the two nodes' addresses. A firewall or security
# group that drops protocol 4 leaves calico-node Ready (BGP runs over TCP 179), passes every other
# gate, and only shows when pods on different nodes cannot reach each other: this fails first,
# naming each pair. Runs in the busybox image, in a host-network pod, as the second step of the
# tunnel-check pod.
#   NODE_NAME   this node
#   PEERS_FILE  "<node> <tunnel address>" lines (tunnel-peers.sh)
#   PINGS       echo requests per peer; one answer is enough (default 3)
set -eu
NODE_NAME="${NODE_NAME:?NODE_NAME is required}"
PEERS_FILE="${PEERS_FILE:?PEERS_FILE is required}"
PINGS="${PINGS:-3}"

log() { echo "tunnel-check[$NODE_NAME]: $*"; }
die() { echo "tunnel-check[$NODE_NAME]: ERROR: $*" >&2; exit 1; }

for tool in ping cat; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found in the image; nothing was checked"
done
[ -r "$PEERS_FILE" ] || die "no peer list at $PEERS_FILE (the tunnel-peers step writes it)"

failed=""
checked=0
while read -r peer addr; do
  [ -n "$peer" ] || continue
  checked=$((checked + 1))
  if ping -c "$PINGS" -W 2 -q "$addr" >/dev/null 2>&1; then
    log "$NODE_NAME → $peer (tunnel $addr): answers"
  else
    echo "tunnel-check[$NODE_NAME]: $NODE_NAME → $peer (tunnel $addr): no answer to $PINGS echo requests" >&2
    failed="$failed $peer"
  fi
done < "$PEERS_FILE"

[ -z "$failed" ] || die "IP-in-IP does not get through from $NODE_NAME to:$failed. Calico sends pod traffic between nodes encapsulated as IP protocol 4: a firewall, security group or cloud network ACL between the nodes' addresses that drops protocol 4 (only TCP, UDP and ICMP are allowed by many) does this, while BGP (TCP 179) and so calico-node's readiness still work. Allow IP protocol 4 between the nodes, then the kubelet runs this check again."
log "all $checked peer(s) answer over IP-in-IP"
