#!/bin/sh
# Which nodes this node's tunnel check pings: the TUNNEL_PEERS nodes that follow it in name order
# (wrapping around), among the nodes calico-node has given an IP-in-IP tunnel address. Successors
# in a ring spread the pairs: with every node of a wave checking its successors, each node of the
# cluster is pinged by some node of some wave. Runs in the kubectl image, as the first step of the
# tunnel-check pod; the second step (tunnel-check.sh, in the busybox image) pings them.
#
# The address: calico-node allocates each node's tunnel address and, on the Kubernetes datastore,
# keeps it as the Node annotation projectcalico.org/IPv4IPIPTunnelAddr (Calico
# libcalico-go/lib/backend/k8s/resources/node.go, nodeBgpIpv4IPIPTunnelAddrAnnotation).
#   NODE_NAME     this node
#   TUNNEL_PEERS  how many peers (default 3)
#   PEERS_FILE    where to write "<node> <tunnel address>" lines
#   WORK          a scratch folder
set -eu
NODE_NAME="${NODE_NAME:?NODE_NAME is required}"
PEERS_FILE="${PEERS_FILE:?PEERS_FILE is required}"
WORK="${WORK:-${TMPDIR:-/tmp}}"
TUNNEL_PEERS="${TUNNEL_PEERS:-3}"

log() { echo "tunnel-peers[$NODE_NAME]: $*"; }
die() { echo "tunnel-peers[$NODE_NAME]: ERROR: $*" >&2; exit 1; }

for tool in kubectl jq sort awk head tail rm cat; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found in the image; nothing was checked"
done
case "$TUNNEL_PEERS" in '' | *[!0-9]* | 0) die "TUNNEL_PEERS='$TUNNEL_PEERS': expected a whole number of at least 1" ;; esac

. "$(dirname "$0")/list-pages.sh"

: > "$WORK/tunnels"
keep() { cat "$1" >> "$WORK/tunnels"; }
# One page of Nodes in memory at a time, whatever the size of the cluster.
each_page /api/v1/nodes '.items[] | select(.metadata.annotations["projectcalico.org/IPv4IPIPTunnelAddr"] // "" | test("^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+$")) | "\(.metadata.name) \(.metadata.annotations["projectcalico.org/IPv4IPIPTunnelAddr"])"' keep
sort -k1,1 "$WORK/tunnels" > "$WORK/sorted"
rm -f "$WORK/tunnels"

awk -v self="$NODE_NAME" '$1 == self { found = 1 } END { exit found ? 0 : 1 }' "$WORK/sorted" \
  || die "calico-node has not given $NODE_NAME an IP-in-IP tunnel address yet (no Node annotation projectcalico.org/IPv4IPIPTunnelAddr): is calico-node Ready on it?"
# The successors of this node, wrapping around; never itself.
awk -v self="$NODE_NAME" -v want="$TUNNEL_PEERS" '
  { name[NR] = $1; addr[NR] = $2; if ($1 == self) me = NR }
  END { for (i = 1; i <= want && i < NR; i++) { j = (me + i - 1) % NR + 1; print name[j], addr[j] } }
' "$WORK/sorted" > "$PEERS_FILE"
rm -f "$WORK/sorted"
[ -s "$PEERS_FILE" ] || log "no other node has a tunnel address: nothing to check"
log "peers: $(awk '{ printf "%s%s (%s)", (NR > 1 ? ", " : ""), $1, $2 }' "$PEERS_FILE")"
