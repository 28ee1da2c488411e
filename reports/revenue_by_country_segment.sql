-- name: revenue_by_country_segment
-- description: Paid and shipped orders and their revenue in the window, per customer country and segment.
-- timeout: 60s
-- window: previous_day
-- params: window_start, window_end
--
-- The per-customer aggregate runs on the orders cluster (one row per customer
-- crosses the link, not one per order); country and segment come from users.
WITH per_user AS (
  SELECT o.user_id, count(*) AS orders, sum(o.total_cents) AS revenue_cents
    FROM {{remote}}.orders o
   WHERE o.status IN ('paid', 'shipped')
     AND o.created_at >= $1 AND o.created_at < $2
   GROUP BY o.user_id
)
SELECT u.country,
       u.segment,
       sum(p.orders)::bigint        AS orders,
       count(*)                     AS customers,
       sum(p.revenue_cents)::bigint AS revenue_cents
  FROM per_user p
  JOIN public.users u ON u.id = p.user_id
 GROUP BY u.country, u.segment
 ORDER BY u.country, u.segment
