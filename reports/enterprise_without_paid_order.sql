-- name: enterprise_without_paid_order
-- description: Enterprise customers who signed up before the window and placed no paid order in it (anti-join across the clusters).
-- timeout: 60s
-- window: previous_week
-- params: window_start, window_end
--
-- The remote side returns only the distinct customers with a paid order in
-- the window; the anti-join against users runs locally.
SELECT u.id AS user_id, u.email, u.name, u.country, u.signup_at
  FROM public.users u
 WHERE u.segment = 'enterprise'
   AND u.signup_at < $1
   AND NOT EXISTS (
         SELECT 1
           FROM {{remote}}.orders o
          WHERE o.user_id = u.id
            AND o.status = 'paid'
            AND o.created_at >= $1 AND o.created_at < $2)
 ORDER BY u.id
