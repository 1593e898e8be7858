#!/usr/bin/env bash
# The real peers the tests run against, from Debian's packages: busybox (the shell of the node
# Jobs' image), containerd and the CNI plugins (the runtime whose CNI choice the switch changes),
# jq (the API-side scripts), ip and iptables (the Weave cleanup, in a network namespace) and
# kubectl (kustomize), gawk and ipset (the kubectl and calico/node images' tools), shellcheck (the
# scripts' POSIX lint). Installs what is missing when it can (root with apt-get); otherwise says
# what is missing, and the tests that need it say so loudly when they skip.
set -euo pipefail

need=()
command -v busybox >/dev/null 2>&1 || need+=(busybox-static)
command -v containerd >/dev/null 2>&1 || need+=(containerd)
[ -x /usr/lib/cni/portmap ] || need+=(containernetworking-plugins)
command -v jq >/dev/null 2>&1 || need+=(jq)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v iptables-legacy >/dev/null 2>&1 || need+=(iptables)
command -v kubectl >/dev/null 2>&1 || need+=(kubernetes-client)
command -v git >/dev/null 2>&1 || need+=(git)
# The tools of the images the Jobs run in (test/support/image-tools.ts): gawk is the kubectl
# image's awk; ipset is in calico/node.
command -v gawk >/dev/null 2>&1 || need+=(gawk)
command -v ipset >/dev/null 2>&1 || need+=(ipset)
# ShellCheck lints every script as POSIX sh, the shell all three images share (test/shellcheck.test.ts).
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)

[ "${#need[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing test peers: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
else
  echo "missing test peers (install them from Debian's packages, as root): ${need[*]}" >&2
fi
