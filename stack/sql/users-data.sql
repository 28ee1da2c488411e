-- public.users, deterministic. Used in A/users and A/colocated (the oracle).
-- Variables: users (row count). Run as the superuser; objects are owned by users_admin.
\set ON_ERROR_STOP on
\set QUIET on
SET log_statement = 'none';
SET client_min_messages = warning;
SET TIME ZONE 'UTC';
SET ROLE users_admin;
BEGIN;
DROP TABLE IF EXISTS public.users CASCADE;
CREATE TABLE public.users (
  id         bigint      NOT NULL,
  email      text        NOT NULL,
  name       text,
  country    text        NOT NULL,
  segment    text        NOT NULL,
  signup_at  timestamptz NOT NULL
);
INSERT INTO public.users (id, email, name, country, segment, signup_at)
SELECT g,
       'user' || g || '@example.com',
       CASE WHEN g % 50 = 0 THEN NULL ELSE 'User ' || g END,
       (ARRAY['US','DE','FR','GB','JP','BR','IN','CA','AU','NL'])[1 + ((g * 2654435761) % 10007) % 10],
       CASE WHEN g % 20 = 0 THEN 'enterprise'
            WHEN g % 5 = 0 THEN 'pro'
            WHEN g % 7 = 0 THEN 'trial'
            ELSE 'free' END,
       -- spread over 2025-01-01 .. 2026-12-31 (730 days)
       timestamptz '2025-01-01 00:00:00+00' + ((g * 2654435761) % 63072000) * interval '1 second'
FROM generate_series(1, :users::bigint) AS g;
ALTER TABLE public.users ADD PRIMARY KEY (id);
-- The report role reads local tables beside the foreign ones.
GRANT SELECT ON public.users TO report_reader;
COMMIT;
ANALYZE public.users;
