#!/bin/sh
# Gate of the weave-removed step: succeed only when no pod other than Weave's own has an IP in
# the Weave CIDR. On failure, list the offending pods (namespace/name, node, IP), one per line.
# Runs in the kubectl image (kubectl, jq). Read-only.
#   WEAVE_CIDR   e.g. 10.32.0.0/12
set -eu
# Every command this script runs, checked before it changes anything: the image may lack one.
for tool in kubectl jq sort wc tr cat; do
  command -v "$tool" >/dev/null 2>&1 || { echo "gate: ERROR: $tool not found in the image; nothing was changed" >&2; exit 1; }
done
WEAVE_CIDR="${WEAVE_CIDR:?WEAVE_CIDR is required}"
WORK="${WORK_DIR:-/tmp}"

kubectl get pods --all-namespaces -o json > "$WORK/pods.json"
# Pods that are done hold no IP any more; host-network pods have the node's IP; Weave's own
# pods are the ones being removed.
jq -r --arg cidr "$WEAVE_CIDR" '
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
' "$WORK/pods.json" | sort -u > "$WORK/offenders"

if [ -s "$WORK/offenders" ]; then
  echo "gate: $(wc -l < "$WORK/offenders" | tr -d ' ') pod(s) still have an IP in the Weave CIDR $WEAVE_CIDR; restart them (they come back on Calico) before removing Weave:" >&2
  cat "$WORK/offenders" >&2
  exit 1
fi
echo "gate: no pod other than Weave's own has an IP in $WEAVE_CIDR"
