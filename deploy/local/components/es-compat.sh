# shellcheck shell=bash
# es-compat: an Elasticsearch of the other major (8 when the elasticsearch component runs 9, and the
# other way round) on $ES_COMPAT_PORT; exact version: SLUICE_STACK_ES_COMPAT_VERSION. stack.sh
# starts it only when named or with SLUICE_STACK_ES_COMPAT=1. One node, run by the es_node_*
# helpers of lib/elasticsearch.sh (which describes the distribution and how it runs).

# Major of es-compat: the other one, unless SLUICE_STACK_ES_COMPAT_VERSION pins something else.
es_compat_major() {
  local main
  if [ -n "${SLUICE_STACK_ES_COMPAT_VERSION:-}" ]; then
    es_check_major "${SLUICE_STACK_ES_COMPAT_VERSION%%.*}"
    return
  fi
  main=$(es_major) || return 1
  if [ "$main" = 9 ]; then printf '8'; else printf '9'; fi
}

# The release of es-compat.
es_version_compat() { es_pick_version es_compat_major "${SLUICE_STACK_ES_COMPAT_VERSION:-}"; }

es_compat_port() { printf '%s' "$ES_COMPAT_PORT"; }
es_compat_fetch() {
  local v
  v=$(es_version_compat) && es_node_fetch es-compat "$v"
}
es_compat_start() {
  local v
  v=$(es_version_compat) && es_node_start es-compat "$v" "$ES_COMPAT_PORT" "$ES_COMPAT_TRANSPORT_PORT"
}
es_compat_ready() { es_node_ready "$ES_COMPAT_PORT"; }
es_compat_version() { es_node_version "$ES_COMPAT_PORT"; }
es_compat_stop() { es_node_stop es-compat; }
