# Shared set-up for scripts/run.sh and scripts/test.sh: installs what is
# missing and manages the project's private PostgreSQL cluster.
# shellcheck shell=bash
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"

CARGO_LEPTOS_VERSION=0.3.10
say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

ensure_system_packages() {
    local missing=()
    [ -n "$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | head -1)" ] || missing+=(postgresql)
    [ -d "$(ls -d /usr/share/postgresql/*/extension 2>/dev/null | head -1)" ] && \
        ls /usr/share/postgresql/*/extension/pg_trgm.control >/dev/null 2>&1 || missing+=(postgresql-contrib)
    command -v chromium >/dev/null || missing+=(chromium)
    command -v node >/dev/null || missing+=(nodejs npm)
    command -v pkg-config >/dev/null || missing+=(pkg-config)
    [ -f /usr/include/openssl/ssl.h ] || missing+=(libssl-dev)
    command -v brotli >/dev/null || missing+=(brotli)
    command -v setpriv >/dev/null || missing+=(util-linux)
    if [ ${#missing[@]} -gt 0 ]; then
        say "Installation des paquets Debian : ${missing[*]}"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

ensure_rust_tools() {
    rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
    if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
        say "Installation de cargo-leptos $CARGO_LEPTOS_VERSION (une dizaine de minutes la première fois)"
        cargo install --locked "cargo-leptos@$CARGO_LEPTOS_VERSION"
    fi
    # cargo-leptos would download wasm-bindgen: give it the exact version of Cargo.lock.
    local wb
    wb=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
    if ! wasm-bindgen --version 2>/dev/null | grep -q " $wb\$"; then
        say "Installation de wasm-bindgen-cli $wb"
        cargo install wasm-bindgen-cli --version "$wb"
    fi
}

ensure_npm() {
    if [ ! -d node_modules/@gouvfr/dsfr ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
        say "Installation des paquets npm (DSFR, binaryen)"
        npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
    fi
    # The DSFR's CSS, fonts and icons are copied into the site, never committed.
    if [ ! -f public/dsfr/dsfr.min.css ] || [ node_modules/@gouvfr/dsfr/package.json -nt public/dsfr/dsfr.min.css ]; then
        rm -rf public/dsfr && mkdir -p public/dsfr
        cp -r node_modules/@gouvfr/dsfr/dist/dsfr.min.css node_modules/@gouvfr/dsfr/dist/fonts \
              node_modules/@gouvfr/dsfr/dist/icons node_modules/@gouvfr/dsfr/dist/utility \
              node_modules/@gouvfr/dsfr/dist/favicon public/dsfr/
        touch public/dsfr/dsfr.min.css
    fi
}

ensure_e2e_npm() {
    if [ ! -d end2end/node_modules/@playwright/test ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
        say "Installation de Playwright et axe-core (sans téléchargement de navigateur)"
        (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
    fi
}

# cargo-leptos re-runs wasm-bindgen and wasm-opt (about a minute) even when
# nothing changed: build only when a source is newer than the last build.
build_release() {
    local stamp=target/.release-stamp
    if [ -f "$stamp" ] && [ -x target/release/server ] && [ -f target/site/pkg/habilitations.wasm ] &&
        [ -z "$(find app frontend server style migrations public data Cargo.toml Cargo.lock -newer "$stamp" -type f -print -quit)" ]; then
        say "Compilation à jour (rien n'a changé depuis la dernière)"
        return 0
    fi
    say "Compilation (release)"
    cargo leptos build --release
    touch "$stamp"
}

# ---- private PostgreSQL cluster -------------------------------------------
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

run_pg() { # runs a PostgreSQL tool as a non-root user when we are root
    if [ "$(id -u)" = 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups "$@"; else "$@"; fi
}

pg_data_dir() {
    local dir="$ROOT/.data/pg"
    if [ "$(id -u)" = 0 ] && ! setpriv --reuid=postgres --regid=postgres --init-groups test -x "$ROOT"; then
        # The checkout is not reachable by the postgres user (a private
        # folder): keep the cluster in a state folder named after it.
        dir="/var/tmp/habilitations-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)/pg"
    fi
    printf '%s' "$dir"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Starts (creating on first use) the cluster and exports PG_ADMIN_URL.
start_private_pg() {
    PG_BIN="$(pg_bin)"
    PGDATA_DIR="$(pg_data_dir)"
    local parent; parent="$(dirname "$PGDATA_DIR")"
    mkdir -p "$parent"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$parent"; fi
    if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
        say "Création du cluster PostgreSQL privé dans $PGDATA_DIR"
        run_pg "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if run_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
        PG_PORT=$(sed -n 4p "$PGDATA_DIR/postmaster.pid")
    else
        PG_PORT=$(free_port)
        run_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$parent/postgresql.log" -w -o "-p $PG_PORT -h 127.0.0.1 -k $PGDATA_DIR -c fsync=off -c max_connections=300" start >/dev/null
        PG_STARTED_HERE=1
    fi
    export PG_ADMIN_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
    say "PostgreSQL privé sur 127.0.0.1:$PG_PORT"
}

stop_private_pg() {
    PG_BIN="$(pg_bin)"
    if [ "${PG_STARTED_HERE:-0}" = 1 ]; then
        run_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast stop >/dev/null 2>&1 || true
    fi
}

# psql against the private cluster's admin database.
pg_sql() { "$(pg_bin)/psql" -q -v ON_ERROR_STOP=1 -d "$PG_ADMIN_URL" -tAc "$1"; }

recreate_db() {
    pg_sql "drop database if exists \"$1\" with (force)"
    pg_sql "create database \"$1\""
}

ensure_db() {
    [ "$(pg_sql "select 1 from pg_database where datname = '$1'")" = 1 ] || pg_sql "create database \"$1\""
}

wait_http() { # url, seconds
    local i
    for i in $(seq 1 "$2"); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        sleep 1
    done
    return 1
}
