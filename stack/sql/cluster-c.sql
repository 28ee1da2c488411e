-- Cluster C ("payments" side: the opt-in third cluster, stack.sh up --with-c). Run by the
-- stack as the superuser over the unix socket, connected to database "postgres".
-- Variables: payments_admin_password.
\set ON_ERROR_STOP on
\set QUIET on
SET log_statement = 'none';
SET client_min_messages = warning;

SELECT 'CREATE ROLE payments_admin' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'payments_admin') \gexec
-- payments_admin stands in for Aurora's master user (rds_superuser): NOT a superuser.
ALTER ROLE payments_admin LOGIN CREATEROLE NOSUPERUSER NOCREATEDB NOREPLICATION NOBYPASSRLS
  PASSWORD :'payments_admin_password';

SELECT 'CREATE DATABASE payments OWNER payments_admin' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'payments') \gexec
ALTER DATABASE payments OWNER TO payments_admin;

GRANT SET ON PARAMETER log_statement, log_min_duration_statement, log_min_error_statement TO payments_admin;
GRANT pg_read_all_stats TO payments_admin;
