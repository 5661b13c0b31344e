#!/usr/bin/env bash
# Runs Habilitations: installs what is missing, starts a private PostgreSQL
# (unless DATABASE_URL is set), loads demo data once, serves the app.
source "$(dirname "$0")/lib.sh"

ensure_system_packages
ensure_rust_tools
ensure_npm

if [ -z "${DATABASE_URL:-}" ]; then
    start_private_pg run
    trap stop_private_pg EXIT
    ensure_db habilitations
    export DATABASE_URL="${PG_ADMIN_URL%/postgres}/habilitations"
    export HAB_DEMO="${HAB_DEMO:-1}"
    # The development mailbox, for the operator only (signed in).
    export HAB_DEV_MAILBOX="${HAB_DEV_MAILBOX:-1}"
fi
export LEPTOS_SITE_ADDR="${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
export HAB_PUBLIC_URL="${HAB_PUBLIC_URL:-http://$LEPTOS_SITE_ADDR}"

build_release

if [ "${HAB_DEMO:-0}" = 1 ]; then
    target/release/server seed-demo
    # The demo operator's password is drawn once and kept beside the data.
    if [ -z "${HAB_OPERATOR_EMAIL:-}" ]; then
        mkdir -p .data
        [ -s .data/operator-password ] || python3 -c 'import secrets; print(secrets.token_urlsafe(18))' > .data/operator-password
        export HAB_OPERATOR_EMAIL=operateur@demo.habilitations.fr
        HAB_OPERATOR_PASSWORD="$(cat .data/operator-password)"
        export HAB_OPERATOR_PASSWORD
        target/release/server create-operator "$HAB_OPERATOR_EMAIL" >/dev/null
    fi
fi

cat <<MSG

  Habilitations : $HAB_PUBLIC_URL
MSG
if [ "${HAB_DEMO:-0}" = 1 ]; then
cat <<MSG
  Comptes de démonstration (mot de passe : demonstration-habilitations)
    gestionnaire de l'AFDAS : marie.gestionnaire@demo.habilitations.fr
    agent (une demande en attente) : paul.agent@demo.habilitations.fr
  Opérateur : $HAB_OPERATOR_EMAIL / $HAB_OPERATOR_PASSWORD
  Courriels envoyés (opérateur connecté) : $HAB_PUBLIC_URL/dev/mailbox

MSG
fi
target/release/server
