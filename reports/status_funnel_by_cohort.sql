-- name: status_funnel_by_cohort
-- description: Orders placed in the window by status (pending, paid, shipped, refunded, cancelled) per customer signup-month cohort.
-- timeout: 60s
-- window: previous_week
-- params: window_start, window_end
--
-- The window filter runs on the orders cluster (bound parameters are shipped);
-- the per-customer aggregate runs here, over only the window's orders. A
-- MATERIALIZED CTE keeps postgres_fdw from shipping the GROUP BY: B runs
-- shipped queries through a cursor, planned for the first 10% of rows
-- (cursor_tuple_fraction), and picks a GroupAggregate over the user_id index,
-- which reads the whole table (measured 27x slower than co-located at 1M orders).
WITH window_orders AS MATERIALIZED (
  SELECT o.user_id, o.status
    FROM {{remote}}.orders o
   WHERE o.created_at >= $1 AND o.created_at < $2
), per_user AS (
  SELECT user_id, status, count(*) AS orders
    FROM window_orders
   GROUP BY user_id, status
)
SELECT to_char(date_trunc('month', u.signup_at AT TIME ZONE 'UTC'), 'YYYY-MM') AS cohort,
       count(DISTINCT u.id)                                            AS customers,
       coalesce(sum(p.orders) FILTER (WHERE p.status = 'pending'), 0)::bigint   AS pending,
       coalesce(sum(p.orders) FILTER (WHERE p.status = 'paid'), 0)::bigint      AS paid,
       coalesce(sum(p.orders) FILTER (WHERE p.status = 'shipped'), 0)::bigint   AS shipped,
       coalesce(sum(p.orders) FILTER (WHERE p.status = 'refunded'), 0)::bigint  AS refunded,
       coalesce(sum(p.orders) FILTER (WHERE p.status = 'cancelled'), 0)::bigint AS cancelled,
       sum(p.orders)::bigint                                           AS orders
  FROM per_user p
  JOIN public.users u ON u.id = p.user_id
 GROUP BY 1
 ORDER BY 1
