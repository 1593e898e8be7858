#!/bin/sh
# Converge kube-proxy's cluster CIDR and kubeadm's podSubnet to the values of this step, through
# the API, then restart kube-proxy when its configuration changed. Runs in the kubectl image
# (kubectl, jq, a POSIX shell). Synth has rendered every value into $TARGETS:
#   <name>.target       the value this step wants
#   <name>.accept.N     every value the object may hold now (the snapshot's, the supernet's, the
#                       final one); anything else means someone changed it outside the migration,
#                       and the script stops rather than overwrite it
#   kube-proxy.mode     configmap (kubeadm: ConfigMap kube-proxy, key config.conf), flag (the
#                       DaemonSet's --cluster-cidr), or none
#   kube-proxy.hash     digest of kube-proxy's target configuration (for the restart annotation)
#   kube-proxy.original-hash  digest of the configuration as captured, which a kube-proxy that was
#                       never restarted by this migration runs with
# Every write is a JSON patch that first tests the value it read, so a concurrent change fails
# the patch instead of being lost. Idempotent: up-to-date objects are not written.
set -eu

TARGETS="${TARGETS:-/targets}"
WORK="${WORK_DIR:-/tmp}"
NS=kube-system
ROLLOUT_SECONDS="${ROLLOUT_SECONDS:-600}"
RESTART_ANNOTATION=cni-migrate.io/kube-proxy-config

log() { echo "cluster-cidr: $*"; }
die() { echo "cluster-cidr: ERROR: $*" >&2; exit 1; }

# Every command this script runs, checked before it changes anything: the image may lack one.
for tool in kubectl jq cat; do
  command -v "$tool" >/dev/null 2>&1 || { echo "cluster-cidr: ERROR: $tool not found in the image; nothing was changed" >&2; exit 1; }
done
same() { jq -n -e --rawfile a "$1" --rawfile b "$2" '$a == $b' > /dev/null; }

# known NAME LIVE: succeeds when LIVE equals one of NAME's accepted values.
known() {
  for f in "$TARGETS/$1".accept.*; do
    [ -f "$f" ] && same "$2" "$f" && return 0
  done
  return 1
}

# configmap_key NAME CONFIGMAP KEY: converge one key of a ConfigMap; exit 0 when it was changed.
configmap_key() {
  kubectl get configmap --namespace="$NS" "$2" -o json > "$WORK/$1.json" || die "cannot read ConfigMap $NS/$2"
  jq -j --arg k "$3" '.data[$k] // ""' "$WORK/$1.json" > "$WORK/$1.live"
  if same "$WORK/$1.live" "$TARGETS/$1.target"; then
    log "ConfigMap $2 ($3) already holds this step's value"
    return 1
  fi
  known "$1" "$WORK/$1.live" || die "ConfigMap $NS/$2 key $3 holds a value this migration did not write or capture; it was changed since the snapshot. Run cni-migrate snapshot, review the diff, and commit before applying this step"
  jq -n --arg k "$3" --rawfile old "$WORK/$1.live" --rawfile new "$TARGETS/$1.target" \
    '[{op: "test", path: ("/data/" + $k), value: $old}, {op: "replace", path: ("/data/" + $k), value: $new}]' > "$WORK/$1.patch"
  kubectl patch configmap --namespace="$NS" "$2" --type=json --patch-file="$WORK/$1.patch" > /dev/null
  log "ConfigMap $2 ($3) updated"
  return 0
}

# daemonset_flag: converge the kube-proxy container's command/args; exit 0 when it was changed.
daemonset_flag() {
  field=$(cat "$TARGETS/kube-proxy.field")
  kubectl get daemonset --namespace="$NS" kube-proxy -o json > "$WORK/ds.json" || die "cannot read DaemonSet $NS/kube-proxy"
  index=$(jq '.spec.template.spec.containers | map(.name) | index("kube-proxy")' "$WORK/ds.json")
  [ "$index" != null ] || die "DaemonSet $NS/kube-proxy has no kube-proxy container"
  jq -j --argjson i "$index" --arg f "$field" '.spec.template.spec.containers[$i][$f] // [] | tojson' "$WORK/ds.json" > "$WORK/kube-proxy.live"
  if same "$WORK/kube-proxy.live" "$TARGETS/kube-proxy.target"; then
    log "DaemonSet kube-proxy already runs with this step's --cluster-cidr"
    return 1
  fi
  known kube-proxy "$WORK/kube-proxy.live" || die "DaemonSet $NS/kube-proxy $field was changed since the snapshot. Run cni-migrate snapshot, review the diff, and commit before applying this step"
  jq -n --argjson i "$index" --arg f "$field" --rawfile old "$WORK/kube-proxy.live" --rawfile new "$TARGETS/kube-proxy.target" \
    '[{op: "test", path: "/spec/template/spec/containers/\($i)/\($f)", value: ($old | fromjson)}, {op: "replace", path: "/spec/template/spec/containers/\($i)/\($f)", value: ($new | fromjson)}]' > "$WORK/ds.patch"
  kubectl patch daemonset --namespace="$NS" kube-proxy --type=json --patch-file="$WORK/ds.patch" > /dev/null
  log "DaemonSet kube-proxy updated"
  return 0
}

mode=$(cat "$TARGETS/kube-proxy.mode")
changed=0
case "$mode" in
  configmap) configmap_key kube-proxy kube-proxy config.conf && changed=1 ;;
  flag) daemonset_flag && changed=1 ;;
  none) log "kube-proxy: nothing to change (no kube-proxy configuration in the snapshot)" ;;
  *) die "kube-proxy.mode=$mode; expected configmap, flag or none" ;;
esac

if [ -f "$TARGETS/kubeadm.target" ]; then
  configmap_key kubeadm kubeadm-config ClusterConfiguration || true
fi

if [ "$mode" = configmap ]; then
  # A ConfigMap change does not restart kube-proxy. The annotation holds the digest of the
  # configuration it was last restarted for (none yet: the one captured), so a run cut short
  # after the patch still restarts it, and a run that changes nothing does not.
  hash=$(cat "$TARGETS/kube-proxy.hash")
  current=$(kubectl get daemonset --namespace="$NS" kube-proxy -o json | jq -r --arg a "$RESTART_ANNOTATION" '.spec.template.metadata.annotations[$a] // ""')
  [ -n "$current" ] || current=$(cat "$TARGETS/kube-proxy.original-hash")
  if [ "$current" != "$hash" ]; then
    jq -n --arg a "$RESTART_ANNOTATION" --arg h "$hash" '{spec: {template: {metadata: {annotations: {($a): $h}}}}}' > "$WORK/restart.patch"
    kubectl patch daemonset --namespace="$NS" kube-proxy --type=merge --patch-file="$WORK/restart.patch" > /dev/null
    log "kube-proxy restarting for the new configuration"
    changed=1
  fi
fi
if [ "$mode" != none ] && [ "$changed" = 1 ]; then
  kubectl rollout status daemonset/kube-proxy --namespace="$NS" --timeout="${ROLLOUT_SECONDS}s" || die "kube-proxy did not finish rolling out within ${ROLLOUT_SECONDS}s"
fi
log "done"
