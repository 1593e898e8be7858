#!/bin/sh
# Argo CD PostSync hook: succeed once every DaemonSet and Job of cni-migrate (SELECTOR) in
# NAMESPACES is healthy, whether or not this sync operation applied it. Runs in the kubectl image
# (kubectl, jq, sort, sleep, date). Read-only.
#
# Why: with ApplyOutOfSyncOnly, Argo CD waits only for the health of what an operation applies
# (gitops-engine pkg/sync/sync_context.go: filterOutOfSyncTasks drops unchanged objects before the
# wave's tasks run, and only run tasks are waited for). A retry of a failed operation, or a sync
# started again after one was terminated, leaves a switch DaemonSet whose pod is stuck (a drain
# held by a PodDisruptionBudget) or a failed Job unchanged, so that sync would end "Succeeded"
# with a node not switched. This hook makes the operation fail instead, naming what is not healthy.
#
# Health as Argo CD counts it (gitops-engine pkg/health):
# - DaemonSet (health_daemonset.go, after kubectl rollout status): Progressing while
#   metadata.generation > status.observedGeneration, or (RollingUpdate) updatedNumberScheduled or
#   numberAvailable < desiredNumberScheduled; an OnDelete DaemonSet is Healthy once observed.
# - Job (health_job.go): Progressing until a Complete or Failed condition is True; Failed is
#   Degraded. A Failed Job is never run again by Argo CD, so it fails this hook at once.
# Argo CD's own hooks (the gate, this Job) are left out: they carry argocd.argoproj.io/hook.
#
# Both lists are read a page at a time and reduced to one line per object that is not healthy,
# so memory does not grow with the cluster.
#   NAMESPACES        namespaces holding the step's DaemonSets and Jobs, separated by spaces
#   SELECTOR          label selector of them (default app.kubernetes.io/name=cni-migrate)
#   TIMEOUT_SECONDS   how long a DaemonSet or Job may stay Progressing (default 540)
#   INTERVAL_SECONDS  between two looks (default 10)
#   PAGE_SIZE         objects per page (default 500)
set -eu
export LC_ALL=C
# Every command this script runs, checked first: the image may lack one.
for tool in kubectl jq sort grep head tail wc tr cat rm dirname sleep date; do
  command -v "$tool" >/dev/null 2>&1 || { echo "step-healthy: ERROR: $tool not found in the image" >&2; exit 1; }
done
: "${NAMESPACES:?NAMESPACES must name the namespaces to check}"
SELECTOR="${SELECTOR:-app.kubernetes.io/name=cni-migrate}"
TIMEOUT_SECONDS="${TIMEOUT_SECONDS:-540}"
INTERVAL_SECONDS="${INTERVAL_SECONDS:-10}"
WORK="${WORK_DIR:-/tmp}"
PAGE_SIZE="${PAGE_SIZE:-500}"

die() { echo "step-healthy: ERROR: $*" >&2; exit 1; }
. "$(dirname "$0")/list-pages.sh"
append() { cat "$1" >> "$WORK/unhealthy.raw"; }

# One line per object that is not healthy: "progressing <kind> <ns>/<name>: why" or "failed ...".
SETS='.items[] | select(.metadata.annotations["argocd.argoproj.io/hook"] == null)
  | (.status // {}) as $s | "\(.metadata.namespace)/\(.metadata.name)" as $n
  | ($s.desiredNumberScheduled // 0) as $want
  | if (.metadata.generation // 0) > ($s.observedGeneration // 0) then "progressing DaemonSet \($n): the controller has not seen its newest template yet"
    elif .spec.updateStrategy.type == "OnDelete" then empty
    elif ($s.updatedNumberScheduled // 0) < $want then "progressing DaemonSet \($n): \($s.updatedNumberScheduled // 0) of \($want) pods updated"
    elif ($s.numberAvailable // 0) < $want then "progressing DaemonSet \($n): \($s.numberAvailable // 0) of \($want) pods available"
    else empty end'
JOBS='.items[] | select(.metadata.annotations["argocd.argoproj.io/hook"] == null)
  | "\(.metadata.namespace)/\(.metadata.name)" as $n
  | [(.status.conditions // [])[] | select(.status == "True") | .type] as $c
  | if ($c | index("Failed")) then "failed Job \($n): \((.status.conditions[] | select(.type == "Failed") | .message) // "failed")"
    elif ($c | index("Complete")) then empty
    else "progressing Job \($n): not complete yet" end'

selector=$(printf '%s' "$SELECTOR" | jq -sRr @uri)
deadline=$(( $(date +%s) + TIMEOUT_SECONDS ))
while :; do
  : > "$WORK/unhealthy.raw"
  for ns in $NAMESPACES; do
    each_page "/apis/apps/v1/namespaces/$ns/daemonsets?labelSelector=$selector" "$SETS" append
    each_page "/apis/batch/v1/namespaces/$ns/jobs?labelSelector=$selector" "$JOBS" append
  done
  sort "$WORK/unhealthy.raw" > "$WORK/unhealthy"
  rm -f "$WORK/unhealthy.raw"
  if [ ! -s "$WORK/unhealthy" ]; then
    echo "step-healthy: every DaemonSet and Job of this step is healthy"
    exit 0
  fi
  # A failed Job stays failed (Argo CD re-applies it unchanged): waiting cannot help.
  if grep -q '^failed ' "$WORK/unhealthy" || [ "$(date +%s)" -ge "$deadline" ]; then
    echo "step-healthy: $(wc -l < "$WORK/unhealthy" | tr -d ' ') object(s) of this step are not healthy; PLAN.md, \"If this step is stuck\", says how to retry each:" >&2
    head -n 50 "$WORK/unhealthy" >&2
    exit 1
  fi
  sleep "$INTERVAL_SECONDS"
done
