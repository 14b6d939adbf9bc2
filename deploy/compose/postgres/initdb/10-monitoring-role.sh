#!/bin/sh
# Runs once, when the postgres image initialises an empty data directory (docker-entrypoint-initdb.d):
# creates the login postgres-exporter uses, with pg_monitor (read-only statistics) and nothing else.
# psql reads the password from the compose secret itself (\set with backquotes), so it appears
# neither in SQL text nor on a command line.
set -eu
if [ ! -s /run/secrets/postgres_exporter_password ]; then
  echo "10-monitoring-role.sh: /run/secrets/postgres_exporter_password is missing or empty; run deploy/compose/init-secrets.sh" >&2
  exit 1
fi
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
\set password `cat /run/secrets/postgres_exporter_password`
CREATE ROLE postgres_exporter LOGIN PASSWORD :'password' CONNECTION LIMIT 3;
GRANT pg_monitor TO postgres_exporter;
-- Explicit: 20-roles.sql revokes CONNECT from PUBLIC.
SELECT format('GRANT CONNECT ON DATABASE %I TO postgres_exporter', current_database()) \gexec
SQL
