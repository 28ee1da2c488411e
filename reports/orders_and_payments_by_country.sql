-- name: orders_and_payments_by_country
-- description: Per customer country, the orders placed (orders cluster) and the payments received (payments cluster) in the window, with the customers behind them: one report across three clusters.
-- timeout: 60s
-- window: previous_day
-- params: window_start, window_end
--
-- The orders are read through the function's link (the orders cluster,
-- FDW_REPORT_SCHEMA), the payments through the link named payments in
-- FDW_REPORT_LINKS (the payments cluster). A deployment without that link leaves this report out of
-- "all" (docs/reports.md "Reports across more than one link"). Each window filter runs
-- on its own cluster (bound parameters are shipped) and only the window's rows
-- cross; the per-customer aggregates run here, as in revenue_by_country_segment
-- (a shipped GROUP BY is planned for a cursor's first rows on the remote side).
-- Each link holds one of its own report slots while the report runs.
WITH window_orders AS MATERIALIZED (
  SELECT o.user_id, o.total_cents
    FROM {{remote}}.orders o
   WHERE o.created_at >= $1 AND o.created_at < $2
), window_payments AS MATERIALIZED (
  SELECT p.user_id, p.amount_cents
    FROM {{remote:payments}}.payments p
   WHERE p.paid_at >= $1 AND p.paid_at < $2
), per_user AS (
  SELECT user_id, count(*) AS orders, sum(total_cents) AS order_cents, 0::bigint AS payments, 0::numeric AS paid_cents
    FROM window_orders
   GROUP BY user_id
  UNION ALL
  SELECT user_id, 0, 0, count(*), sum(amount_cents)
    FROM window_payments
   GROUP BY user_id
)
SELECT u.country,
       count(DISTINCT u.id)           AS customers,
       sum(p.orders)::bigint          AS orders,
       sum(p.order_cents)::bigint     AS order_cents,
       sum(p.payments)::bigint        AS payments,
       sum(p.paid_cents)::bigint      AS paid_cents
  FROM per_user p
  JOIN public.users u ON u.id = p.user_id
 GROUP BY u.country
 ORDER BY u.country
