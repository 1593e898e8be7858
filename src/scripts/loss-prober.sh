#!/bin/sh
# Counts lost requests for as long as a step runs: every INTERVAL seconds one HTTP request to each
# target at once (each bounded by TIMEOUT seconds), from a pod on one network to the probe Services
# of both networks (so through kube-proxy, across the networks, both ways between the two probers).
# A target is counted from its first answer on (its server may start after this pod), and from
# then on every request that does not answer "ok" in time is a lost one, logged with its time.
# Every REPORT_EVERY rounds, and when the pod stops, a summary line:
#   loss: step=<step> from=<net> sent=<n> failed=<n> <target>=<failed>/<sent>|waiting ...
# which `cni-migrate status` reads from the pod's log. The same line is kept in COUNTS_FILE for
# the readiness check: `loss-prober.sh ready` succeeds only once every target answered and at most
# MAX_LOSS_PERCENT of the requests failed, so a step that lost more is not healthy.
#   FROM, STEP        for the log
#   TARGETS           "name=url ..." (names: lower-case letters)
#   INTERVAL          seconds between rounds (default 1)
#   TIMEOUT           seconds a request may take (default 1)
#   REPORT_EVERY      rounds between summary lines (default 60)
#   COUNTS_FILE       default /tmp/loss
#   MAX_LOSS_PERCENT  for `ready` (default 0)
set -eu
COUNTS_FILE="${COUNTS_FILE:-/tmp/loss}"

if [ "${1:-}" = ready ]; then
  # Its one tool, checked first: without it the pod stays unready, saying why.
  command -v awk >/dev/null 2>&1 || { echo "not ready: awk not found in the image"; exit 1; }
  [ -s "$COUNTS_FILE" ] || { echo "not counting yet: no round done"; exit 1; }
  exec awk -v max="${MAX_LOSS_PERCENT:-0}" '{
      for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2]; if (kv[2] == "waiting") waiting = waiting " " kv[1] }
      if (waiting != "") { print "not counting yet:" waiting " has not answered"; exit 1 }
      if (v["failed"] * 100 > max * v["sent"]) { print v["failed"] " of " v["sent"] " requests failed, more than " max "%"; exit 1 }
      exit 0
    }' "$COUNTS_FILE"
fi

FROM="${FROM:-?}"
STEP="${STEP:-?}"
TARGETS="${TARGETS:?TARGETS is required}"
INTERVAL="${INTERVAL:-1}"
TIMEOUT="${TIMEOUT:-1}"
REPORT_EVERY="${REPORT_EVERY:-60}"
WORK="${WORK:-${TMPDIR:-/tmp}}"

die() { echo "loss[$FROM]: ERROR: $*" >&2; exit 1; }
for tool in wget timeout sleep date cat mv; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found in the image; nothing was probed"
done
names=""
for t in $TARGETS; do
  name="${t%%=*}"
  case "$name" in '' | *[!a-z]*) die "target '$t': expected name=url with a lower-case name" ;; esac
  names="$names $name"
  eval "sent_$name=0 failed_$name=0 counting_$name=''"
done

summary() {
  line="step=$STEP from=$FROM"
  total_sent=0 total_failed=0 per=""
  for name in $names; do
    s=0 f=0 c=''
    eval "s=\$sent_$name f=\$failed_$name c=\$counting_$name"
    total_sent=$((total_sent + s)) total_failed=$((total_failed + f))
    if [ -n "$c" ]; then per="$per $name=$f/$s"; else per="$per $name=waiting"; fi
  done
  echo "$line sent=$total_sent failed=$total_failed$per"
}
report() { echo "loss: $(summary)"; }
trap 'report; exit 0' TERM INT

echo "loss[$FROM]: probing$(for t in $TARGETS; do printf ' %s' "${t#*=}"; done) every ${INTERVAL}s (timeout ${TIMEOUT}s) during $STEP"
rounds=0
while :; do
  for t in $TARGETS; do
    name="${t%%=*}"
    url="${t#*=}"
    ( if [ "$(timeout "$TIMEOUT" wget -q -O - "$url" 2>/dev/null)" = ok ]; then echo ok; else echo failed; fi > "$WORK/$name.result" ) &
  done
  sleep "$INTERVAL" &
  wait
  for name in $names; do
    result=$(cat "$WORK/$name.result")
    eval "counting=\$counting_$name"
    if [ -z "$counting" ]; then
      [ "$result" = ok ] || continue
      eval "counting_$name=yes"
      echo "loss[$FROM]: $name answered: counting its requests from now"
    fi
    eval "sent_$name=\$((sent_$name + 1))"
    if [ "$result" != ok ]; then
      eval "failed_$name=\$((failed_$name + 1))"
      echo "loss[$FROM]: request to $name failed at $(date -u +%H:%M:%S)"
    fi
  done
  summary > "$COUNTS_FILE.new" && mv "$COUNTS_FILE.new" "$COUNTS_FILE"
  rounds=$((rounds + 1))
  [ $((rounds % REPORT_EVERY)) -ne 0 ] || report
done
