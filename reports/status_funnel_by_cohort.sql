-- name: status_funnel_by_cohort
-- description: Orders placed in the window by status (pending, paid, shipped, refunded, cancelled) per customer signup-month cohort.
-- timeout: 60s
-- window: previous_week
-- params: window_start, window_end
--
-- Orders are counted per customer and status on the orders cluster; cohorts
-- (signup month, UTC) are formed locally.
WITH per_user AS (
  SELECT o.user_id, o.status, count(*) AS orders
    FROM {{remote}}.orders o
   WHERE o.created_at >= $1 AND o.created_at < $2
   GROUP BY o.user_id, o.status
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
