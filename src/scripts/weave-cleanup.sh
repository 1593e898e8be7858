#!/bin/sh
# Remove what Weave Net leaves on a node once its DaemonSet is gone: its CNI config, its plugin
# binaries, its data, its network devices and its iptables chains. Idempotent: each removal checks
# first, and the log says what was removed. Never touches Calico's files.
#   CNI_DIR, BIN_DIR, DATA_DIR   the node's /etc/cni/net.d, /opt/cni/bin, /var/lib/weave
#   NETWORK=0                    skip devices, iptables and ipsets (tests of the file part)
set -eu
CNI_DIR="${CNI_DIR:-/host/etc/cni/net.d}"
BIN_DIR="${BIN_DIR:-/host/opt/cni/bin}"
DATA_DIR="${DATA_DIR:-/host/var/lib/weave}"
NETWORK="${NETWORK:-1}"
NODE_NAME="${NODE_NAME:-$(hostname)}"
removed=0
failed=0

log() { echo "weave-cleanup[$NODE_NAME]: $*"; }
warn() { echo "weave-cleanup[$NODE_NAME]: WARNING: $*" >&2; }
gone() { removed=$((removed + 1)); log "removed $*"; }

for f in "$CNI_DIR/10-weave.conflist" "$CNI_DIR/10-weave.conf" "$BIN_DIR/weave-net" "$BIN_DIR/weave-ipam" "$BIN_DIR"/weave-plugin-*; do
  if [ -e "$f" ] || [ -L "$f" ]; then rm -f "$f" && gone "$f"; fi
done
# The data folder is a mount point: empty it.
if [ -d "$DATA_DIR" ]; then
  for f in "$DATA_DIR"/* "$DATA_DIR"/.[!.]*; do
    if [ -e "$f" ] || [ -L "$f" ]; then rm -rf "$f" && gone "$f"; fi
  done
fi

if [ "$NETWORK" = 1 ]; then
  for tool in ip awk sed grep; do
    command -v "$tool" >/dev/null 2>&1 || { echo "weave-cleanup[$NODE_NAME]: ERROR: $tool not found in the image" >&2; exit 1; }
  done
  links="weave datapath vxlan-6784 $(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep '^vethwe' || true)"
  for l in $links; do
    ip link show "$l" >/dev/null 2>&1 || continue
    if ip link del "$l" 2>/dev/null; then
      gone "link $l"
    elif [ "$l" = datapath ]; then
      # An Open vSwitch datapath cannot be deleted through rtnetlink.
      warn "link datapath is an Open vSwitch datapath; remove it with 'weaveutil delete-datapath datapath', or reboot the node"
    else
      warn "could not delete link $l"
      failed=$((failed + 1))
    fi
  done

  found=0
  for ipt in iptables-legacy iptables-nft iptables; do
    command -v "$ipt" >/dev/null 2>&1 || continue
    found=1
    for table in filter nat mangle; do
      rules=$("$ipt" -w -t "$table" -S 2>/dev/null) || continue
      # Rules that jump into WEAVE* chains or match the weave bridge, then the chains themselves.
      echo "$rules" | grep -E '^-A [^ ]+ .*(-j WEAVE| -[io] weave( |$))' | grep -vE '^-A WEAVE' | while IFS= read -r rule; do
        if eval "\"$ipt\" -w -t $table $(echo "$rule" | sed 's/^-A /-D /')"; then log "removed $ipt $table rule: $rule"; else warn "could not remove $ipt $table rule: $rule"; fi
      done
      chains=$(echo "$rules" | awk '$1 == "-N" && $2 ~ /^WEAVE/ {print $2}')
      for c in $chains; do "$ipt" -w -t "$table" -F "$c"; done
      for c in $chains; do
        if "$ipt" -w -t "$table" -X "$c"; then gone "$ipt $table chain $c"; else warn "could not delete $ipt $table chain $c"; failed=$((failed + 1)); fi
      done
    done
    # iptables is usually one of the other two; one pass per backend is enough.
    [ "$ipt" = iptables-nft ] && break
  done
  [ "$found" = 1 ] || { echo "weave-cleanup[$NODE_NAME]: ERROR: no iptables binary in the image" >&2; exit 1; }
  if command -v ipset >/dev/null 2>&1; then
    for s in $(ipset list -n 2>/dev/null | grep -E '^(weave-|weaver-no-masq-local$)' || true); do
      if ipset destroy "$s" 2>/dev/null; then gone "ipset $s"; else warn "could not destroy ipset $s (still referenced?)"; fi
    done
  fi
fi

log "done: $removed item(s) removed"
[ "$failed" = 0 ] || exit 1
