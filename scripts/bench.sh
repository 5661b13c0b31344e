#!/usr/bin/env bash
# Benchmark at scale, from a fresh machine: a private PostgreSQL, the
# database habilitations_bench, a deterministic dataset (generated once per
# set of parameters), the release server on a free port, then `server bench`
# over HTTP, which prints a Markdown table.
#
#   scripts/bench.sh [--users N] [--organisations N] [--grants N] [--events N]
#                    [--groups N] [--group-memberships N]
#                    [--big-org N] [--seed N] [--requests N] [--clients N]
#   scripts/bench.sh --sizes
#
# --sizes needs no dataset: it builds the site (release), starts it on a
# fresh database and prints what a browser downloads on a first visit of
# /connexion and of an administrator's first page (every file, raw and
# brotli), then the 20 biggest items of the WebAssembly (twiggy top).
#
# Defaults: 1 000 000 users, 100 000 organisations, 2 000 000 grants,
# 1 000 000 journal events, 200 000 user groups (nested 3 deep) with
# 3 000 000 dated memberships, one organisation of 60 000 agents, seed 42,
# 300 timed requests per measure, 8 concurrent clients.
# DATABASE_URL, if set, names the database to use instead of the private one.
source "$(dirname "$0")/lib.sh"

USERS=1000000 ORGS=100000 GRANTS=2000000 EVENTS=1000000 BIG=60000 SEED=42
USER_GROUPS=200000 GROUP_MEMBERSHIPS=3000000
REQUESTS=300 CLIENTS=8
if [ "${1:-}" = "--sizes" ]; then
    ensure_system_packages
    ensure_rust_tools
    ensure_npm
    ensure_e2e_npm
    if ! twiggy --version 2>/dev/null | grep -q "$TWIGGY_VERSION"; then
        say "Installation de twiggy $TWIGGY_VERSION (profileur de taille du WebAssembly)"
        cargo install --locked "twiggy@$TWIGGY_VERSION"
    fi
    start_private_pg test
    trap stop_private_pg EXIT
    build_release
    recreate_db hab_sizes
    PORT=$(free_port)
    export LEPTOS_SITE_ADDR="127.0.0.1:$PORT" HAB_PUBLIC_URL="http://127.0.0.1:$PORT"
    export HAB_OPERATOR_EMAIL=operateur@tailles.habilitations.test HAB_OPERATOR_PASSWORD="une phrase de passe solide"
    DATABASE_URL="${PG_ADMIN_URL%/*}/hab_sizes" RUST_LOG=warn target/release/server > .data/sizes-server.log 2>&1 &
    SERVER_PID=$!
    trap 'kill $SERVER_PID 2>/dev/null || true; stop_private_pg' EXIT
    wait_http "$HAB_PUBLIC_URL/connexion" 60 || { cat .data/sizes-server.log; exit 1; }
    say "Ce que le navigateur télécharge au premier chargement"
    (cd end2end && BASE_URL="$HAB_PUBLIC_URL" node sizes.mjs)
    # The main module that every page loads, as wasm-split left it (names
    # kept: before wasm-bindgen and wasm-opt); each screen's code is in its
    # own chunk (target/site/pkg/split_*.wasm and the shared chunk_*.wasm).
    say "Les 20 plus gros éléments du module WebAssembly principal (twiggy top, avant wasm-bindgen et wasm-opt)"
    twiggy top -n 40 target/front/wasm32-unknown-unknown/wasm-release/frontend_split.wasm |
        grep -v -e '"function names" subsection' -e "custom section" | head -23
    exit 0
fi
while [ $# -gt 0 ]; do
    case "$1" in
        --users) USERS=$2 ;;
        --organisations) ORGS=$2 ;;
        --grants) GRANTS=$2 ;;
        --events) EVENTS=$2 ;;
        --groups) USER_GROUPS=$2 ;;
        --group-memberships) GROUP_MEMBERSHIPS=$2 ;;
        --big-org) BIG=$2 ;;
        --seed) SEED=$2 ;;
        --requests) REQUESTS=$2 ;;
        --clients) CLIENTS=$2 ;;
        *) echo "option inconnue : $1" >&2; exit 2 ;;
    esac
    shift 2
done

ensure_system_packages
command -v cargo >/dev/null || { echo "Rust (rustup) est requis : https://rustup.rs" >&2; exit 1; }

SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    stop_private_pg
}
trap cleanup EXIT

DB=habilitations_bench
if [ -z "${DATABASE_URL:-}" ]; then
    # The test cluster: disposable data, fsync off.
    start_private_pg test
    # A dataset made with other parameters (or cut short) is replaced.
    want="users=$USERS organisations=$ORGS grants=$GRANTS events=$EVENTS big-org=$BIG seed=$SEED "
    have="$(pg_sql "select coalesce(shobj_description(oid, 'pg_database'), '') from pg_database where datname = '$DB'")"
    if [ -n "$have" ] && [[ "$have" != *"$want"* ]]; then
        say "La base $DB contient un autre jeu de données : elle est recréée"
        recreate_db "$DB"
    elif [ -z "$have" ]; then
        recreate_db "$DB"
    fi
    export DATABASE_URL="${PG_ADMIN_URL%/postgres}/$DB"
fi

# Only the server binary is needed (the benchmark calls /api/...): no
# WebAssembly. It is copied so that another build cannot swap it mid-run.
# (HAB_CARGO_LOCK: a lock file that serialises builds sharing a target dir.)
say "Compilation du serveur (release)"
mkdir -p .data/bench
build='cargo build --release -q -p server && cp "${CARGO_TARGET_DIR:-target}/release/server" .data/bench/server'
if [ -n "${HAB_CARGO_LOCK:-}" ]; then
    flock "$HAB_CARGO_LOCK" sh -c "$build"
else
    sh -c "$build"
fi
SERVER=.data/bench/server

say "Jeu de données ($USERS utilisateurs, $ORGS structures, $GRANTS habilitations, $EVENTS événements, $USER_GROUPS groupes, $GROUP_MEMBERSHIPS appartenances)"
GEN_LOG=.data/bench/generate.log
"$SERVER" generate --users "$USERS" --organisations "$ORGS" --grants "$GRANTS" \
    --events "$EVENTS" --groups "$USER_GROUPS" --group-memberships "$GROUP_MEMBERSHIPS" \
    --big-org "$BIG" --seed "$SEED" | tee "$GEN_LOG"

PORT=$(free_port)
export LEPTOS_SITE_ADDR="127.0.0.1:$PORT" HAB_PUBLIC_URL="http://127.0.0.1:$PORT"
RUST_LOG="${RUST_LOG:-warn}" "$SERVER" serve >.data/bench/server.log 2>&1 &
SERVER_PID=$!
say "Serveur (release) sur $HAB_PUBLIC_URL"
for _ in $(seq 1 60); do
    curl -fsS -o /dev/null -X POST "$HAB_PUBLIC_URL/api/me" 2>/dev/null && break
    sleep 1
done

"$SERVER" bench --url "$HAB_PUBLIC_URL" --requests "$REQUESTS" --clients "$CLIENTS"
echo
echo "Machine : $(nproc) cœurs, $(free -g | awk '/^Mem:/ {print $2}') Go de mémoire ; PostgreSQL $("$(pg_bin)/psql" -tAc 'show server_version' "$DATABASE_URL" 2>/dev/null || echo '?')"
echo "Base : $("$(pg_bin)/psql" -tAc 'select pg_size_pretty(pg_database_size(current_database()))' "$DATABASE_URL" 2>/dev/null || echo '?')"
