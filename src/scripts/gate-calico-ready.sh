#!/bin/sh
# Gate: succeed only when calico-node is Ready on every node (NODES='*', the default) or on the
# nodes named in NODES. Runs in the kubectl image (kubectl, jq). Read-only.
#   NODES      '*' or node names separated by spaces
#   SELECTOR   label selector of the calico-node pods (kube-system)
set -eu
# Every command this script runs, checked before it changes anything: the image may lack one.
for tool in kubectl jq wc tr cat; do
  command -v "$tool" >/dev/null 2>&1 || { echo "gate: ERROR: $tool not found in the image; nothing was changed" >&2; exit 1; }
done
NODES="${NODES:-*}"
SELECTOR="${SELECTOR:-k8s-app=calico-node}"
WORK="${WORK_DIR:-/tmp}"

kubectl get pods --namespace=kube-system --selector="$SELECTOR" -o json > "$WORK/calico.json"
if [ "$NODES" = '*' ]; then
  kubectl get nodes -o json | jq '[.items[].metadata.name]' > "$WORK/nodes.json"
else
  printf '%s\n' $NODES | jq -R . | jq -s . > "$WORK/nodes.json"
fi
jq -r --slurpfile nodes "$WORK/nodes.json" '
  [.items[] | select(any(.status.conditions[]?; .type == "Ready" and .status == "True")) | .spec.nodeName] as $ready
  | $nodes[0] - $ready | .[]
' "$WORK/calico.json" > "$WORK/missing"
if [ -s "$WORK/missing" ]; then
  echo "gate: calico-node is not Ready on $(wc -l < "$WORK/missing" | tr -d ' ') node(s); the step needs it there (check its pod: image pull, BGP port 179 and IP-in-IP allowed between nodes):" >&2
  cat "$WORK/missing" >&2
  exit 1
fi
echo "gate: calico-node is Ready on $(jq 'length' "$WORK/nodes.json") node(s)"
