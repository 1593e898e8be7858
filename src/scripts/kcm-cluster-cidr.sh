#!/bin/sh
# Set kube-controller-manager's --cluster-cidr (and optionally --allocate-node-cidrs) in the
# kubeadm static pod manifest of this control-plane node, changing nothing else in the file, then
# wait until the new pod is healthy. Idempotent: an up-to-date manifest is left untouched (no
# restart). Control-plane nodes go one at a time: with AFTER_NODE set, nothing is edited until
# that node's controller-manager is healthy with its new flags.
#
# Healthy means more than Ready (the static pod has no readiness probe, so Ready says little):
# the pod runs with the flags, its restart count does not move for STABLE_SECONDS (a
# controller-manager that crash-loops on a CIDR it cannot use restarts within seconds), and the
# kube-controller-manager Lease (leader election) was renewed after the pod started, so the
# cluster has a working leader again.
#
#   CLUSTER_CIDR       the value to set; empty removes the flag
#   ALLOCATE           true | false | keep (--allocate-node-cidrs)
#   MANIFEST_DIR       the node's /etc/kubernetes/manifests, mounted
#   WORK_DIR           scratch space outside MANIFEST_DIR (kubelet runs whatever lands in there)
#   WAIT_SECONDS       how long to wait for the new pod (0: do not wait)
#   STABLE_SECONDS     how long its restart count must stay put (default 60)
#   POLL_SECONDS       how often to look while waiting (default 5)
#   AFTER_NODE         the control-plane node whose controller-manager must be healthy first
#   AFTER_CIDR         the --cluster-cidr that one must run with (empty: none)
#   PAGE_SIZE          nodes per page when reading their podCIDRs (default 500)
#
# Before it changes --cluster-cidr with node CIDR allocation on (ALLOCATE=true), it reads every
# node's spec.podCIDRs live and refuses if one lies outside the new value: the range allocator
# occupies each node's podCIDR at start-up and fails on one out of range, and "this error will
# keep crashing controller-manager" (kubernetes pkg/controller/nodeipam/ipam/range_allocator.go).
# The snapshot the step was planned from may be stale: a node that joined since got its CIDR live.
set -eu

MANIFEST_DIR="${MANIFEST_DIR:-/host/etc/kubernetes/manifests}"
WORK_DIR="${WORK_DIR:-/work}"
NODE_NAME="${NODE_NAME:-$(hostname)}"
CLUSTER_CIDR="${CLUSTER_CIDR-}"
ALLOCATE="${ALLOCATE:-keep}"
WAIT_SECONDS="${WAIT_SECONDS:-300}"
STABLE_SECONDS="${STABLE_SECONDS:-60}"
POLL_SECONDS="${POLL_SECONDS:-5}"
AFTER_NODE="${AFTER_NODE:-}"
AFTER_CIDR="${AFTER_CIDR-}"
FILE="$MANIFEST_DIR/kube-controller-manager.yaml"
# kubelet's file source only reads names that do not start with a dot, and a rename is atomic
# only within one directory: so the finished copy is staged under a dot-name next to the manifest.
STAGED="$MANIFEST_DIR/.kube-controller-manager.yaml.cni-migrate"

log() { echo "kcm-cluster-cidr[$NODE_NAME]: $*"; }
die() { echo "kcm-cluster-cidr[$NODE_NAME]: ERROR: $*" >&2; exit 1; }

# Every command this script runs, checked before it changes anything: the image may lack one.
for tool in awk grep cksum cp cat mv rm mkdir sync sleep date kubectl jq head tail wc tr dirname; do
  command -v "$tool" >/dev/null 2>&1 || { echo "kcm-cluster-cidr[$NODE_NAME]: ERROR: $tool not found in the image; nothing was changed" >&2; exit 1; }
done

# Whether the controller-manager of node $1 runs with --cluster-cidr=$2 (none when empty), is
# Ready, and the leader-election Lease was renewed after it started. Prints its restart count.
kcm_state() {
  kubectl get pod --namespace=kube-system "kube-controller-manager-$1" -o json > "$WORK_DIR/pod.json" 2>/dev/null || return 1
  kubectl get lease --namespace=kube-system kube-controller-manager -o json > "$WORK_DIR/lease.json" 2>/dev/null || return 1
  jq -r -e --arg cidr "$2" --slurpfile lease "$WORK_DIR/lease.json" '
    def t: sub("\\.[0-9]+"; "") | fromdateiso8601;
    (.spec.containers[0].command + (.spec.containers[0].args // [])) as $f
    | select(if $cidr == "" then ($f | map(select(startswith("--cluster-cidr="))) | length == 0)
             else ($f | index("--cluster-cidr=" + $cidr)) != null end)
    | select((.status.conditions // []) | map(select(.type == "Ready" and .status == "True")) | length > 0)
    | (.status.containerStatuses[0] // {}) as $c
    | select(($lease[0].spec.renewTime // "1970-01-01T00:00:00Z" | t) >= ($c.state.running.startedAt // "2999-01-01T00:00:00Z" | t))
    | ($c.restartCount // 0)
  ' "$WORK_DIR/pod.json"
}

# Wait until node $1's controller-manager is healthy with --cluster-cidr=$2, then make sure its
# restart count stays put for STABLE_SECONDS.
wait_healthy() {
  deadline=$(( $(date +%s) + WAIT_SECONDS ))
  until count=$(kcm_state "$1" "$2"); do
    [ "$(date +%s)" -lt "$deadline" ] || die "kube-controller-manager-$1 did not come up Ready with --cluster-cidr=${2:-<none>} and a renewed leader Lease within ${WAIT_SECONDS}s; check the kubelet log on $1"
    sleep "$POLL_SECONDS"
  done
  sleep "$STABLE_SECONDS"
  again=$(kcm_state "$1" "$2") || die "kube-controller-manager-$1 stopped being healthy within ${STABLE_SECONDS}s of starting with --cluster-cidr=${2:-<none>}; check its log on $1"
  [ "$again" = "$count" ] || die "kube-controller-manager-$1 restarted ($count → $again restarts) within ${STABLE_SECONDS}s with --cluster-cidr=${2:-<none>}: it does not accept the new flags; check its log on $1"
  log "kube-controller-manager-$1 runs with --cluster-cidr=${2:-<none>}, Ready, no restart in ${STABLE_SECONDS}s, leader Lease renewed"
}

WORK="$WORK_DIR"
. "$(dirname "$0")/list-pages.sh"

# The IPv4 podCIDRs of a page of nodes that do not lie inside $cidr, as "node cidr".
OUTSIDE_FILTER='
  def ip2n: split(".") | map(tonumber) | .[0] * 16777216 + .[1] * 65536 + .[2] * 256 + .[3];
  ($cidr | split("/")) as $c
  | ($c[1] | tonumber) as $bits
  | pow(2; 32 - $bits) as $size
  | ((($c[0] | ip2n) / $size) | floor) as $block
  | .items[]
  | .metadata.name as $node
  | ((.spec.podCIDRs // []) + [.spec.podCIDR // empty] | unique)[]
  | select(test("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+/[0-9]+$"))
  | split("/") as $p
  | select(($p[1] | tonumber) < $bits or ((($p[0] | ip2n) / $size) | floor) != $block)
  | "\($node) \($p[0])/\($p[1])"
'
keep_outside() { cat "$1" >> "$WORK/outside"; }

# Refuses (before any change) when a node's podCIDR lies outside $CLUSTER_CIDR.
check_node_cidrs() {
  : > "$WORK/outside"
  each_page /api/v1/nodes "$OUTSIDE_FILTER" keep_outside --arg cidr "$CLUSTER_CIDR"
  if [ -s "$WORK/outside" ]; then
    echo "kcm-cluster-cidr[$NODE_NAME]: ERROR: $(wc -l < "$WORK/outside" | tr -d ' ') node podCIDR(s) lie outside --cluster-cidr=$CLUSTER_CIDR; the controller-manager's range allocator would crash on them at start-up, so $FILE is left as it is:" >&2
    head -n 100 "$WORK/outside" >&2
    die "re-snapshot the cluster (the nodes above got their CIDRs after the snapshot, or from another range) and plan the step again"
  fi
  log "every node's podCIDR lies inside $CLUSTER_CIDR"
}

case "$ALLOCATE" in true | false | keep) ;; *) die "ALLOCATE=$ALLOCATE; expected true, false or keep" ;; esac
case "$CLUSTER_CIDR" in '' | *[!0-9./]*) [ -z "$CLUSTER_CIDR" ] || die "CLUSTER_CIDR=$CLUSTER_CIDR is not an IPv4 CIDR" ;; esac
[ -f "$FILE" ] || die "$FILE not found: is this a kubeadm control-plane node?"
mkdir -p "$WORK_DIR"
# One control-plane node at a time: the previous one must be healthy with its new flags first.
if [ -n "$AFTER_NODE" ] && [ "$WAIT_SECONDS" -gt 0 ]; then
  log "waiting for kube-controller-manager-$AFTER_NODE first"
  wait_healthy "$AFTER_NODE" "$AFTER_CIDR"
fi
rm -f "$STAGED"
EDITED="$WORK_DIR/kube-controller-manager.yaml"

HAS_CIDR=0
grep -q -e '--cluster-cidr=' "$FILE" && HAS_CIDR=1

# One flag per list item, as kubeadm writes them ("- --name=value", optionally double-quoted).
awk -v cidr="$CLUSTER_CIDR" -v alloc="$ALLOCATE" -v has_cidr="$HAS_CIDR" '
  /^[ \t]*-[ \t]*"?--cluster-cidr=/ {
    if (cidr == "") next
    sub(/--cluster-cidr=[^" \t]*/, "--cluster-cidr=" cidr)
    print; next
  }
  /^[ \t]*-[ \t]*"?--allocate-node-cidrs([= \t"]|$)/ {
    if (alloc != "keep") {
      if ($0 ~ /--allocate-node-cidrs=/) sub(/--allocate-node-cidrs=[^" \t]*/, "--allocate-node-cidrs=" alloc)
      else sub(/--allocate-node-cidrs/, "--allocate-node-cidrs=" alloc)
    }
    print; next
  }
  /^[ \t]*-[ \t]*"?kube-controller-manager"?[ \t]*$/ && !done_cmd {
    done_cmd = 1
    print
    if (has_cidr == 0 && cidr != "") {
      match($0, /^[ \t]*-[ \t]*/)
      print substr($0, 1, RLENGTH) "--cluster-cidr=" cidr
    }
    next
  }
  { print }
' "$FILE" > "$EDITED"

grep -q 'kube-controller-manager' "$EDITED" || die "the edited manifest lost its command; leaving $FILE as it is"
if [ -n "$CLUSTER_CIDR" ] && ! grep -q -e "--cluster-cidr=$CLUSTER_CIDR" "$EDITED"; then
  die "could not place --cluster-cidr=$CLUSTER_CIDR in $FILE (no '- kube-controller-manager' command item?); leaving it as it is"
fi

if [ "$(cksum < "$FILE")" = "$(cksum < "$EDITED")" ]; then
  log "manifest already has --cluster-cidr=${CLUSTER_CIDR:-<none>} (allocate-node-cidrs: $ALLOCATE); not touched"
else
  if [ -n "$CLUSTER_CIDR" ] && [ "$ALLOCATE" = true ]; then check_node_cidrs; fi
  # Same owner and mode as the manifest (often 0600: it names key files).
  cp -p "$FILE" "$STAGED"
  cat "$EDITED" > "$STAGED"
  # On disk before the rename, and the folder after: a power cut leaves the old manifest or the new.
  sync "$STAGED"
  mv -f "$STAGED" "$FILE"
  sync "$MANIFEST_DIR"
  log "manifest updated: --cluster-cidr=${CLUSTER_CIDR:-<removed>} (allocate-node-cidrs: $ALLOCATE)"
fi
rm -f "$EDITED"

[ "$WAIT_SECONDS" -gt 0 ] || exit 0
wait_healthy "$NODE_NAME" "$CLUSTER_CIDR"
