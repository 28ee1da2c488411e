-- Cluster A ("users" side). Run by the stack as the superuser over the unix socket,
-- connected to database "postgres".
-- Variables: users_admin_password, report_reader_password.
\set ON_ERROR_STOP on
\set QUIET on
-- Keep the stack's own passwords out of the server log (tests grep it).
SET log_statement = 'none';
SET client_min_messages = warning;

SELECT 'CREATE ROLE users_admin' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'users_admin') \gexec
SELECT 'CREATE ROLE report_reader' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'report_reader') \gexec
SELECT 'CREATE ROLE app_reader' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app_reader') \gexec

-- users_admin stands in for Aurora's master user (rds_superuser): NOT a superuser.
ALTER ROLE users_admin LOGIN CREATEROLE NOSUPERUSER NOCREATEDB NOREPLICATION NOBYPASSRLS
  PASSWORD :'users_admin_password';
ALTER ROLE report_reader LOGIN NOSUPERUSER PASSWORD :'report_reader_password';
ALTER ROLE app_reader NOLOGIN NOSUPERUSER;

SELECT 'CREATE DATABASE users OWNER users_admin' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'users') \gexec
SELECT 'CREATE DATABASE colocated OWNER users_admin' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'colocated') \gexec
ALTER DATABASE users OWNER TO users_admin;
ALTER DATABASE colocated OWNER TO users_admin;

-- What rds_superuser may do on Aurora PostgreSQL 15, granted explicitly here.
GRANT SET ON PARAMETER log_statement, log_min_duration_statement, log_min_error_statement TO users_admin;
GRANT pg_read_all_stats TO users_admin;

\c users
SET log_statement = 'none';
SET client_min_messages = warning;
-- On Aurora postgres_fdw is created by rds_superuser; here the real superuser does it.
CREATE EXTENSION IF NOT EXISTS postgres_fdw;
GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO users_admin WITH GRANT OPTION;
