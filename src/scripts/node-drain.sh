#!/bin/sh
# Cordon and drain a node around its switch, only as far as the switch needs, and release only
# what this tool cordoned. Runs in the kubectl image, as a step of a node switch pod.
#
#   PHASE=drain     VERDICT_FILE (written by node-switch.sh in inspect mode) says whether the switch
#                   changes the node. If it does not, nothing is done: a pod run again, or the
#                   switch of a node already switched, never cordons or drains it. Otherwise the node is
#                   marked (annotation cni-migrate.io/cordoned=true) before it is cordoned, so
#                   whichever switch next converges it, forward or back, knows this tool cordoned it;
#                   then `kubectl drain` evicts its pods through the Eviction API (so
#                   PodDisruptionBudgets hold), retrying until DRAIN_TIMEOUT seconds.
#   PHASE=uncordon  uncordon the node only if it carries the mark, then remove the mark (in that
#                   order: a crash between leaves the mark, and the next run uncordons again). A
#                   node cordoned by someone else, without the mark, is left as it is. Then
#                   WEAVE_TAINT=add puts the taint cni-migrate.io/on-weave:PreferNoSchedule on
#                   the node (a node still on Weave during the node phase: pods evicted from a
#                   wave prefer switched nodes, and so move once), =remove takes it off.
#                   PreferNoSchedule only steers the scheduler; it never evicts or blocks a pod.
#                   NETWORK=calico|weave records the network the node's new pods get in the
#                   annotation cni-migrate.io/network (when it differs), which the drain-capacity
#                   gate reads to leave out nodes that drain nothing.
#   NODE_NAME       the node
#   DRAIN_SELECTOR  pods the drain evicts (the node switches' own pods are left out)
#   DRAIN_LANES     the disruption budget (spec.nodes.maxConcurrentDrains) is a set of lanes, one
#                   Lease each (cni-migrate-drain-lane-<n>, n < DRAIN_LANES, in LEASE_NAMESPACE); a
#                   node drains only while it holds one of them, so no more nodes are cordoned for
#                   draining at once than there are lanes, across every DaemonSet that drains (a
#                   wave's, the newcomers'). Any free lane will do; the search starts at a lane
#                   picked from the clock, so drains starting together rarely read the same Lease.
#                   A Lease is taken with an atomic create, or an update carrying the
#                   resourceVersion read (the API server answers 409 Conflict / AlreadyExists to
#                   the loser: API concepts, "Concurrency Control and Consistency"). It names the
#                   node as holder, so a drain retried after a crash takes its own lane back first;
#                   it expires LANE_LEASE_SECONDS after it was taken, so a pod that died for good
#                   never holds it forever. PHASE=drain waits up to LANE_WAIT_SECONDS for one;
#                   PHASE=uncordon gives back every lane this node holds after the uncordon (a
#                   crash in between leaves it held by this node, and the next run gives it back).
set -eu
NODE_NAME="${NODE_NAME:?NODE_NAME is required}"
PHASE="${PHASE:-}"
MARK=cni-migrate.io/cordoned

log() { echo "node-drain[$NODE_NAME]: $*"; }
die() { echo "node-drain[$NODE_NAME]: ERROR: $*" >&2; exit 1; }

# Every command this script runs, checked before it changes anything: the image may lack one.
for tool in kubectl cat jq date grep sleep; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found in the image; nothing was changed"
done

LEASE_NAMESPACE="${LEASE_NAMESPACE:-kube-system}"
LANE_POLL_SECONDS="${LANE_POLL_SECONDS:-10}"
ERR_FILE="${TMPDIR:-/tmp}/node-drain.err"

# Lane $LANE's Lease as this node would write it: holder $1 ("" gives it back), resourceVersion $2
# ("" for a create).
lease_doc() {
  now=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
  jq -n --arg name "cni-migrate-drain-lane-$LANE" --arg ns "$LEASE_NAMESPACE" --arg holder "$1" --arg rv "$2" \
    --argjson seconds "${LANE_LEASE_SECONDS:-1500}" --arg now "$now" '{
      apiVersion: "coordination.k8s.io/v1", kind: "Lease",
      metadata: ({name: $name, namespace: $ns, labels: {"app.kubernetes.io/name": "cni-migrate", "app.kubernetes.io/component": "drain-lane"}}
        + (if $rv == "" then {} else {resourceVersion: $rv} end)),
      spec: {holderIdentity: $holder, leaseDurationSeconds: $seconds, acquireTime: $now, renewTime: $now}}'
}

# Reads lane $LANE's Lease into LEASE_HOLDER, LEASE_RV and LEASE_EXPIRES (epoch seconds); returns 1
# when there is none. Any other error fails closed: a drain that cannot see the budget does not drain.
read_lane() {
  if ! lease=$(kubectl get lease "cni-migrate-drain-lane-$LANE" "--namespace=$LEASE_NAMESPACE" -o json 2>"$ERR_FILE"); then
    grep -q NotFound "$ERR_FILE" && return 1
    die "cannot read the drain lane's Lease cni-migrate-drain-lane-$LANE: $(cat "$ERR_FILE")"
  fi
  LEASE_HOLDER=$(printf '%s' "$lease" | jq -r '.spec.holderIdentity // ""')
  LEASE_RV=$(printf '%s' "$lease" | jq -r '.metadata.resourceVersion // ""')
  renew=$(printf '%s' "$lease" | jq -r '.spec.renewTime // .spec.acquireTime // ""')
  seconds=$(printf '%s' "$lease" | jq -r '.spec.leaseDurationSeconds // 0')
  LEASE_EXPIRES=0
  [ -n "$renew" ] && LEASE_EXPIRES=$(( $(date -d "$renew" +%s) + seconds ))
  return 0
}

# Writes lane $LANE's Lease; a lost race (Conflict, AlreadyExists) returns 1, anything else fails.
write_lane() {
  verb=$1 holder=$2 rv=$3
  lease_doc "$holder" "$rv" | kubectl "$verb" -f - >/dev/null 2>"$ERR_FILE" && return 0
  grep -Eq 'Conflict|AlreadyExists|has been modified|already exists' "$ERR_FILE" && return 1
  die "cannot $verb the drain lane's Lease cni-migrate-drain-lane-$LANE: $(cat "$ERR_FILE")"
}

# Tries lane $LANE once: free, ours already, or expired. Returns 1 when another node holds it.
try_lane() {
  if ! read_lane; then
    write_lane create "$NODE_NAME" "" && { log "took drain lane $LANE"; return 0; }
  elif [ -z "$LEASE_HOLDER" ] || [ "$LEASE_HOLDER" = "$NODE_NAME" ]; then
    write_lane replace "$NODE_NAME" "$LEASE_RV" && { log "took drain lane $LANE"; return 0; }
  elif [ "$(date +%s)" -ge "$LEASE_EXPIRES" ]; then
    if write_lane replace "$NODE_NAME" "$LEASE_RV"; then
      log "took drain lane $LANE over from $LEASE_HOLDER, whose Lease had expired (its drain failed or its pod was deleted; that node may still be cordoned: cni-migrate status names it)"
      return 0
    fi
  fi
  return 1
}

# A lane this node already holds (a drain retried after a crash), else the first free one from a
# lane picked from the clock; waits for one up to LANE_WAIT_SECONDS.
take_lane() {
  deadline=$(( $(date +%s) + ${LANE_WAIT_SECONDS:-3600} ))
  polls=0
  LANE=0
  while [ "$LANE" -lt "$DRAIN_LANES" ]; do
    if read_lane && [ "$LEASE_HOLDER" = "$NODE_NAME" ]; then try_lane && return 0; fi
    LANE=$((LANE + 1))
  done
  # The leading 1 keeps the nanoseconds decimal (a leading 0 would read as octal).
  start=$(( 1$(date +%N) % DRAIN_LANES ))
  while :; do
    i=0
    while [ "$i" -lt "$DRAIN_LANES" ]; do
      LANE=$(( (start + i) % DRAIN_LANES ))
      try_lane && return 0
      i=$((i + 1))
    done
    [ "$(date +%s)" -lt "$deadline" ] || die "all $DRAIN_LANES drain lane(s) still held (lane $LANE by ${LEASE_HOLDER:-another node}) after ${LANE_WAIT_SECONDS:-3600}s; not cordoned, not drained"
    [ $((polls % 30)) -eq 0 ] && log "waiting for one of $DRAIN_LANES drain lane(s), all held (spec.nodes.maxConcurrentDrains)"
    polls=$((polls + 1))
    sleep "$LANE_POLL_SECONDS"
  done
}

# Gives back every lane this node holds.
give_lanes_back() {
  LANE=0
  while [ "$LANE" -lt "$DRAIN_LANES" ]; do
    while read_lane && [ "$LEASE_HOLDER" = "$NODE_NAME" ]; do
      write_lane replace "" "$LEASE_RV" && { log "gave drain lane $LANE back"; break; }
    done
    LANE=$((LANE + 1))
  done
  return 0
}

case "$PHASE" in
  drain)
    [ -n "${VERDICT_FILE:-}" ] && [ -s "$VERDICT_FILE" ] || die "no verdict from the inspect step at ${VERDICT_FILE:-(unset)}; not draining"
    verdict=$(cat "$VERDICT_FILE")
    case "$verdict" in
      converged) log "the node is already in its desired state: not cordoned, not drained"; exit 0 ;;
      change) ;;
      *) die "unexpected verdict '$verdict'; not draining" ;;
    esac
    case "${DRAIN_LANES:-}" in '' | *[!0-9]* | 0) die "DRAIN_LANES='${DRAIN_LANES:-}' (the number of drain lanes, at least 1) is required to drain; not draining" ;; esac
    take_lane
    kubectl annotate node "$NODE_NAME" "$MARK=true" --overwrite >/dev/null
    log "marked $MARK=true; draining (timeout ${DRAIN_TIMEOUT:-600}s)"
    kubectl drain "$NODE_NAME" --ignore-daemonsets --delete-emptydir-data \
      "--pod-selector=${DRAIN_SELECTOR:-app.kubernetes.io/component!=node-switch}" "--timeout=${DRAIN_TIMEOUT:-600}s"
    ;;
  uncordon)
    # One read of the node for the mark, the network annotation and the taint.
    kubectl get node "$NODE_NAME" -o json > "${TMPDIR:-/tmp}/node.json"
    field() { jq -r "$1" "${TMPDIR:-/tmp}/node.json"; }
    mark=$(field '.metadata.annotations["cni-migrate.io/cordoned"] // ""')
    recorded=$(field '.metadata.annotations["cni-migrate.io/network"] // ""')
    tainted=$(field '[.spec.taints[]? | select(.key == "cni-migrate.io/on-weave") | .effect] | join(" ")')
    if [ "$mark" = true ]; then
      kubectl uncordon "$NODE_NAME"
      kubectl annotate node "$NODE_NAME" "$MARK-" >/dev/null
      log "uncordoned (this tool had cordoned it)"
    else
      log "not cordoned by this tool: left as it is"
    fi
    [ -z "${DRAIN_LANES:-}" ] || give_lanes_back
    if [ -n "${NETWORK:-}" ]; then
      case "$NETWORK" in calico | weave) ;; *) die "NETWORK=$NETWORK; expected calico or weave" ;; esac
      if [ "$recorded" != "$NETWORK" ]; then
        kubectl annotate node "$NODE_NAME" "cni-migrate.io/network=$NETWORK" --overwrite >/dev/null
        log "annotated cni-migrate.io/network=$NETWORK"
      fi
    fi
    case "${WEAVE_TAINT:-keep}" in
      add)
        if [ -z "$tainted" ]; then
          kubectl taint node "$NODE_NAME" cni-migrate.io/on-weave=true:PreferNoSchedule --overwrite >/dev/null
          log "tainted cni-migrate.io/on-weave:PreferNoSchedule (still on Weave: evicted pods prefer switched nodes)"
        fi
        ;;
      remove)
        if [ -n "$tainted" ]; then
          kubectl taint node "$NODE_NAME" cni-migrate.io/on-weave:PreferNoSchedule- >/dev/null
          log "removed the taint cni-migrate.io/on-weave"
        fi
        ;;
      keep) ;;
      *) die "WEAVE_TAINT=$WEAVE_TAINT; expected add, remove or keep" ;;
    esac
    ;;
  *) die "PHASE=$PHASE; expected drain or uncordon" ;;
esac
