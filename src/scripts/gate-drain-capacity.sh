#!/bin/sh
# Gate of a node step with drains on: the nodes that are not being drained must have room for
# the pods the wave's drains evict. LANES nodes drain at once (spec.nodes.maxConcurrentDrains), so
# the check takes the LANES nodes of the wave with the most to evict (CPU and memory each taken
# at their largest, which can only overstate the need) and compares their pods' requests with
# what the other schedulable nodes have free (allocatable minus the requests of the pods on them).
# The pod with the largest CPU request and the one with the largest memory request must each fit
# on one such node. Nodes of the wave already on Calico (annotation cni-migrate.io/network=calico,
# written by their Job) drain nothing and are left out, so the revert to an earlier wave is not
# held back by it. Runs in the kubectl image. Read-only.
#
# Like the scheduler's NodeResourcesFit filter, a pod's request is the larger of the sum of its
# containers' requests and its largest init container's, plus the pod overhead (Kubernetes docs,
# "Resource Management for Pods" and "Init Containers: Resource sharing within containers"); pods
# that are done hold none. DaemonSet pods and static pods are not evicted by `kubectl drain
# --ignore-daemonsets`, so they stay. A node is schedulable when it is a Linux node with a kubelet
# of its own (not a virtual kubelet), Ready, not cordoned, and has no NoSchedule or NoExecute taint. This is a necessary condition, not a scheduling simulation:
# affinity, topology spread and pod limits can still leave a pod Pending, and the drain's own
# timeout then stops the Job.
#
#   WAVE_NODES_FILE   the wave's node names, one per line
#   LANES             how many of them drain at once
#   PAGE_SIZE         objects per page (default 500)
set -eu
export LC_ALL=C
# Every command this script runs, checked before it changes anything: the image may lack one.
for tool in kubectl jq awk sort head tail wc tr cat rm mv dirname; do
  command -v "$tool" >/dev/null 2>&1 || { echo "gate: ERROR: $tool not found in the image; nothing was changed" >&2; exit 1; }
done
WAVE_NODES_FILE="${WAVE_NODES_FILE:?WAVE_NODES_FILE is required}"
LANES="${LANES:?LANES is required}"
WORK="${WORK_DIR:-/tmp}"
die() { echo "gate: ERROR: $*" >&2; exit 1; }
case "$LANES" in '' | *[!0-9]* | 0) die "LANES=$LANES; expected a whole number from 1" ;; esac
[ -r "$WAVE_NODES_FILE" ] || die "cannot read the wave's nodes at $WAVE_NODES_FILE"
. "$(dirname "$0")/list-pages.sh"

# Kubernetes quantities (resource.Quantity): a decimal number with an optional decimal (m, k, M,
# G...) or binary (Ki, Mi, Gi...) suffix, or an exponent (129e6).
QTY='
  def qty: tostring
    | (capture("^(?<n>[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?)(?<s>[a-zA-Z]*)$")
       // error("not a quantity: \(.)")) as $q
    | ($q.n | tonumber) * ({"": 1, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
        "Ki": 1024, "Mi": 1048576, "Gi": 1073741824, "Ti": 1099511627776, "Pi": 1125899906842624, "Ei": 1152921504606846976}[$q.s]
       // error("unknown quantity suffix \($q.s)"));
  def millicores: qty * 1000 | ceil;
  def bytes: qty | ceil;
'
NODE_FILTER="$QTY"'
  .items[]
  | [ "N", .metadata.name,
      ((.status.allocatable.cpu // "0") | millicores), ((.status.allocatable.memory // "0") | bytes),
      (if (.spec.unschedulable // false)
          or any(.spec.taints[]?; .effect == "NoSchedule" or .effect == "NoExecute")
          or (any(.status.conditions[]?; .type == "Ready" and .status == "True") | not)
          or (.metadata.labels["kubernetes.io/os"] // "linux") != "linux"
          or .metadata.labels.type == "virtual-kubelet"
       then 0 else 1 end),
      (.metadata.annotations["cni-migrate.io/network"] // "-") ]
  | map(tostring) | join("\t")
'
POD_FILTER="$QTY"'
  def requests(f): [f | (.resources.requests // {}) | [((.cpu // "0") | millicores), ((.memory // "0") | bytes)]];
  .items[]
  | select(.spec.nodeName != null and .status.phase != "Succeeded" and .status.phase != "Failed")
  | requests(.spec.containers[]?) as $c
  | requests(.spec.initContainers[]?) as $i
  | [ "P", .spec.nodeName,
      ([([$c[][0]] | add // 0), ([$i[][0]] | max // 0)] | max) + ((.spec.overhead.cpu // "0") | millicores),
      ([([$c[][1]] | add // 0), ([$i[][1]] | max // 0)] | max) + ((.spec.overhead.memory // "0") | bytes),
      (if .metadata.annotations["kubernetes.io/config.mirror"] != null
          or any(.metadata.ownerReferences[]?; .kind == "DaemonSet")
          or .metadata.labels["app.kubernetes.io/component"] == "node-switch"
       then 0 else 1 end) ]
  | map(tostring) | join("\t")
'
keep_nodes() { cat "$1" >> "$WORK/nodes.tsv"; }
# Pods are folded into one line per node after each page ("A", node, requested CPU and memory,
# evictable CPU and memory, then the evictable pod with the most CPU and the one with the most
# memory), so the disk holds a line per node, not one per pod.
fold_pods() {
  cat "$WORK/pods.agg" "$1" | awk -F '\t' -v OFS='\t' '
    { n = $2 }
    $1 == "A" { uc[n] += $3; um[n] += $4; ec[n] += $5; em[n] += $6
      if ($7 > bc[n]) { bc[n] = $7; bcm[n] = $8 }
      if ($9 > bm[n]) { bm[n] = $9; bmc[n] = $10 }
      seen[n] = 1; next }
    $1 == "P" { uc[n] += $3; um[n] += $4; seen[n] = 1
      if ($5 == 1) { ec[n] += $3; em[n] += $4
        if ($3 > bc[n]) { bc[n] = $3; bcm[n] = $4 }
        if ($4 > bm[n]) { bm[n] = $4; bmc[n] = $3 } } }
    END { for (n in seen) printf "A\t%s\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\n", n, uc[n], um[n], ec[n], em[n], bc[n], bcm[n], bm[n], bmc[n] }
  ' > "$WORK/pods.agg.new"
  mv "$WORK/pods.agg.new" "$WORK/pods.agg"
}

: > "$WORK/nodes.tsv"
: > "$WORK/pods.agg"
each_page /api/v1/nodes "$NODE_FILTER" keep_nodes
each_page "/api/v1/pods?fieldSelector=status.phase%21%3DSucceeded%2Cstatus.phase%21%3DFailed" "$POD_FILTER" fold_pods

awk -F '\t' -v lanes="$LANES" -v wavefile="$WAVE_NODES_FILE" -v work="$WORK" '
  BEGIN { while ((getline n < wavefile) > 0) if (n != "") wave[n] = 1 }
  $1 == "N" { cpu[$2] = $3; mem[$2] = $4; ok[$2] = $5; net[$2] = $6; next }
  $1 == "A" {
    ucpu[$2] = $3; umem[$2] = $4
    if (($2 in wave) && net[$2] != "calico") {
      ecpu[$2] = $5; emem[$2] = $6
      if ($7 > bigc) { bigc = $7; bigcm = $8 }
      if ($9 > bigm) { bigm = $9; bigmc = $10 }
    }
  }
  END {
    waiting = 0
    for (n in wave) if ((n in cpu) && net[n] != "calico") {
      waiting++
      printf "%.0f\n", ecpu[n] > (work "/evict-cpu"); printf "%.0f\n", emem[n] > (work "/evict-mem")
      drained[n] = 1
    }
    close(work "/evict-cpu"); close(work "/evict-mem")
    fc = 0; fm = 0; hosts = 0; fitc = 0; fitm = 0
    # Nothing to evict fits anywhere, also with no other node.
    if (bigc == 0 && bigm == 0) { fitc = 1; fitm = 1 }
    for (n in cpu) if (ok[n] == 1 && !(n in drained)) {
      c = cpu[n] - ucpu[n]; m = mem[n] - umem[n]
      if (c < 0) c = 0
      if (m < 0) m = 0
      fc += c; fm += m; hosts++
      if (c >= bigc && m >= bigcm) fitc = 1
      if (c >= bigmc && m >= bigm) fitm = 1
    }
    printf "%d %d %.0f %.0f %.0f %.0f %.0f %.0f %d\n", waiting, hosts, fc, fm, bigc, bigcm, bigm, bigmc, (fitc && fitm) > (work "/capacity.out")
  }
' "$WORK/nodes.tsv" "$WORK/pods.agg"
rm -f "$WORK/nodes.tsv" "$WORK/pods.agg"
read -r waiting hosts free_cpu free_mem big_cpu big_cpu_mem big_mem big_mem_cpu fits < "$WORK/capacity.out"
if [ "$waiting" -eq 0 ]; then
  echo "gate: no node of the wave is waiting to be drained (all are on Calico already)"
  exit 0
fi
top() { sort -rn "$1" | head -n "$LANES" | awk '{ s += $1 } END { printf "%.0f", s }'; }
need_cpu=$(top "$WORK/evict-cpu")
need_mem=$(top "$WORK/evict-mem")
at_once=$LANES
[ "$waiting" -ge "$LANES" ] || at_once=$waiting
cores() { awk -v m="$1" 'BEGIN { printf "%.1f CPU", m / 1000 }'; }
gib() { awk -v b="$1" 'BEGIN { printf "%.1f GiB", b / 1073741824 }'; }
summary="the $at_once of the wave's $waiting node(s) still to drain with the most to evict hold $(cores "$need_cpu") and $(gib "$need_mem") of pod requests; the $hosts other schedulable node(s) have $(cores "$free_cpu") and $(gib "$free_mem") free"
if [ "$need_cpu" -gt "$free_cpu" ] || [ "$need_mem" -gt "$free_mem" ]; then
  echo "gate: not enough room for the wave's drains: $summary. Lower spec.nodes.maxConcurrentDrains, add nodes, or free capacity before this step" >&2
  exit 1
fi
if [ "$fits" -ne 1 ]; then
  echo "gate: not enough room for the wave's drains: the largest pod to evict ($(cores "$big_cpu"), $(gib "$big_cpu_mem")) or the one with the most memory ($(cores "$big_mem_cpu"), $(gib "$big_mem")) fits on no other schedulable node; $summary" >&2
  exit 1
fi
echo "gate: room for the wave's drains: $summary"
