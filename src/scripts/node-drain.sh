#!/bin/sh
# Cordon and drain a node around its switch, only as far as the switch needs, and release only
# what this tool cordoned. Runs in the kubectl image, in a node Job.
#
#   PHASE=drain     VERDICT_FILE (written by node-switch.sh in inspect mode) says whether the switch
#                   changes the node. If it does not, nothing is done: a re-created Job, a Job of a
#                   node already switched, never cordons or drains it. Otherwise the node is
#                   marked (annotation cni-migrate.io/cordoned=true) before it is cordoned, so
#                   whichever Job next converges it, forward or back, knows this tool cordoned it;
#                   then `kubectl drain` evicts its pods through the Eviction API (so
#                   PodDisruptionBudgets hold), retrying until DRAIN_TIMEOUT seconds.
#   PHASE=uncordon  uncordon the node only if it carries the mark, then remove the mark (in that
#                   order: a crash between leaves the mark, and the next Job uncordons again). A
#                   node cordoned by someone else, without the mark, is left as it is. Then
#                   WEAVE_TAINT=add puts the taint cni-migrate.io/on-weave:PreferNoSchedule on
#                   the node (a node still on Weave during the node phase: pods evicted from a
#                   wave prefer switched nodes, and so move once), =remove takes it off.
#                   PreferNoSchedule only steers the scheduler; it never evicts or blocks a pod.
#   NODE_NAME       the node
#   DRAIN_SELECTOR  pods the drain evicts (the node Jobs' own pods are left out)
set -eu
NODE_NAME="${NODE_NAME:?NODE_NAME is required}"
PHASE="${PHASE:-}"
MARK=cni-migrate.io/cordoned

log() { echo "node-drain[$NODE_NAME]: $*"; }
die() { echo "node-drain[$NODE_NAME]: ERROR: $*" >&2; exit 1; }

# Every command this script runs, checked before it changes anything: the image may lack one.
for tool in kubectl cat; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found in the image; nothing was changed"
done

case "$PHASE" in
  drain)
    [ -n "${VERDICT_FILE:-}" ] && [ -s "$VERDICT_FILE" ] || die "no verdict from the inspect step at ${VERDICT_FILE:-(unset)}; not draining"
    verdict=$(cat "$VERDICT_FILE")
    case "$verdict" in
      converged) log "the node is already in its desired state: not cordoned, not drained"; exit 0 ;;
      change) ;;
      *) die "unexpected verdict '$verdict'; not draining" ;;
    esac
    kubectl annotate node "$NODE_NAME" "$MARK=true" --overwrite >/dev/null
    log "marked $MARK=true; draining (timeout ${DRAIN_TIMEOUT:-600}s)"
    kubectl drain "$NODE_NAME" --ignore-daemonsets --delete-emptydir-data \
      "--pod-selector=${DRAIN_SELECTOR:-app.kubernetes.io/component!=node-switch}" "--timeout=${DRAIN_TIMEOUT:-600}s"
    ;;
  uncordon)
    mark=$(kubectl get node "$NODE_NAME" -o "jsonpath={.metadata.annotations.cni-migrate\.io/cordoned}")
    if [ "$mark" = true ]; then
      kubectl uncordon "$NODE_NAME"
      kubectl annotate node "$NODE_NAME" "$MARK-" >/dev/null
      log "uncordoned (this tool had cordoned it)"
    else
      log "not cordoned by this tool: left as it is"
    fi
    tainted=$(kubectl get node "$NODE_NAME" -o 'jsonpath={.spec.taints[?(@.key=="cni-migrate.io/on-weave")].effect}')
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
