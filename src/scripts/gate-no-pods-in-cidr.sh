#!/bin/sh
# A gate: succeed only when no pod has an IP in one network's CIDR.
#   NETWORK=weave   from weave-removed on: no pod other than Weave's own is left on Weave.
#   NETWORK=calico  at calico and cluster-cidr: no pod is on Calico yet. Those states are safe
#                   only then (the cluster CIDR is not yet, or no longer, the supernet; the
#                   NetworkPolicies are in force, which NATed traffic between the networks
#                   breaks), and a revert reaches them with pods that got Calico IPs in a wave.
# On failure, name the offending pods (namespace/name, node, IP), one per line, the first
# SHOW_MAX of them, count them all, and say what to do. Runs in the kubectl image (kubectl, jq).
# Read-only.
#
# Memory does not grow with the cluster: pods are listed one page at a time (`kubectl get --raw`
# copies the answer to its output as it arrives, jq reads one page), and only the offenders'
# first lines are kept. A list of 150,000 pods passes through a 128 MiB container this way; the
# whole list as one JSON document (`kubectl get pods -A -o json`, which kubectl also assembles in
# memory) does not.
#   NETWORK      weave or calico
#   POD_CIDR     the network's pod CIDR, e.g. 10.32.0.0/12
#   PAGE_SIZE    pods per page (default 500)
#   SHOW_MAX     offenders named in the log (default 100)
set -eu
export LC_ALL=C
# Every command this script runs, checked before it changes anything: the image may lack one.
for tool in kubectl jq sort head tail wc tr rm dirname; do
  command -v "$tool" >/dev/null 2>&1 || { echo "gate: ERROR: $tool not found in the image; nothing was changed" >&2; exit 1; }
done
POD_CIDR="${POD_CIDR:?POD_CIDR is required}"
case "${NETWORK:-}" in
  weave | calico) ;;
  *) echo "gate: ERROR: NETWORK='${NETWORK:-}'; expected weave or calico" >&2; exit 1 ;;
esac
WORK="${WORK_DIR:-/tmp}"
PAGE_SIZE="${PAGE_SIZE:-500}"
SHOW_MAX="${SHOW_MAX:-100}"

# Pods that are done hold no IP any more (the server leaves them out; jq checks again, as a
# server that ignores the selector would send them); host-network pods have the node's IP;
# Weave's own pods are the ones being removed (calico-node runs on the host network).
FILTER='
  def ip2n: split(".") | map(tonumber) | .[0] * 16777216 + .[1] * 65536 + .[2] * 256 + .[3];
  ($cidr | split("/")) as $c
  | pow(2; 32 - ($c[1] | tonumber)) as $size
  | ((($c[0] | ip2n) / $size) | floor) as $block
  | .items[]
    | select(.spec.hostNetwork != true)
    | select(.status.phase != "Succeeded" and .status.phase != "Failed")
    | select($network != "weave" or ((.metadata.namespace == "kube-system" and (.metadata.labels.name // "") == "weave-net") | not))
    | . as $pod
    | ([(.status.podIPs // [])[].ip] + [.status.podIP // empty] | unique)[]
    | select(test("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$"))
    | select(((ip2n / $size) | floor) == $block)
    | "\($pod.metadata.namespace)/\($pod.metadata.name) node=\($pod.spec.nodeName // "-") ip=\(.)"
'

die() { echo "gate: ERROR: $*" >&2; exit 1; }
. "$(dirname "$0")/list-pages.sh"
# Counts every offender, keeps the first SHOW_MAX.
keep_offenders() {
  pages=$((pages + 1))
  n=$(wc -l < "$1")
  shown=$(wc -l < "$WORK/offenders")
  if [ "$n" -gt 0 ] && [ "$shown" -lt "$SHOW_MAX" ]; then
    head -n $((SHOW_MAX - shown)) "$1" >> "$WORK/offenders"
  fi
  count=$((count + n))
}

: > "$WORK/offenders"
count=0
pages=0

each_page "/api/v1/pods?fieldSelector=status.phase%21%3DSucceeded%2Cstatus.phase%21%3DFailed" "$FILTER" keep_offenders --arg cidr "$POD_CIDR" --arg network "$NETWORK"

if [ "$count" -gt 0 ]; then
  if [ "$NETWORK" = weave ]; then
    echo "gate: $count pod(s) still have an IP in the Weave CIDR $POD_CIDR; restart them (they come back on Calico) before removing Weave:" >&2
  else
    echo "gate: $count pod(s) have an IP in the Calico CIDR $POD_CIDR, and this step is safe only with none (a revert brought it back while pods of switched waves still run on Calico): revert the node waves first and restart these pods on Weave nodes (cni-migrate status lists them), then sync again:" >&2
  fi
  sort "$WORK/offenders" >&2
  [ "$count" -le "$SHOW_MAX" ] || echo "... and $((count - SHOW_MAX)) more" >&2
  exit 1
fi
if [ "$NETWORK" = weave ]; then
  echo "gate: no pod other than Weave's own has an IP in $POD_CIDR ($pages page(s) of pods read)"
else
  echo "gate: no pod has an IP in the Calico CIDR $POD_CIDR ($pages page(s) of pods read)"
fi
