#!/bin/sh
# Converge one node's CNI config folder to a stated state. Runs in a busybox-class image as the
# Job of a node; safe to rerun from any point (every step checks before it acts).
#
#   DESIRED=calico-first  a copy of Calico's conflist under PRIORITY_NAME, which sorts before
#                         Weave's 10-weave.conflist, so the runtime picks Calico for new pods
#   DESIRED=weave-first   no such copy: the runtime picks the first of Weave's and Calico's own files
#   DESIRED=calico-native no such copy, once Calico's own file (under its final name, which sorts
#                         before Weave's) is valid and first without it
#
#   VERDICT_FILE=<path>   inspect only: change nothing, and write "converged" (the folder is in
#                         the desired state) or "change" (a switch would change it) to the file.
#                         The Job runs this first, so a node already converged is never cordoned,
#                         drained or restarted (a re-created Job is harmless), and a switch that
#                         would be refused (Calico's conflist missing) fails before any drain.
#
# We never rename or delete Weave's or Calico's own files: their DaemonSets rewrite them on every
# restart, which would undo the switch. containerd takes the first *.conf/*.conflist/*.json file
# in byte order and does not fall back when it is broken, so the folder is never left with a
# broken or missing first file: copies are written under a name containerd ignores and renamed
# inside the folder (a file moved in from elsewhere fires no reload in containerd).
set -eu

CNI_DIR="${CNI_DIR:-/host/etc/cni/net.d}"
CALICO_CONF="${CALICO_CONF:-20-calico.conflist}"
PRIORITY_NAME="${PRIORITY_NAME:-05-calico.conflist}"
NODE_NAME="${NODE_NAME:-$(hostname)}"
DESIRED="${DESIRED:-}"
VERDICT_FILE="${VERDICT_FILE:-}"

log() { echo "node-switch[$NODE_NAME]: $*"; }
# In inspect mode, record what a switch would do and stop before changing anything.
verdict() {
  [ -n "$VERDICT_FILE" ] || return 0
  echo "$1" > "$VERDICT_FILE"
  log "inspect: $1 (DESIRED=$DESIRED)"
  [ "$1" = converged ] || exit 0
}
die() { echo "node-switch[$NODE_NAME]: ERROR: $*" >&2; exit 1; }

# Every command this script runs, checked before it changes anything: the image may lack one.
for tool in awk cmp cp mv rm ls sync; do
  command -v "$tool" >/dev/null 2>&1 || { echo "node-switch[$NODE_NAME]: ERROR: $tool not found in the image; nothing was changed" >&2; exit 1; }
done

# Succeeds when $1 is a JSON object with a string "name" and a non-empty "plugins" array: what
# libcni requires of a .conflist before it will load it.
valid_conflist() {
  [ -f "$1" ] && [ -s "$1" ] || return 1
  awk '
    function ws() { while (pos <= n && index(" \t\r\n", substr(s, pos, 1)) > 0) pos++ }
    function str(   c, c2) {
      pos++
      while (pos <= n) {
        c = substr(s, pos, 1)
        if (c == "\"") { pos++; return 1 }
        if (c == "\\") {
          c2 = substr(s, pos + 1, 1)
          if (index("\"\\/bfnrt", c2) > 0) { pos += 2; continue }
          if (c2 == "u" && substr(s, pos + 2, 4) ~ /^[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]$/) { pos += 6; continue }
          return 0
        }
        if (c < " ") return 0
        pos++
      }
      return 0
    }
    function num() {
      if (match(substr(s, pos, 64), /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/)) { pos += RLENGTH; return 1 }
      return 0
    }
    function val(depth,   c) {
      ws()
      if (pos > n) return 0
      c = substr(s, pos, 1)
      if (c == "{") return obj(depth + 1)
      if (c == "[") return arr(depth + 1)
      if (c == "\"") return str()
      if (substr(s, pos, 4) == "true" || substr(s, pos, 4) == "null") { pos += 4; return 1 }
      if (substr(s, pos, 5) == "false") { pos += 5; return 1 }
      return num()
    }
    function obj(depth,   c, k0, key) {
      pos++; ws()
      if (substr(s, pos, 1) == "}") { pos++; return 1 }
      while (1) {
        ws()
        if (substr(s, pos, 1) != "\"") return 0
        k0 = pos
        if (!str()) return 0
        key = substr(s, k0 + 1, pos - k0 - 2)
        ws()
        if (substr(s, pos, 1) != ":") return 0
        pos++; ws()
        if (depth == 1 && key == "name" && substr(s, pos, 1) == "\"") has_name = 1
        if (depth == 1 && key == "plugins" && substr(s, pos, 1) == "[") {
          c = pos + 1
          while (c <= n && index(" \t\r\n", substr(s, c, 1)) > 0) c++
          if (substr(s, c, 1) == "{") has_plugins = 1
        }
        if (!val(depth)) return 0
        ws(); c = substr(s, pos, 1)
        if (c == ",") { pos++; continue }
        if (c == "}") { pos++; return 1 }
        return 0
      }
    }
    function arr(depth,   c) {
      pos++; ws()
      if (substr(s, pos, 1) == "]") { pos++; return 1 }
      while (1) {
        if (!val(depth)) return 0
        ws(); c = substr(s, pos, 1)
        if (c == ",") { pos++; continue }
        if (c == "]") { pos++; return 1 }
        return 0
      }
    }
    { s = s $0 "\n" }
    END {
      n = length(s); pos = 1
      ws()
      if (substr(s, pos, 1) != "{") exit 1
      if (!val(0)) exit 1
      ws()
      exit (pos > n && has_name && has_plugins) ? 0 : 1
    }' "$1"
}

# The file containerd would load: the first *.conf, *.conflist or *.json in byte order.
first_config() {
  LC_ALL=C ls -1 "$CNI_DIR" | while IFS= read -r f; do
    case "$f" in
      *.conf | *.conflist | *.json) [ -f "$CNI_DIR/$f" ] && { echo "$f"; break; } ;;
    esac
  done
}

# Leftovers of an interrupted earlier run: ignored by containerd, removed for tidiness.
TMP="$CNI_DIR/.$PRIORITY_NAME.cni-migrate-tmp"
[ -d "$CNI_DIR" ] || die "$CNI_DIR is not a directory (is /etc/cni/net.d mounted?)"
[ -n "$VERDICT_FILE" ] || rm -f "$TMP"

case "$PRIORITY_NAME" in
  *.conflist) ;;
  *) die "PRIORITY_NAME=$PRIORITY_NAME must end in .conflist" ;;
esac

case "$DESIRED" in
  calico-first)
    SRC="$CNI_DIR/$CALICO_CONF"
    DST="$CNI_DIR/$PRIORITY_NAME"
    [ -e "$SRC" ] || die "Calico's conflist $SRC is missing: is calico-node Ready on this node? Refusing to switch."
    valid_conflist "$SRC" || die "Calico's conflist $SRC is not a valid conflist (JSON with name and plugins). Refusing to switch."
    if [ -f "$DST" ] && cmp -s "$SRC" "$DST"; then
      verdict converged
      log "already calico-first: $PRIORITY_NAME matches $CALICO_CONF"
    else
      verdict change
      cp "$SRC" "$TMP"
      valid_conflist "$TMP" || { rm -f "$TMP"; die "the copy of $SRC at $TMP is not valid (disk full?). Nothing changed."; }
      # On disk before it is renamed into place, and the folder after: a power cut leaves the old
      # file or the new one, whole (an empty first conflist fails the node's whole CNI load).
      sync "$TMP"
      # Same-folder rename: atomic, and containerd reloads on it.
      mv -f "$TMP" "$DST"
      sync "$CNI_DIR"
      log "calico-first: wrote $PRIORITY_NAME from $CALICO_CONF"
    fi
    ;;
  weave-first | calico-native)
    DST="$CNI_DIR/$PRIORITY_NAME"
    if [ "$DESIRED" = calico-native ]; then
      [ -e "$CNI_DIR/$CALICO_CONF" ] || die "Calico's own $CALICO_CONF is missing: is calico-node running with its final name? Keeping $PRIORITY_NAME."
      valid_conflist "$CNI_DIR/$CALICO_CONF" || die "Calico's own $CALICO_CONF is not a valid conflist. Keeping $PRIORITY_NAME."
    fi
    if [ -e "$DST" ]; then
      NEXT=$(LC_ALL=C ls -1 "$CNI_DIR" | while IFS= read -r f; do
        [ "$f" = "$PRIORITY_NAME" ] && continue
        case "$f" in *.conf | *.conflist | *.json) [ -f "$CNI_DIR/$f" ] && { echo "$f"; break; } ;; esac
      done)
      [ -n "$NEXT" ] || die "removing $PRIORITY_NAME would leave no CNI config in $CNI_DIR. Refusing."
      if [ "$DESIRED" = calico-native ] && [ "$NEXT" != "$CALICO_CONF" ]; then
        die "removing $PRIORITY_NAME would make $NEXT first, not Calico's own $CALICO_CONF. Refusing."
      fi
      case "$NEXT" in
        *.conflist) valid_conflist "$CNI_DIR/$NEXT" || die "removing $PRIORITY_NAME would make the broken $NEXT first. Refusing." ;;
      esac
      verdict change
      rm -f "$DST"
      sync "$CNI_DIR"
      log "$DESIRED: removed $PRIORITY_NAME; $NEXT is first"
    else
      verdict converged
      log "already $DESIRED: no $PRIORITY_NAME"
    fi
    ;;
  *)
    die "DESIRED=$DESIRED; expected calico-first, weave-first or calico-native"
    ;;
esac

FIRST=$(first_config)
log "first config now: ${FIRST:-none}"
if [ "$DESIRED" = calico-first ] && [ "$FIRST" != "$PRIORITY_NAME" ]; then
  die "$FIRST sorts before $PRIORITY_NAME, so the runtime still does not pick Calico; remove or rename it by hand"
fi
if [ "$DESIRED" = calico-native ] && [ "$FIRST" != "$CALICO_CONF" ]; then
  die "$FIRST sorts before $CALICO_CONF, so the runtime does not pick Calico; remove or rename it by hand"
fi
exit 0
