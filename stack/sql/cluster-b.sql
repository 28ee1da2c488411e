-- Cluster B ("orders" side). Run by the stack as the superuser over the unix socket,
-- connected to database "postgres".
-- Variables: orders_admin_password.
\set ON_ERROR_STOP on
\set QUIET on
SET log_statement = 'none';
SET client_min_messages = warning;

SELECT 'CREATE ROLE orders_admin' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'orders_admin') \gexec
-- orders_admin stands in for Aurora's master user (rds_superuser): NOT a superuser.
ALTER ROLE orders_admin LOGIN CREATEROLE NOSUPERUSER NOCREATEDB NOREPLICATION NOBYPASSRLS
  PASSWORD :'orders_admin_password';

SELECT 'CREATE DATABASE orders OWNER orders_admin' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'orders') \gexec
ALTER DATABASE orders OWNER TO orders_admin;

GRANT SET ON PARAMETER log_statement, log_min_duration_statement, log_min_error_statement TO orders_admin;
GRANT pg_read_all_stats TO orders_admin;
