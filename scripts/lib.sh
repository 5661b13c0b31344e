# Shared set-up for scripts/run.sh and scripts/test.sh: installs what is
# missing and manages the project's private PostgreSQL cluster.
# shellcheck shell=bash
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"

CARGO_LEPTOS_VERSION=0.3.10
CARGO_AUDIT_VERSION=0.22.2
TWIGGY_VERSION=0.8.0
FONTTOOLS_VERSION=4.68.0
PY_BROTLI_VERSION=1.2.1
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

# The tools are built for this machine, not shipped: without their own
# release profile's LTO and single codegen unit (link-time work on one
# core), with no incremental cache. cargo-leptos still compiles ~560
# crates: 18 min on a fresh 2-core machine (2026-12-03).
tool_install() {
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
        CARGO_PROFILE_RELEASE_DEBUG=false CARGO_INCREMENTAL=0 cargo install "$@"
}

ensure_rust_tools() {
    rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
    # The browser's build recompiles the standard library for size
    # (-Zbuild-std, see build_release): it needs its sources.
    rustup component list --installed | grep -q '^rust-src' || rustup component add rust-src
    if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
        say "Installation de cargo-leptos $CARGO_LEPTOS_VERSION (quelques minutes la première fois)"
        tool_install --locked "cargo-leptos@$CARGO_LEPTOS_VERSION"
    fi
    # cargo-leptos would download wasm-bindgen: give it the exact version of Cargo.lock.
    local wb
    wb=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
    if ! wasm-bindgen --version 2>/dev/null | grep -q " $wb\$"; then
        say "Installation de wasm-bindgen-cli $wb"
        tool_install wasm-bindgen-cli --version "$wb"
    fi
    # Compile-checked queries: `cargo sqlx prepare --check` in the test
    # command compares the committed offline data (.sqlx/) with the
    # queries (query_data below); sqlx-cli is the version of Cargo.lock's
    # sqlx, PostgreSQL only.
    local sq
    sq=$(grep -A1 '^name = "sqlx"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
    if ! cargo sqlx --version 2>/dev/null | grep -q " $sq\$"; then
        say "Installation de sqlx-cli $sq (quelques minutes la première fois)"
        tool_install --locked sqlx-cli --version "$sq" --no-default-features --features postgres
    fi
    # Known vulnerabilities of the dependencies (scripts/test.sh). Built
    # under the build lock: it takes several minutes of both cores.
    if ! cargo audit --version 2>/dev/null | grep -q "$CARGO_AUDIT_VERSION"; then
        say "Installation de cargo-audit $CARGO_AUDIT_VERSION (quelques minutes la première fois)"
        tool_install --locked "cargo-audit@$CARGO_AUDIT_VERSION"
    fi
}

# The RustSec advisory database is provided beside the checkout (read-only:
# only the package registries are reachable), never fetched.
# HAB_ADVISORY_DB may name another copy.
ADVISORY_DB="${HAB_ADVISORY_DB:-$ROOT/../shared/advisory-db}"
[ -d "$ADVISORY_DB/crates" ] || [ ! -d /work/shared/advisory-db/crates ] || ADVISORY_DB=/work/shared/advisory-db
audit_dependencies() {
    if [ ! -d "$ADVISORY_DB/crates" ]; then
        echo "ÉCHEC : base des vulnérabilités RustSec introuvable dans $ADVISORY_DB (attendue à côté du dépôt, dans ../shared/advisory-db)" >&2
        return 1
    fi
    # Ignores, each with its reason: .cargo/audit.toml.
    cargo audit --db "$ADVISORY_DB" --no-fetch --deny warnings
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
    # fontTools (and brotli, for woff2) subset the Marianne fonts: into
    # .data/python, from PyPI, pinned.
    if ! PYTHONPATH="$ROOT/.data/python" python3 -c 'import fontTools, brotli' 2>/dev/null ||
        ! grep -qs "$FONTTOOLS_VERSION" "$ROOT/.data/python/.versions"; then
        say "Installation de fontTools $FONTTOOLS_VERSION et brotli $PY_BROTLI_VERSION (sous-ensembles de la police Marianne)"
        rm -rf "$ROOT/.data/python"
        PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
            --target "$ROOT/.data/python" "fonttools==$FONTTOOLS_VERSION" "brotli==$PY_BROTLI_VERSION"
        echo "$FONTTOOLS_VERSION $PY_BROTLI_VERSION" > "$ROOT/.data/python/.versions"
    fi
    # Only the styles, icons and characters the screens use (rewritten when
    # they change).
    PYTHONPATH="$ROOT/.data/python" python3 scripts/dsfr_subset.py node_modules/@gouvfr/dsfr/dist public/dsfr app/src
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
    # A server built since by plain cargo (scripts/bench.sh) lacks
    # cargo-leptos' settings (its pages name another WASM file): rebuilt.
    if [ -f "$stamp" ] && [ -x target/release/server ] && [ -f target/site/pkg/habilitations.wasm ] &&
        [ ! target/release/server -nt "$stamp" ] &&
        [ -z "$(find app frontend server style migrations public data Cargo.toml Cargo.lock .cargo -newer "$stamp" -type f -print -quit)" ]; then
        say "Compilation à jour (rien n'a changé depuis la dernière)"
        return 0
    fi
    say "Compilation (release)"
    # RUSTC_BOOTSTRAP=1: the WASM is built by this stable toolchain with
    # three unstable options (Cargo.toml's lib-cargo-args and
    # .cargo/config.toml's wasm32 rustflags): the standard library rebuilt
    # for size, panics that abort at once, no Debug formatting. The server's
    # build uses none of them. 279 → 248 KB brotli for /connexion.
    RUSTC_BOOTSTRAP=1 cargo leptos build --release --split || return 1
    retry_split_fetches
    touch "$stamp"
}

# The split loader (cargo-leptos' __wasm_split.js) fetches each screen's
# WebAssembly once: a failed fetch (a dropped connection, a server busy for
# an instant) leaves the page unhydrated for good. Each fetch is retried
# twice (after 0.25 s, then 0.5 s) before the screen gives up; the server
# logs every static file it could not serve.
retry_split_fetches() {
    local f
    for f in target/site/pkg/__wasm_split*.js; do
        [ -f "$f" ] || continue
        grep -q '__habFetch' "$f" && continue
        python3 - "$f" <<'PY'
import sys
path = sys.argv[1]
src = open(path, encoding="utf-8").read()
helper = """
async function __habFetch(url) {
    for (let attempt = 0; ; attempt++) {
        try {
            const response = await fetch(url);
            if (response.ok || attempt >= 2) return response;
        } catch (e) {
            if (attempt >= 2) throw e;
        }
        await new Promise((resolve) => setTimeout(resolve, 250 * (attempt + 1)));
    }
}
"""
first_line_end = src.index("\n") + 1
src = src[:first_line_end] + helper + src[first_line_end:].replace("fetch(new URL(", "__habFetch(new URL(")
open(path, "w", encoding="utf-8").write(src)
PY
    done
}

# ---- private PostgreSQL cluster -------------------------------------------
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

run_pg() { # runs a PostgreSQL tool as a non-root user when we are root
    if [ "$(id -u)" = 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups "$@"; else "$@"; fi
}

# Two clusters, side by side: `run` (scripts/run.sh: the structures' data)
# and `test` (scripts/test.sh and bench.sh: disposable databases).
pg_data_dir() { # run|test
    local name=pg
    [ "${1:-run}" = test ] && name=pg-test
    local dir="$ROOT/.data/$name"
    if [ "$(id -u)" = 0 ] && ! setpriv --reuid=postgres --regid=postgres --init-groups test -x "$ROOT"; then
        # The checkout is not reachable by the postgres user (a private
        # folder): keep the cluster in a state folder named after it.
        dir="/var/tmp/habilitations-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)/$name"
    fi
    printf '%s' "$dir"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# What a cluster made by this version of the scripts is (written beside
# PG_VERSION): password on TCP, French collation. A cluster without it was
# made by an earlier version (trust on TCP, C.UTF-8) and is migrated.
PG_LAYOUT="habilitations-2 scram-sha-256 icu fr-x-icu"

# Access: PostgreSQL listens on 127.0.0.1 with a password (scram-sha-256),
# drawn once and kept in a 0600 file beside the cluster: every client (the
# server, psql, Playwright's Node, the benchmark) keeps a plain TCP URL,
# whether the scripts run as root or as a user. The only password-less way
# in is the Unix socket, which lives inside the data folder (0700, owned by
# the cluster's user): other local accounts cannot reach it. (A socket-only
# cluster would need socket paths in every URL, and peer authentication
# cannot map root to `postgres`.)
pg_initdb() { # data dir, password file
    local tmp
    # initdb runs as the cluster's user: the password goes through a file
    # only it can read, removed at once.
    tmp="$(dirname "$1")/.initdb-pw"
    (umask 077; cat "$2" > "$tmp")
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$tmp"; fi
    # French collation through ICU: "Élodie" before "Zoé" (C.UTF-8 sorts
    # by code point). The default collation of every new database, so the
    # agents list's indexes follow it.
    run_pg "$PG_BIN/initdb" -D "$1" -U postgres -E UTF8 --locale=C.UTF-8 \
        --locale-provider=icu --icu-locale=fr-x-icu \
        --auth-host=scram-sha-256 --auth-local=trust --pwfile="$tmp" >/dev/null
    rm -f "$tmp"
    # Only 127.0.0.1 by TCP, only with the password; trust on the socket
    # inside the 0700 data folder.
    cat > "$1/pg_hba.conf.new" <<'HBA'
local   all  all                 trust
host    all  all  127.0.0.1/32   scram-sha-256
HBA
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$1/pg_hba.conf.new"; fi
    mv "$1/pg_hba.conf.new" "$1/pg_hba.conf"
    echo "$PG_LAYOUT" > "$1/habilitations-layout"
}

# psql through the cluster's own socket (no password), as its user.
pg_socket_sql() { # data dir, port, database, sql
    run_pg "$PG_BIN/psql" -q -v ON_ERROR_STOP=1 -h "$1" -p "$2" -U postgres -d "$3" -tAc "$4"
}

# An earlier version's cluster (trust on TCP, C.UTF-8 collation): its
# `habilitations` database is dumped, the cluster made anew and the dump
# restored (indexes rebuilt in French order). The old folder is kept aside
# until its owner deletes it; the test cluster's databases are disposable.
pg_migrate_old_cluster() { # data dir, password file, run|test
    local dir="$1" old port dump
    old="$dir.ancien-$(date +%Y%m%d-%H%M%S)"
    if [ "$3" = test ] || [ ! -f "$dir/PG_VERSION" ]; then
        say "Ancien cluster PostgreSQL de test dans $dir : il est recréé (mot de passe, collation française)"
        run_pg "$PG_BIN/pg_ctl" -D "$dir" -m fast stop >/dev/null 2>&1 || true
        rm -rf "$dir"
        return 0
    fi
    say "Le cluster PostgreSQL de $dir a été créé par une version précédente (accès sans mot de passe, tri non français)."
    say "Migration : sauvegarde de la base habilitations, nouveau cluster, restauration. L'ancien dossier est gardé dans $old."
    run_pg "$PG_BIN/pg_ctl" -D "$dir" -m fast stop >/dev/null 2>&1 || true
    port=$(free_port)
    dump="$(dirname "$dir")/habilitations-migration.dump"
    # Old cluster: socket only (no TCP), in its 0700 data folder.
    run_pg "$PG_BIN/pg_ctl" -D "$dir" -l "$(dirname "$dir")/postgresql.log" -w \
        -o "-p $port -c listen_addresses= -k $dir" start >/dev/null
    local has
    has=$(pg_socket_sql "$dir" "$port" postgres "select 1 from pg_database where datname = 'habilitations'")
    if [ "$has" = 1 ]; then
        (umask 077; run_pg "$PG_BIN/pg_dump" -h "$dir" -p "$port" -U postgres -Fc habilitations > "$dump")
    fi
    run_pg "$PG_BIN/pg_ctl" -D "$dir" -m fast stop >/dev/null
    mv "$dir" "$old"
    pg_initdb "$dir" "$2"
    if [ "$has" = 1 ]; then
        run_pg "$PG_BIN/pg_ctl" -D "$dir" -l "$(dirname "$dir")/postgresql.log" -w \
            -o "-p $port -c listen_addresses= -k $dir" start >/dev/null
        pg_socket_sql "$dir" "$port" postgres "create database habilitations"
        if [ "$(id -u)" = 0 ]; then chown postgres "$dump"; fi
        run_pg "$PG_BIN/pg_restore" -h "$dir" -p "$port" -U postgres -d habilitations --exit-on-error "$dump"
        run_pg "$PG_BIN/pg_ctl" -D "$dir" -m fast stop >/dev/null
        rm -f "$dump"
    fi
    say "Migration terminée. Une fois l'application vérifiée, l'ancien dossier peut être supprimé : rm -rf $old"
}

# Starts (creating on first use) the cluster and exports PG_ADMIN_URL.
# `run`: fsync on (the structures' data); `test`: fsync off (disposable
# databases, faster).
start_private_pg() { # run|test
    local kind="${1:-run}"
    PG_BIN="$(pg_bin)"
    PGDATA_DIR="$(pg_data_dir "$kind")"
    local parent; parent="$(dirname "$PGDATA_DIR")"
    mkdir -p "$parent"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$parent"; fi
    local pwfile="$PGDATA_DIR.password"
    if [ ! -s "$pwfile" ]; then
        (umask 077; python3 -c 'import secrets; print(secrets.token_hex(24))' > "$pwfile")
    fi
    chmod 600 "$pwfile"
    if [ -f "$PGDATA_DIR/PG_VERSION" ] && [ "$(cat "$PGDATA_DIR/habilitations-layout" 2>/dev/null)" != "$PG_LAYOUT" ]; then
        pg_migrate_old_cluster "$PGDATA_DIR" "$pwfile" "$kind"
    fi
    if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
        say "Création du cluster PostgreSQL privé dans $PGDATA_DIR"
        pg_initdb "$PGDATA_DIR" "$pwfile"
    fi
    local fsync=on
    [ "$kind" = test ] && fsync=off
    if run_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
        PG_PORT=$(sed -n 4p "$PGDATA_DIR/postmaster.pid")
    else
        PG_PORT=$(free_port)
        run_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$parent/postgresql-$kind.log" -w -o "-p $PG_PORT -h 127.0.0.1 -k $PGDATA_DIR -c fsync=$fsync -c max_connections=300" start >/dev/null
        PG_STARTED_HERE=1
    fi
    export PG_ADMIN_URL="postgres://postgres:$(cat "$pwfile")@127.0.0.1:$PG_PORT/postgres"
    say "PostgreSQL privé ($kind) sur 127.0.0.1:$PG_PORT (mot de passe dans $pwfile)"
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

# Compile-checked queries (sqlx's query! macros) are built from sqlx's
# offline data committed in .sqlx/ (SQLX_OFFLINE in .cargo/config.toml):
# no build needs a database. `query_data prepare` makes that data anew
# (after a query or a migration changed: scripts/prepare-queries.sh);
# `query_data check` fails when it is not that of today's queries and
# schema (scripts/test.sh). Both compile the queries against a schema-only
# database that sqlx-cli migrates (the server, whose build needs the data,
# is not needed for it). sqlx-cli touches the crates' root files to make
# cargo recompile them: their times are put back after, so the release and
# test builds do not start again.
query_data() { # prepare|check; PG_ADMIN_URL set
    local db=hab_sqlx_schema url stamps status=0
    url="${PG_ADMIN_URL%/*}/$db"
    recreate_db "$db"
    cargo sqlx migrate run --source migrations --database-url "$url" >/dev/null
    stamps=$(mktemp)
    find app server -name '*.rs' -printf '%T@ %p\n' > "$stamps"
    if [ "$1" = check ]; then
        cargo sqlx prepare --workspace --check --database-url "$url" -- -p server || status=$?
    else
        cargo sqlx prepare --workspace --database-url "$url" -- -p server || status=$?
    fi
    while read -r t f; do touch -d "@$t" "$f"; done < "$stamps"
    rm -f "$stamps"
    pg_sql "drop database if exists \"$db\" with (force)"
    if [ "$status" != 0 ] && [ "$1" = check ]; then
        echo "ÉCHEC : les données hors ligne des requêtes (.sqlx/) ne sont plus celles des requêtes et du schéma : lancez ./scripts/prepare-queries.sh et committez .sqlx/" >&2
    fi
    return "$status"
}
