-- name: top_customers_by_spend
-- description: The 25 customers who spent most in the window (paid and shipped orders), with their profile.
-- timeout: 60s
-- window: previous_week
-- params: window_start, window_end
--
-- Spend per customer is summed on the orders cluster; the profile joins locally.
WITH spend AS (
  SELECT o.user_id, count(*) AS orders, sum(o.total_cents) AS spend_cents
    FROM {{remote}}.orders o
   WHERE o.status IN ('paid', 'shipped')
     AND o.created_at >= $1 AND o.created_at < $2
   GROUP BY o.user_id
)
SELECT u.id AS user_id, u.email, u.name, u.country, u.segment, u.signup_at,
       s.orders, s.spend_cents::bigint AS spend_cents
  FROM spend s
  JOIN public.users u ON u.id = s.user_id
 ORDER BY s.spend_cents DESC, u.id
 LIMIT 25
