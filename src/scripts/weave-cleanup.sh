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
# iptables-restore input deleting $dels (rules as `iptables -S` prints them) and the $chains of $table.
restore_input() {
  echo "*$table"
  [ -z "$dels" ] || printf '%s\n' "$dels" | sed 's/^-A /-D /'
  for c in $chains; do echo "-F $c"; done
  for c in $chains; do echo "-X $c"; done
  echo COMMIT
}

# Every command this script uses, checked before it changes anything.
need="rm grep sed"
[ "$NETWORK" = 1 ] && need="$need ip"
for tool in $need; do
  command -v "$tool" >/dev/null 2>&1 || { echo "weave-cleanup[$NODE_NAME]: ERROR: $tool not found in the image; nothing was changed" >&2; exit 1; }
done
backends=""
if [ "$NETWORK" = 1 ]; then
  for ipt in iptables-legacy iptables-nft iptables; do
    command -v "$ipt" >/dev/null 2>&1 || continue
    command -v "$ipt-restore" >/dev/null 2>&1 || { echo "weave-cleanup[$NODE_NAME]: ERROR: $ipt is in the image but $ipt-restore is not; nothing was changed" >&2; exit 1; }
    backends="$backends $ipt"
    # iptables is usually one of the other two; one pass per backend is enough.
    [ "$ipt" = iptables-nft ] && break
  done
  [ -n "$backends" ] || { echo "weave-cleanup[$NODE_NAME]: ERROR: no iptables binary in the image; nothing was changed" >&2; exit 1; }
fi

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
  links="weave datapath vxlan-6784 $(ip -o link show | sed -n 's/^[0-9]*: \([^:@]*\)[:@].*/\1/p' | grep '^vethwe' || true)"
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

  # Rules are read with `iptables -S` and deleted through `iptables-restore --noflush`, which
  # parses their quoting itself (Weave 2.8's FORWARD rules carry the comment
  # "NOTE: this must go before '-j KUBE-FORWARD'"): no rule text is ever evaluated by the shell,
  # and each table's deletions apply as one transaction. Only grep and sed filter them (the
  # calico/node image has no awk).
  for ipt in $backends; do
    for table in filter nat mangle; do
      tries=0
      while :; do
        rules=$("$ipt" -w -t "$table" -S 2>/dev/null) || break
        # Every rule outside Weave's chains that jumps (or goes) to a WEAVE* chain or names the
        # weave bridge as input or output, in any position; then Weave's chains themselves.
        dels=$(printf '%s\n' "$rules" | grep -E '^-A ' | grep -vE '^-A WEAVE' | grep -E ' -[jg] WEAVE| -[io] weave( |$)' || true)
        chains=$(printf '%s\n' "$rules" | grep -E '^-N WEAVE' | sed 's/^-N //' || true)
        [ -n "$dels$chains" ] || break
        if restore_input | "$ipt-restore" -w --noflush; then
          [ -z "$dels" ] || printf '%s\n' "$dels" | while IFS= read -r rule; do log "removed $ipt $table rule: $rule"; done
          for c in $chains; do gone "$ipt $table chain $c"; done
          [ -z "$dels" ] || removed=$((removed + $(printf '%s\n' "$dels" | grep -c '')))
          break
        fi
        # Something changed the table between the read and the write (Felix, kube-proxy): the
        # transaction applied nothing; read again.
        tries=$((tries + 1))
        if [ "$tries" -ge 3 ]; then
          warn "could not remove Weave's $ipt $table rules and chains after $tries attempts"
          failed=$((failed + 1))
          break
        fi
      done
    done
  done
  if command -v ipset >/dev/null 2>&1; then
    for s in $(ipset list -n 2>/dev/null | grep -E '^(weave-|weaver-no-masq-local$)' || true); do
      if ipset destroy "$s" 2>/dev/null; then gone "ipset $s"; else warn "could not destroy ipset $s (still referenced?)"; fi
    done
  fi
fi

log "done: $removed item(s) removed"
[ "$failed" = 0 ] || exit 1
