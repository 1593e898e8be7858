#!/bin/sh
# Set kube-controller-manager's --cluster-cidr (and optionally --allocate-node-cidrs) in the
# kubeadm static pod manifest of this control-plane node, changing nothing else in the file, then
# wait until the new pod runs. Idempotent: an up-to-date manifest is left untouched (no restart).
#
#   CLUSTER_CIDR       the value to set; empty removes the flag
#   ALLOCATE           true | false | keep (--allocate-node-cidrs)
#   MANIFEST_DIR       the node's /etc/kubernetes/manifests, mounted
#   WORK_DIR           scratch space outside MANIFEST_DIR (kubelet runs whatever lands in there)
#   WAIT_SECONDS       how long to wait for the new pod (0: do not wait)
set -eu

MANIFEST_DIR="${MANIFEST_DIR:-/host/etc/kubernetes/manifests}"
WORK_DIR="${WORK_DIR:-/work}"
NODE_NAME="${NODE_NAME:-$(hostname)}"
CLUSTER_CIDR="${CLUSTER_CIDR-}"
ALLOCATE="${ALLOCATE:-keep}"
WAIT_SECONDS="${WAIT_SECONDS:-300}"
FILE="$MANIFEST_DIR/kube-controller-manager.yaml"
# kubelet's file source only reads names that do not start with a dot, and a rename is atomic
# only within one directory: so the finished copy is staged under a dot-name next to the manifest.
STAGED="$MANIFEST_DIR/.kube-controller-manager.yaml.cni-migrate"

log() { echo "kcm-cluster-cidr[$NODE_NAME]: $*"; }
die() { echo "kcm-cluster-cidr[$NODE_NAME]: ERROR: $*" >&2; exit 1; }

# Every command this script runs, checked before it changes anything: the image may lack one.
for tool in awk grep cksum cp cat mv rm mkdir sync sleep kubectl jq; do
  command -v "$tool" >/dev/null 2>&1 || { echo "kcm-cluster-cidr[$NODE_NAME]: ERROR: $tool not found in the image; nothing was changed" >&2; exit 1; }
done

case "$ALLOCATE" in true | false | keep) ;; *) die "ALLOCATE=$ALLOCATE; expected true, false or keep" ;; esac
case "$CLUSTER_CIDR" in '' | *[!0-9./]*) [ -z "$CLUSTER_CIDR" ] || die "CLUSTER_CIDR=$CLUSTER_CIDR is not an IPv4 CIDR" ;; esac
[ -f "$FILE" ] || die "$FILE not found: is this a kubeadm control-plane node?"
rm -f "$STAGED"
mkdir -p "$WORK_DIR"
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
POD="kube-controller-manager-$NODE_NAME"
waited=0
while :; do
  if kubectl get pod --namespace=kube-system "$POD" -o json > "$WORK_DIR/pod.json" 2>/dev/null &&
    jq -e --arg cidr "$CLUSTER_CIDR" '
      (.spec.containers[0].command + (.spec.containers[0].args // [])) as $f
      | (if $cidr == "" then ($f | map(select(startswith("--cluster-cidr="))) | length == 0)
         else ($f | index("--cluster-cidr=" + $cidr)) != null end)
      and ((.status.conditions // []) | map(select(.type == "Ready" and .status == "True")) | length > 0)
    ' "$WORK_DIR/pod.json" > /dev/null; then
    log "$POD runs with the new flags and is Ready"
    exit 0
  fi
  [ "$waited" -lt "$WAIT_SECONDS" ] || die "$POD did not come up Ready with --cluster-cidr=${CLUSTER_CIDR:-<none>} within ${WAIT_SECONDS}s; check the kubelet log on $NODE_NAME"
  sleep 5
  waited=$((waited + 5))
done
