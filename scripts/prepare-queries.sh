#!/usr/bin/env bash
# Makes sqlx's offline data (.sqlx/) anew, after a compile-checked query
# (query!, query_as!, query_scalar!) or a migration changed: commit it with
# the change. `./scripts/test.sh` fails while it is stale. Uses the test
# cluster (or the server of DATABASE_URL, where it creates a database).
source "$(dirname "$0")/lib.sh"
ensure_system_packages
ensure_rust_tools
if [ -z "${DATABASE_URL:-}" ]; then
    start_private_pg test
    trap stop_private_pg EXIT
else
    export PG_ADMIN_URL="$DATABASE_URL"
fi
query_data prepare
say "Données hors ligne écrites dans .sqlx/ ($(ls .sqlx | wc -l) requêtes)"
