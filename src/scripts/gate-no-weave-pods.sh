#!/bin/sh
# Gate of the weave-removed step: succeed only when no pod other than Weave's own has an IP in
# the Weave CIDR. On failure, name the offending pods (namespace/name, node, IP), one per line,
# the first SHOW_MAX of them, and count them all. Runs in the kubectl image (kubectl, jq).
# Read-only.
#
# Memory does not grow with the cluster: pods are listed one page at a time (`kubectl get --raw`
# copies the answer to its output as it arrives, jq reads one page), and only the offenders'
# first lines are kept. A list of 150,000 pods passes through a 128 MiB container this way; the
# whole list as one JSON document (`kubectl get pods -A -o json`, which kubectl also assembles in
# memory) does not.
#   WEAVE_CIDR   e.g. 10.32.0.0/12
#   PAGE_SIZE    pods per page (default 500)
#   SHOW_MAX     offenders named in the log (default 100)
set -eu
export LC_ALL=C
# Every command this script runs, checked before it changes anything: the image may lack one.
for tool in kubectl jq sort head tail wc tr rm dirname; do
  command -v "$tool" >/dev/null 2>&1 || { echo "gate: ERROR: $tool not found in the image; nothing was changed" >&2; exit 1; }
done
WEAVE_CIDR="${WEAVE_CIDR:?WEAVE_CIDR is required}"
WORK="${WORK_DIR:-/tmp}"
PAGE_SIZE="${PAGE_SIZE:-500}"
SHOW_MAX="${SHOW_MAX:-100}"

# Pods that are done hold no IP any more (the server leaves them out; jq checks again, as a
# server that ignores the selector would send them); host-network pods have the node's IP;
# Weave's own pods are the ones being removed.
FILTER='
  def ip2n: split(".") | map(tonumber) | .[0] * 16777216 + .[1] * 65536 + .[2] * 256 + .[3];
  ($cidr | split("/")) as $c
  | pow(2; 32 - ($c[1] | tonumber)) as $size
  | ((($c[0] | ip2n) / $size) | floor) as $block
  | .items[]
    | select(.spec.hostNetwork != true)
    | select(.status.phase != "Succeeded" and .status.phase != "Failed")
    | select((.metadata.namespace == "kube-system" and (.metadata.labels.name // "") == "weave-net") | not)
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
each_page "/api/v1/pods?fieldSelector=status.phase%21%3DSucceeded%2Cstatus.phase%21%3DFailed" "$FILTER" keep_offenders --arg cidr "$WEAVE_CIDR"

if [ "$count" -gt 0 ]; then
  echo "gate: $count pod(s) still have an IP in the Weave CIDR $WEAVE_CIDR; restart them (they come back on Calico) before removing Weave:" >&2
  sort "$WORK/offenders" >&2
  [ "$count" -le "$SHOW_MAX" ] || echo "... and $((count - SHOW_MAX)) more" >&2
  exit 1
fi
echo "gate: no pod other than Weave's own has an IP in $WEAVE_CIDR ($pages page(s) of pods read)"
