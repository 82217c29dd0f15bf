# shellcheck shell=bash
# Elasticsearch of the major Sluice targets, on $ES_PORT: SLUICE_STACK_ES_MAJOR (8 or 9; default 9
# when a JDK >= 21 exists, else 8), or an exact SLUICE_STACK_ES_VERSION. One node, run by the
# es_node_* helpers of lib/elasticsearch.sh (which describes the distribution and how it runs).

# The release of the main node.
es_version_main() { es_pick_version es_major "${SLUICE_STACK_ES_VERSION:-}"; }

elasticsearch_port() { printf '%s' "$ES_PORT"; }
elasticsearch_fetch() {
  local v
  v=$(es_version_main) && es_node_fetch elasticsearch "$v"
}
elasticsearch_start() {
  local v
  v=$(es_version_main) && es_node_start elasticsearch "$v" "$ES_PORT" "$ES_TRANSPORT_PORT"
}
elasticsearch_ready() { es_node_ready "$ES_PORT"; }
elasticsearch_version() { es_node_version "$ES_PORT"; }
elasticsearch_stop() { es_node_stop elasticsearch; }
