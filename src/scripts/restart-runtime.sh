#!/bin/sh
# Restart the node's container runtime and then its kubelet, so a CNI config change is taken at
# once even where the runtime's file watcher missed it. Runs in the host's namespaces through
# nsenter on PID 1, which is why the step that runs it needs hostPID and a privileged container.
#   RUNTIME=containerd|crio   the runtime's systemd unit
set -eu
RUNTIME="${RUNTIME:-containerd}"
NODE_NAME="${NODE_NAME:-$(hostname)}"
HOST="${HOST_NSENTER:-nsenter -t 1 -m -u -i -n -p --}"
# systemd's own test for "booted with systemd" (sd_booted), as seen from the host.
SYSTEMD_MARKER="${SYSTEMD_MARKER:-/run/systemd/system}"

# nsenter (from the image) is what reaches the host's systemd; checked before anything is done.
command -v "${HOST%% *}" >/dev/null 2>&1 || { echo "restart-runtime[$NODE_NAME]: ERROR: ${HOST%% *} not found in the image; nothing was changed" >&2; exit 1; }

# A node the switch did not change (a re-created Job) needs no restart.
if [ -n "${VERDICT_FILE:-}" ] && [ "$(cat "$VERDICT_FILE" 2>/dev/null)" = converged ]; then
  echo "restart-runtime[$NODE_NAME]: the switch changed nothing: no restart"
  exit 0
fi

case "$RUNTIME" in
  containerd | crio) ;;
  *) echo "restart-runtime[$NODE_NAME]: ERROR: RUNTIME=$RUNTIME; expected containerd or crio" >&2; exit 1 ;;
esac

# shellcheck disable=SC2086
if ! $HOST test -d "$SYSTEMD_MARKER"; then
  echo "restart-runtime[$NODE_NAME]: ERROR: the host does not run systemd; restart $RUNTIME and the kubelet by hand, or set spec.nodes.restartKubelet: false" >&2
  exit 1
fi
echo "restart-runtime[$NODE_NAME]: restarting $RUNTIME"
# shellcheck disable=SC2086
$HOST systemctl restart "$RUNTIME"
echo "restart-runtime[$NODE_NAME]: restarting kubelet"
# shellcheck disable=SC2086
$HOST systemctl restart kubelet
echo "restart-runtime[$NODE_NAME]: done"
