#!/bin/sh
# Remove the hostPort DNAT entries that pods started on Weave left behind. The portmap plugin
# names its per-pod chain after the network (CNI-DN-<hash of network name and container id>) and
# marks its CNI-HOSTPORT-DNAT entry with the comment `dnat name: "<network>" id: "<container>"`
# (containernetworking/plugins plugins/meta/portmap/portmap_iptables.go). A Weave pod torn down
# after its node switched is deleted through Calico's network, so DEL looks for the wrong chain
# and Weave's entry stays; new entries are appended after it, so the port keeps going to the dead
# Weave IP. This removes every entry named after WEAVE_NETWORK whose DNAT targets are not the IP
# of a pod still alive (LIVE_IPS_FILE), and its chain, in each iptables backend. Entries of other
# networks (Calico's k8s-pod-network) are never touched. Runs in the calico/node image: bash, grep,
# sed and iptables only (no awk); rules are never evaluated by the shell (iptables-restore parses
# them), and each backend's change is one transaction.
#   WEAVE_NETWORK    the "name" of Weave's conflist (default weave)
#   LIVE_IPS_FILE    one IP per line of the pods on this node that still run (missing: none)
set -eu
WEAVE_NETWORK="${WEAVE_NETWORK:-weave}"
LIVE_IPS_FILE="${LIVE_IPS_FILE:-}"
NODE_NAME="${NODE_NAME:-$(hostname)}"
removed=0

log() { echo "hostport-cleanup[$NODE_NAME]: $*"; }
die() { echo "hostport-cleanup[$NODE_NAME]: ERROR: $*; nothing was changed" >&2; exit 1; }

for tool in grep sed; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found in the image"
done
backends=""
for ipt in iptables-legacy iptables-nft iptables; do
  command -v "$ipt" >/dev/null 2>&1 || continue
  command -v "$ipt-restore" >/dev/null 2>&1 || die "$ipt is in the image but $ipt-restore is not"
  backends="$backends $ipt"
  [ "$ipt" = iptables-nft ] && break
done
[ -n "$backends" ] || die "no iptables binary in the image"
case "$WEAVE_NETWORK" in '' | *[!A-Za-z0-9._-]*) die "WEAVE_NETWORK=$WEAVE_NETWORK is not a CNI network name" ;; esac
if [ -n "$LIVE_IPS_FILE" ] && [ ! -r "$LIVE_IPS_FILE" ]; then die "LIVE_IPS_FILE $LIVE_IPS_FILE cannot be read"; fi

live() { [ -n "$LIVE_IPS_FILE" ] && grep -qxF -- "$1" "$LIVE_IPS_FILE"; }

for ipt in $backends; do
  entries=$("$ipt" -w -t nat -S CNI-HOSTPORT-DNAT 2>/dev/null | grep -F -- "dnat name: \\\"$WEAVE_NETWORK\\\" " || true)
  [ -n "$entries" ] || continue
  dels=""
  chains=""
  while IFS= read -r entry; do
    chain=$(printf '%s\n' "$entry" | sed -n 's/.* -j \(CNI-DN-[0-9a-f]*\)$/\1/p')
    [ -n "$chain" ] || continue
    targets=$("$ipt" -w -t nat -S "$chain" 2>/dev/null | sed -n 's/.*--to-destination \([0-9.]*\).*/\1/p' || true)
    keep=0
    for ip in $targets; do
      if live "$ip"; then keep=1; fi
    done
    if [ "$keep" = 1 ]; then
      log "kept $ipt hostPort entry $chain: a live pod still has its target"
      continue
    fi
    dels="$dels$entry
"
    chains="$chains $chain"
  done <<ENTRIES
$entries
ENTRIES
  [ -n "$chains" ] || continue
  if {
    echo "*nat"
    printf '%s' "$dels" | sed 's/^-A /-D /'
    for c in $chains; do echo "-F $c"; done
    for c in $chains; do echo "-X $c"; done
    echo COMMIT
  } | "$ipt-restore" -w --noflush; then
    for c in $chains; do
      removed=$((removed + 1))
      log "removed $ipt hostPort entry and chain $c left by a pod of network $WEAVE_NETWORK"
    done
  else
    echo "hostport-cleanup[$NODE_NAME]: ERROR: $ipt-restore refused the removal; run again" >&2
    exit 1
  fi
done
log "done: $removed stale hostPort entr$( [ "$removed" = 1 ] && echo y || echo ies) removed"
