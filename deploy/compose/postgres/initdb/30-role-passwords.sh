#!/bin/sh
# Runs once, after 20-roles.sql, when the postgres image initialises an empty data directory: gives
# the migration owner and the application role the passwords of their compose secrets. psql reads
# each file itself (\set with backquotes), so no password appears in SQL text or on a command line.
set -eu
for file in postgres_owner_password postgres_app_password; do
  if [ ! -s "/run/secrets/$file" ]; then
    echo "30-role-passwords.sh: /run/secrets/$file is missing or empty; run deploy/compose/init-secrets.sh" >&2
    exit 1
  fi
done
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
\set owner_password `cat /run/secrets/postgres_owner_password`
\set app_password `cat /run/secrets/postgres_app_password`
ALTER ROLE shortener_owner PASSWORD :'owner_password';
ALTER ROLE shortener_app PASSWORD :'app_password';
SQL
