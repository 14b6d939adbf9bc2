-- Least-privilege roles of the link shortener, run by a superuser connected to the application
-- database. Idempotent: the postgres image runs it once at initialisation (docker-entrypoint-initdb.d),
-- `make run` (scripts/postgres.sh) on every start, and the tests on their own database.
--   shortener_owner  owns the schema and every table; the migrator logs in as it. NOSUPERUSER.
--   shortener_app    the API and the worker: DML on the owner's tables and sequences, nothing else
--                    (no DDL, no roles, no other schema or database).
-- Passwords are set separately (30-role-passwords.sh in compose; trust on loopback in `make run`).
DO $roles$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'shortener_owner') THEN
    CREATE ROLE shortener_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 5;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'shortener_app') THEN
    -- The connection limit is the hard cap behind the pool sizes (compose.yaml, x-postgres-app).
    CREATE ROLE shortener_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 150;
  END IF;
  EXECUTE format('ALTER DATABASE %I OWNER TO shortener_owner', current_database());
  EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO shortener_app', current_database());
END
$roles$;

ALTER SCHEMA public OWNER TO shortener_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO shortener_app;

-- A database migrated before these roles existed: hand its tables to the owner (identity
-- sequences follow their table).
DO $adopt$
DECLARE relation record;
BEGIN
  FOR relation IN
    SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm')
      AND pg_get_userbyid(c.relowner) <> 'shortener_owner'
  LOOP
    EXECUTE format('ALTER TABLE public.%I OWNER TO shortener_owner', relation.relname);
  END LOOP;
END
$adopt$;

-- Tables the migrator creates later, and those that exist now.
ALTER DEFAULT PRIVILEGES FOR ROLE shortener_owner IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO shortener_app;
ALTER DEFAULT PRIVILEGES FOR ROLE shortener_owner IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO shortener_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO shortener_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO shortener_app;
