#!/bin/sh
# Gate: succeed only when calico-node is Ready on every node (NODES='*', the default) or on the
# nodes named in NODES. Runs in the kubectl image (kubectl, jq, sort, comm). Read-only.
#
# Nodes and calico-node pods are listed one page at a time and reduced to names at once (a node
# object carries its image list, a pod its whole status): memory holds one page and two lists of
# names, whatever the size of the cluster.
#   NODES      '*' or node names separated by spaces
#   SELECTOR   label selector of the calico-node pods (kube-system)
#   NODE_SELECTOR  label selector of the nodes that run calico-node, with NODES='*' (default: Linux
#              nodes that are not virtual kubelets; Windows nodes and virtual kubelets run none)
#   PAGE_SIZE  objects per page (default 500)
#   WEAVE_FIRST_SETS  the switch DaemonSets (kube-system) this step has Weave-first. One the
#              cluster runs Calico-first is a wave this step reverts: its nodes leave Calico, so a
#              calico-node not Ready there does not fail the gate (the revert is what takes them
#              off it; the health of what a revert leaves must not hold it back). On the way
#              forward the cluster runs them Weave-first too, and every node counts.
set -eu
export LC_ALL=C
# Every command this script runs, checked before it changes anything: the image may lack one.
for tool in kubectl jq sort comm head tail wc tr cat rm dirname grep mv; do
  command -v "$tool" >/dev/null 2>&1 || { echo "gate: ERROR: $tool not found in the image; nothing was changed" >&2; exit 1; }
done
NODES="${NODES:-*}"
SELECTOR="${SELECTOR:-k8s-app=calico-node}"
WORK="${WORK_DIR:-/tmp}"
PAGE_SIZE="${PAGE_SIZE:-500}"

die() { echo "gate: ERROR: $*" >&2; exit 1; }
. "$(dirname "$0")/list-pages.sh"
append_nodes() { cat "$1" >> "$WORK/nodes.raw"; }
append_ready() { cat "$1" >> "$WORK/ready.raw"; }

: > "$WORK/nodes.raw"
: > "$WORK/ready.raw"
each_page "/api/v1/namespaces/kube-system/pods?labelSelector=$(printf '%s' "$SELECTOR" | jq -sRr @uri)" \
  '.items[] | select(any(.status.conditions[]?; .type == "Ready" and .status == "True")) | .spec.nodeName // empty' append_ready
if [ "$NODES" = '*' ]; then
  each_page "/api/v1/nodes?labelSelector=$(printf '%s' "${NODE_SELECTOR:-kubernetes.io/os=linux,type!=virtual-kubelet}" | jq -sRr @uri)" '.items[].metadata.name' append_nodes
else
  printf '%s\n' $NODES > "$WORK/nodes.raw"
fi
sort -u "$WORK/nodes.raw" > "$WORK/nodes"
sort -u "$WORK/ready.raw" > "$WORK/ready"
comm -23 "$WORK/nodes" "$WORK/ready" > "$WORK/missing"

: > "$WORK/leaving.raw"
for set in ${WEAVE_FIRST_SETS:-}; do
  if ! kubectl get daemonset "$set" --namespace=kube-system -o json > "$WORK/set.json" 2> "$WORK/set.err"; then
    # Not there: a set of a wave that never ran (a step not reached yet). Anything else fails closed.
    grep -q NotFound "$WORK/set.err" && continue
    die "cannot read the switch DaemonSet $set: $(cat "$WORK/set.err")"
  fi
  desired=$(jq -r '.metadata.labels["cni-migrate.io/desired"] // ""' "$WORK/set.json")
  [ "$desired" != weave-first ] || continue
  jq -r '.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[]?.matchFields[]? | select(.key == "metadata.name" and .operator == "In") | .values[]' "$WORK/set.json" >> "$WORK/leaving.raw"
  echo "gate: $set runs $desired in the cluster and weave-first at this step: a revert; its nodes leave Calico, so calico-node there does not hold it back"
done
rm -f "$WORK/set.json" "$WORK/set.err"
if [ -s "$WORK/leaving.raw" ]; then
  sort -u "$WORK/leaving.raw" > "$WORK/leaving"
  comm -23 "$WORK/missing" "$WORK/leaving" > "$WORK/missing.kept"
  mv "$WORK/missing.kept" "$WORK/missing"
fi
if [ -s "$WORK/missing" ]; then
  echo "gate: calico-node is not Ready on $(wc -l < "$WORK/missing" | tr -d ' ') node(s); the step needs it there (check its pod: image pull, BGP port 179 and IP-in-IP allowed between nodes):" >&2
  head -n 100 "$WORK/missing" >&2
  exit 1
fi
echo "gate: calico-node is Ready on $(wc -l < "$WORK/nodes" | tr -d ' ') node(s)"
