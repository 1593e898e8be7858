# Library, not a Job's script: readScript copies it into each script that sources it (a script run
# from its file sources it from beside itself), so every Job still ships one self-contained file.
#
# each_page PATH FILTER CALLBACK [jq options...]: lists PATH (an API path, with or without a query)
# one page of PAGE_SIZE objects at a time with `kubectl get --raw` (which copies the answer out as
# it arrives: kubectl's own -o json/jsonpath assemble the whole list in memory first), runs jq
# FILTER on the page, and calls CALLBACK with the file of FILTER's output lines. Memory holds one
# page, whatever the size of the cluster. A server that hands back the continue token it was given
# would page forever: that fails the script (its `die`).
# Needs: kubectl, jq, head, tail, rm; WORK (a scratch folder), PAGE_SIZE (default 500), die().
each_page() {
  _lp_path=$1 _lp_filter=$2 _lp_callback=$3
  shift 3
  _lp_token=''
  while :; do
    case "$_lp_path" in
      *\?*) _lp_url="$_lp_path&limit=${PAGE_SIZE:-500}" ;;
      *) _lp_url="$_lp_path?limit=${PAGE_SIZE:-500}" ;;
    esac
    [ -z "$_lp_token" ] || _lp_url="$_lp_url&continue=$(printf '%s' "$_lp_token" | jq -sRr @uri)"
    kubectl get --raw "$_lp_url" > "$WORK/page.json"
    jq -r "$@" "(.metadata.continue // \"\"), ($_lp_filter)" "$WORK/page.json" > "$WORK/page.out"
    rm -f "$WORK/page.json"
    _lp_next=$(head -n 1 "$WORK/page.out")
    tail -n +2 "$WORK/page.out" > "$WORK/page.lines"
    "$_lp_callback" "$WORK/page.lines"
    if [ -n "$_lp_next" ] && [ "$_lp_next" = "$_lp_token" ]; then
      die "the API server returned the same continue token twice for $_lp_path; cannot list it whole"
    fi
    _lp_token=$_lp_next
    [ -n "$_lp_token" ] || break
  done
  rm -f "$WORK/page.out" "$WORK/page.lines"
}
