-- public.payments on C/payments, deterministic. Variables: users (user count), payments (row count).
\set ON_ERROR_STOP on
\set QUIET on
SET log_statement = 'none';
SET client_min_messages = warning;
SET TIME ZONE 'UTC';
SET ROLE payments_admin;
BEGIN;
DROP TABLE IF EXISTS public.payments CASCADE;
CREATE TABLE public.payments (
  id           bigint      NOT NULL,
  user_id      bigint      NOT NULL,
  method       text        NOT NULL,
  amount_cents bigint      NOT NULL,
  paid_at      timestamptz NOT NULL
);
INSERT INTO public.payments (id, user_id, method, amount_cents, paid_at)
SELECT g,
       (g * 37 % :users) + 1,
       (ARRAY['card', 'sepa', 'paypal', 'invoice'])[(g % 4) + 1],
       100 + (g * 7919 % 20000),
       timestamptz '2025-01-01' + ((g * 104729) % (670 * 86400)) * interval '1 second'
  FROM generate_series(1, :payments) AS g;
ALTER TABLE public.payments ADD PRIMARY KEY (id);
CREATE INDEX ON public.payments (user_id);
COMMIT;
ANALYZE public.payments;
