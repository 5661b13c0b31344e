#!/usr/bin/env bash
# Runs every test: unit and integration (real PostgreSQL, one database per
# test), then the Playwright suite in Debian's Chromium against the real
# release server. Fails if any test fails.
source "$(dirname "$0")/lib.sh"

ensure_system_packages
ensure_rust_tools
ensure_npm
ensure_e2e_npm

if [ -z "${DATABASE_URL:-}" ]; then
    start_private_pg test
    trap stop_private_pg EXIT
else
    # Test databases are created next to the given one.
    export PG_ADMIN_URL="$DATABASE_URL"
fi
BASE_URL_DB="${PG_ADMIN_URL%/*}"

say "Requêtes vérifiées à la compilation : données hors ligne à jour (cargo sqlx prepare --check)"
set +e
query_data check
queries_status=$?
set -e

say "Base modèle des tests d'intégration (migrations, catalogue, SIRENE)"
recreate_db hab_test_template
DATABASE_URL="$BASE_URL_DB/hab_test_template" cargo run -q -p server --bin server -- migrate

say "Vulnérabilités connues des dépendances (cargo audit)"
set +e
audit_dependencies
audit_status=$?

say "Lints (cargo clippy -D warnings)"
cargo clippy -q -p server -- -D warnings
clippy_status=$?

say "Tests unitaires et d'intégration"
# Not stopped by a failure (set -e, pipefail): the end-to-end suite and the
# summary run whatever happens here.
HAB_TEST_DATABASE_URL="$BASE_URL_DB/hab_test_template" cargo test --no-fail-fast -p app -p server 2>&1 | tee .data-test-cargo.log
rust_status=${PIPESTATUS[0]}
set -e

say "Compilation release et tests de bout en bout (Playwright, Chromium)"
build_release
recreate_db hab_e2e
E2E_PORT=$(free_port)
export LEPTOS_SITE_ADDR="127.0.0.1:$E2E_PORT"
export HAB_PUBLIC_URL="http://$LEPTOS_SITE_ADDR"
# The specs' operator, created by the server at first start (test data only).
export HAB_OPERATOR_EMAIL=operateur@e2e.habilitations.test HAB_OPERATOR_PASSWORD="une phrase de passe solide"
# The specs read links in the development mailbox as whoever they are
# signed in as: on this test server only, it is open to anyone.
DATABASE_URL="$BASE_URL_DB/hab_e2e" HAB_DEV_MAILBOX=public RUST_LOG=warn target/release/server > .data-e2e-server.log 2>&1 &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null || true; stop_private_pg' EXIT
if ! wait_http "$HAB_PUBLIC_URL/connexion" 60; then
    cat .data-e2e-server.log
    exit 1
fi
set +e
(cd end2end && BASE_URL="$HAB_PUBLIC_URL" DATABASE_URL="$BASE_URL_DB/hab_e2e" npx playwright test)
e2e_status=$?
if [ "$e2e_status" != 0 ]; then
    say "Avertissements et erreurs du serveur pendant les tests de bout en bout"
    grep -E 'WARN|ERROR' .data-e2e-server.log | tail -n 60
fi

say "Budgets du premier chargement (octets brotli)"
# What a browser downloads on a first visit, measured on the same server
# (end2end/sizes.mjs): the main WebAssembly module every page loads first
# (issue 9: at most 200 000 bytes brotli), all the WebAssembly of a first
# load of /connexion or of an administrator's first page (the main module
# and the screen's chunks), every file of a first load of /connexion (at
# most 350 000). Budgets only go down, except when screens are added: the
# split moves code into each screen's chunk, not data, so every screen's
# text (and the field names of what its server functions answer) stays in
# the main module's data section. The screens of issue 10 added 6.6 KB
# (conventions, groups: page budget 222 000 → 229 000), then 1.5 KB
# (« Demandes d'accès à traiter », « Agents de l'opérateur », the Rôles
# tab's dates: 200 000 → 201 000 and 229 000 → 230 000), then about 230
# bytes (issue 17: what a closing date means, on four forms and the card:
# 201 000 → 201 300 and 230 000 → 230 300).
WASM_BUDGET=${HAB_WASM_BUDGET:-201300}
PAGE_WASM_BUDGET=${HAB_PAGE_WASM_BUDGET:-230300}
FIRST_LOAD_BUDGET=${HAB_FIRST_LOAD_BUDGET:-350000}
(cd end2end && BASE_URL="$HAB_PUBLIC_URL" node sizes.mjs --budget-wasm "$WASM_BUDGET" \
    --budget-page-wasm "$PAGE_WASM_BUDGET" --budget-first-load "$FIRST_LOAD_BUDGET")
size_status=$?
set -e

say "Résumé"
grep -E '^test result:' .data-test-cargo.log | awk '{p+=$4; f+=$6} END {printf "rust: %d passed, %d failed\n", p, f}'
echo "cargo audit: $([ "$audit_status" = 0 ] && echo ok || echo ÉCHEC)"
echo "budgets: $([ "$size_status" = 0 ] && echo ok || echo DÉPASSÉS)"
echo "clippy: $([ "$clippy_status" = 0 ] && echo ok || echo ÉCHEC)"
echo "données hors ligne des requêtes (.sqlx/): $([ "$queries_status" = 0 ] && echo ok || echo PÉRIMÉES)"
if [ "$rust_status" != 0 ] || [ "$e2e_status" != 0 ] || [ "$audit_status" != 0 ] || [ "$size_status" != 0 ] || [ "$clippy_status" != 0 ] || [ "$queries_status" != 0 ]; then
    echo "ÉCHEC : tests Rust=$rust_status, Playwright=$e2e_status, cargo audit=$audit_status, budgets=$size_status, clippy=$clippy_status, .sqlx=$queries_status" >&2
    exit 1
fi
