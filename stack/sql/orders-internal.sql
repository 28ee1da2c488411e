-- B/orders only: a schema that must NOT be exposed through the FDW link.
\set ON_ERROR_STOP on
\set QUIET on
SET log_statement = 'none';
SET client_min_messages = warning;
SET ROLE orders_admin;
BEGIN;
DROP SCHEMA IF EXISTS internal CASCADE;
CREATE SCHEMA internal;
CREATE TABLE internal.payment_tokens (order_id bigint NOT NULL, token text NOT NULL);
INSERT INTO internal.payment_tokens (order_id, token)
SELECT id, 'tok_' || md5('pt' || id) FROM public.orders WHERE status <> 'pending';
COMMIT;
ANALYZE internal.payment_tokens;
