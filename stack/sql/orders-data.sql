-- public.orders and public.order_items, deterministic. Used in B/orders and A/colocated.
-- Variables: users (user count), orders (order count), owner (role owning the tables).
\set ON_ERROR_STOP on
\set QUIET on
SET log_statement = 'none';
SET client_min_messages = warning;
SET TIME ZONE 'UTC';
SET ROLE :"owner";
BEGIN;
DROP TABLE IF EXISTS public.order_items CASCADE;
DROP TABLE IF EXISTS public.orders CASCADE;
CREATE TABLE public.orders (
  id          bigint      NOT NULL,
  user_id     bigint      NOT NULL,
  status      text        NOT NULL,
  total_cents bigint      NOT NULL,
  currency    text        NOT NULL,
  created_at  timestamptz NOT NULL
);
CREATE TABLE public.order_items (
  order_id    bigint NOT NULL,
  line_no     int    NOT NULL,
  sku         text   NOT NULL,
  quantity    int    NOT NULL,
  price_cents bigint NOT NULL
);
-- 1..4 lines per order (avg 2.5)
INSERT INTO public.order_items (order_id, line_no, sku, quantity, price_cents)
SELECT g, l,
       'SKU-' || lpad(((g * 7 + l * 131) % 500)::text, 4, '0'),
       1 + ((g + l) % 3),
       199 + ((g * 97 + l * 7919) % 19800)
FROM generate_series(1, :orders::bigint) AS g,
     generate_series(1, (1 + (g * 13) % 4)::int) AS l;

INSERT INTO public.orders (id, user_id, status, total_cents, currency, created_at)
SELECT g,
       -- skewed towards low user ids (density ~ 1/sqrt(id)); always in 1..users
       1 + (((g * 2246822519) % 1000003) * ((g * 2246822519) % 1000003) / 1000003) * :users::bigint / 1000003,
       (ARRAY['paid','paid','shipped','shipped','shipped','pending','refunded','cancelled'])[1 + ((g * 31 + g / 3) % 8)],
       (SELECT sum((1 + ((g + l) % 3)) * (199 + ((g * 97 + l * 7919) % 19800)))
          FROM generate_series(1, (1 + (g * 13) % 4)::int) AS l),
       (ARRAY['USD','USD','USD','EUR','EUR','GBP'])[1 + ((g * 17) % 6)],
       -- spread over 2025-01-01 .. 2026-11-01 (669 days)
       timestamptz '2025-01-01 00:00:00+00' + ((g * 2654435761) % 57801600) * interval '1 second'
FROM generate_series(1, :orders::bigint) AS g;

ALTER TABLE public.orders ADD PRIMARY KEY (id);
ALTER TABLE public.order_items ADD PRIMARY KEY (order_id, line_no);
CREATE INDEX orders_user_id_idx ON public.orders (user_id);
CREATE INDEX orders_created_at_idx ON public.orders (created_at);
COMMIT;
ANALYZE public.orders;
ANALYZE public.order_items;
