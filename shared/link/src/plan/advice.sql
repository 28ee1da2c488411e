-- fdw_bridge.advise: why a cross-database query is slow and what to write
-- instead, from its plan, on cluster A. Installed by each link's Create and
-- Update (link/plan/advice.rs), removed with the last link. These rules are
-- fdw-bridge's one source of advice: psql calls advise(), fdw-report and the
-- command line hand their EXPLAIN to advise_plan(). SECURITY INVOKER
-- throughout: the plan is the caller's own, read with the caller's privileges.
-- Statements are separated by lines that hold only `-- statement`.

-- The position just after the parenthesis that closes the one opened at `open`
-- (quotes skipped), or 0 when it never closes.
CREATE FUNCTION fdw_bridge.advise_close(q text, open integer)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE STRICT SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  depth integer := 0;
  quoted boolean := false;
  c text;
BEGIN
  FOR i IN open .. length(q) LOOP
    c := substr(q, i, 1);
    IF c = '''' THEN
      quoted := NOT quoted;
    ELSIF NOT quoted AND c = '(' THEN
      depth := depth + 1;
    ELSIF NOT quoted AND c = ')' THEN
      depth := depth - 1;
      IF depth = 0 THEN
        RETURN i + 1;
      END IF;
    END IF;
  END LOOP;
  RETURN 0;
END
$fn$;
-- statement
-- The query with each comparison whose right side calls now() (or another
-- STABLE clock) rewritten as `col op (SELECT expr)`: an InitPlan, which
-- postgres_fdw ships as a parameter. NULL when a call sits elsewhere (a left
-- side, a BETWEEN, an argument): then only the pattern is given.
CREATE FUNCTION fdw_bridge.advise_wrap_clock(q text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  clock constant text := '\m(now\s*\(\s*\)|current_timestamp|current_date|localtimestamp|statement_timestamp\s*\(\s*\)|transaction_timestamp\s*\(\s*\)|clock_timestamp\s*\(\s*\))';
  stop constant text := '^\s*(\mand\M|\mor\M|\mgroup\M|\morder\M|\mlimit\M|\mhaving\M|\mwindow\M|\munion\M|\mexcept\M|\mintersect\M|\)|;|$)';
  out text := '';
  rest text := q;
  at integer;
  op integer;
  depth integer;
  stop_at integer;
  i integer;
  c text;
BEGIN
  LOOP
    at := regexp_instr(rest, clock, 1, 1, 0, 'i');
    EXIT WHEN at = 0;
    -- Back to the comparison operator at the same depth.
    op := 0;
    depth := 0;
    FOR i IN REVERSE at - 1 .. 1 LOOP
      c := substr(rest, i, 1);
      -- A '(' with nothing open to its right is a call's (or a group's) own: the scan goes on outside it.
      IF c = ')' THEN depth := depth + 1;
      ELSIF c = '(' THEN depth := greatest(depth - 1, 0);
      ELSIF depth = 0 AND c IN ('=', '<', '>') THEN
        op := i;
        EXIT;
      ELSIF depth = 0 AND substr(rest, i) ~* '^(and|or|where|between|select|on|when|then|else|having)\M'
            AND (i = 1 OR substr(rest, i - 1, 1) !~ '\w') THEN
        EXIT;
      END IF;
    END LOOP;
    IF op = 0 OR substr(rest, op + 1) ~* '^\s*\(\s*select\M' THEN
      RETURN NULL;
    END IF;
    -- Forward to the end of the expression: a top-level AND/OR/clause, or a closing parenthesis.
    stop_at := length(rest) + 1;
    depth := 0;
    i := op + 1;
    WHILE i <= length(rest) LOOP
      c := substr(rest, i, 1);
      IF c = '''' THEN
        -- Past a quoted literal.
        i := i + strpos(substr(rest, i + 1), '''');
      ELSIF c = '(' THEN depth := depth + 1;
      ELSIF c = ')' AND depth > 0 THEN depth := depth - 1;
      ELSIF depth = 0 AND i > at AND substr(rest, i) ~* stop THEN
        stop_at := i;
        EXIT;
      END IF;
      i := i + 1;
    END LOOP;
    out := out || substr(rest, 1, op) || ' (SELECT ' || btrim(substr(rest, op + 1, stop_at - op - 1)) || ')'
               || CASE WHEN substr(rest, stop_at, 1) ~ '\s' OR stop_at > length(rest) THEN '' ELSE ' ' END;
    rest := substr(rest, stop_at);
  END LOOP;
  RETURN out || rest;
END
$fn$;
-- statement
-- One row per cause found in a plan (`plan`: EXPLAIN (VERBOSE, FORMAT JSON)'s
-- document, ANALYZE'd when `measured`), or one "nothing to change" row per
-- foreign scan that has none. `query`, when given, is the text the plan came
-- from: the rewrite is then the whole query where the pattern can be applied
-- to its text, else the fragment to write. Scans that bring at most
-- `min_rows` rows across are not worth a rewrite (a missing statistic is
-- named whatever the size).
CREATE FUNCTION fdw_bridge.advise_plan(plan jsonb, query text DEFAULT NULL, measured boolean DEFAULT false, min_rows bigint DEFAULT 1000)
RETURNS TABLE (scan text, crosses text, pattern text, cause text, rewrite text)
LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  clock constant text := '\m(now\(\)|current_timestamp|current_date|localtimestamp|statement_timestamp\(\)|transaction_timestamp\(\)|clock_timestamp\(\))';
  aggregates constant text := '\m(count|sum|avg|min|max|bool_and|bool_or|every|array_agg|string_agg)\(';
  eq constant text := '"?(\w+)"?\.(\w+)\s*=\s*"?(\w+)"?\.(\w+)';
  pg17 constant boolean := current_setting('server_version_num')::integer >= 170000;
  s record;
  n_scans integer := 0;
  a text;            -- the foreign scan's alias
  tab regclass;      -- the foreign table, for a scan of one table
  table_rows double precision;
  remote_sql text;
  remote_cols text;
  remote_from text;
  whole boolean;
  n double precision;
  basis text;
  found_here boolean;
  k text[];
  rkey text;         -- the foreign scan's join column
  other_alias text;
  other_key text;
  local_node jsonb;
  other_foreign jsonb;
  local_filter text;
  key_type text;
  fragment text;
  full_query text;
  sub_at integer;
  sub_end integer;
  sub text;
  conds text[];
  kept text[];
  agg_cols text;
  not_null boolean;
  collated boolean;
  table_ref text;
  chain text;
  conds_text text;
  reported text[] := '{}';
BEGIN
  FOR s IN
    WITH RECURSIVE walk(node, above, join_type, other, cond) AS (
      SELECT (CASE WHEN jsonb_typeof(plan) = 'array' THEN plan -> 0 ELSE plan END) -> 'Plan',
             ''::text, NULL::text, NULL::jsonb, NULL::text
      UNION ALL
      SELECT c.child,
             w.above || ' ' || coalesce(w.node ->> 'Node Type', ''),
             CASE WHEN c.child ->> 'Parent Relationship' = 'SubPlan' THEN 'SubPlan'
                  WHEN w.node ? 'Join Type' AND c.child ->> 'Parent Relationship' IN ('Outer', 'Inner') THEN w.node ->> 'Join Type'
                  ELSE w.join_type END,
             -- The other side of the nearest join (or the node a SubPlan tests).
             CASE WHEN c.child ->> 'Parent Relationship' = 'SubPlan' THEN w.node - 'Plans'
                  WHEN w.node ? 'Join Type' AND c.child ->> 'Parent Relationship' IN ('Outer', 'Inner') THEN
                    (SELECT jsonb_agg(o.sibling) FROM jsonb_array_elements(w.node -> 'Plans') WITH ORDINALITY o(sibling, i)
                      WHERE o.i <> c.i AND o.sibling ->> 'Parent Relationship' IN ('Outer', 'Inner'))
                  ELSE w.other END,
             CASE WHEN c.child ->> 'Parent Relationship' = 'SubPlan' THEN w.node ->> 'Filter'
                  WHEN w.node ? 'Join Type' AND c.child ->> 'Parent Relationship' IN ('Outer', 'Inner') THEN
                    coalesce(w.node ->> 'Hash Cond', w.node ->> 'Merge Cond', w.node ->> 'Join Filter')
                  ELSE w.cond END
        FROM walk w, jsonb_array_elements(w.node -> 'Plans') WITH ORDINALITY c(child, i)
    )
    SELECT * FROM walk WHERE node ->> 'Node Type' = 'Foreign Scan'
  LOOP
    n_scans := n_scans + 1;
    found_here := false;
    a := s.node ->> 'Alias';
    remote_sql := s.node ->> 'Remote SQL';
    tab := CASE WHEN s.node ? 'Schema' THEN to_regclass(format('%I.%I', s.node ->> 'Schema', s.node ->> 'Relation Name')) END;
    scan := coalesce(tab::text || coalesce(' ' || quote_ident(a), ''), s.node ->> 'Relations', 'a foreign scan');
    SELECT c.reltuples INTO table_rows FROM pg_class c WHERE c.oid = tab;
    whole := remote_sql !~* '\m(where|group by|limit)\M' AND remote_sql !~* aggregates;
    IF measured THEN
      n := ((s.node ->> 'Actual Rows')::float8 + coalesce((s.node ->> 'Rows Removed by Filter')::float8, 0))
           * coalesce((s.node ->> 'Actual Loops')::float8, 1);
      basis := 'measured';
    ELSIF whole AND table_rows >= 0 THEN
      n := greatest(table_rows, (s.node ->> 'Plan Rows')::float8);
      basis := 'estimated: the whole table, as ANALYZE counted it';
    ELSE
      n := (s.node ->> 'Plan Rows')::float8;
      basis := 'estimated';
    END IF;
    crosses := format('%s rows (%s); Remote SQL: %s', round(n)::bigint, basis, remote_sql);
    remote_cols := substring(remote_sql from '^SELECT\s+(.*?)\s+FROM\s');
    remote_from := substring(remote_sql from '\sFROM\s+(\S+)');

    IF tab IS NOT NULL AND table_rows < 0 THEN
      pattern := 'analyze';
      cause := format('%s was never ANALYZEd: the planner guesses its size and picks joins and what to ship from that guess', tab);
      rewrite := format('ANALYZE %s;  -- as the table''s owner (fdw-bridge''s refresh keeps the link''s own foreign tables analyzed)', tab);
      found_here := true;
      RETURN NEXT;
    END IF;

    -- The join condition's two sides: which column is this scan's, and the other alias.
    rkey := NULL; other_alias := NULL; other_key := NULL;
    FOR k IN SELECT regexp_matches(coalesce(s.cond, ''), eq, 'g') LOOP
      IF k[1] = a THEN rkey := k[2]; other_alias := k[3]; other_key := k[4]; EXIT;
      ELSIF k[3] = a THEN rkey := k[4]; other_alias := k[1]; other_key := k[2]; EXIT;
      END IF;
    END LOOP;
    -- PostgreSQL 17 prints a hashed NOT IN as `ANY (u.id = (hashed SubPlan 1).col1)`; 15/16 name no key.
    IF s.join_type = 'SubPlan' THEN
      k := regexp_match(coalesce(s.cond, ''), '"?(\w+)"?\.(\w+)\s*=\s*\(hashed SubPlan');
      other_alias := k[1]; other_key := k[2];
      rkey := substring(remote_cols from '^"?(\w+)"?$');
    END IF;
    local_node := NULL; other_foreign := NULL;
    IF s.other IS NOT NULL THEN
      SELECT x INTO local_node FROM jsonb_path_query(s.other, 'lax $.** ? (exists (@."Relation Name") && @."Node Type" != "Foreign Scan")') x
       ORDER BY (x ->> 'Alias') IS NOT DISTINCT FROM other_alias DESC LIMIT 1;
      SELECT x INTO other_foreign FROM jsonb_path_query(s.other, 'lax $.** ? (@."Node Type" == "Foreign Scan")') x
       ORDER BY (x ->> 'Alias') IS NOT DISTINCT FROM other_alias DESC LIMIT 1;
    END IF;
    IF other_alias IS NOT NULL AND other_foreign ->> 'Alias' = other_alias THEN
      local_node := NULL;   -- joined to another remote table: that is the cause below
    END IF;

    IF n <= min_rows THEN
      NULL;
    ELSIF s.node ->> 'Filter' ~* clock THEN
      pattern := 'initplan';
      cause := format('%s stays on this cluster: now() and the other clocks are STABLE, and postgres_fdw ships only IMMUTABLE expressions, so the rows cross to be filtered here',
                      s.node ->> 'Filter');
      full_query := fdw_bridge.advise_wrap_clock(query);
      rewrite := coalesce(full_query,
        'write the bound as a scalar subquery, computed once and shipped as $1: `created_at >= (SELECT now() - interval ''30 days'')`');
      found_here := true;
      RETURN NEXT;
    ELSIF s.node ? 'Filter' THEN
      pattern := 'shippable_expression';
      -- EXPLAIN prints no COLLATE clause: the query's text tells.
      collated := s.node ->> 'Filter' ~* '\mCOLLATE\M' OR coalesce(query ~* '\mCOLLATE\M', false);
      cause := format('%s stays on this cluster: %s', s.node ->> 'Filter',
        CASE WHEN collated
             THEN 'postgres_fdw ships a comparison only in the column''s own collation (an explicit COLLATE is not)'
             ELSE 'it uses an operator or function postgres_fdw does not ship (not built in or not IMMUTABLE, or from an extension the link''s Extensions option does not list)' END);
      rewrite := CASE WHEN collated
                      THEN 'compare in the column''s own collation (drop the COLLATE clause), then sort or compare in another collation above, on the rows that crossed'
                      ELSE 'write the condition with built-in IMMUTABLE operators and functions on the remote columns, or add the function''s extension to the link''s Extensions (installed on both clusters)' END;
      found_here := true;
      RETURN NEXT;
    -- Only a whole-table fetch: when the scan's filter already ships, its GROUP BY saves little and
    -- a NOT IN over it may become an unhashed SubPlan (measured: 4.9x slower at 100k x 1M).
    ELSIF (s.join_type = 'SubPlan' OR s.join_type ~ '(Anti|Semi)$') AND local_node IS NOT NULL AND rkey IS NOT NULL AND whole THEN
      pattern := 'remote_keys';
      cause := format('the %s of %s against %s runs on this cluster: every row of %s crosses, though only its distinct keys are needed',
                      CASE WHEN s.join_type ~ 'Semi$' THEN 'semi-join (EXISTS / IN)' ELSE 'anti-join (NOT EXISTS / NOT IN)' END,
                      coalesce((local_node ->> 'Schema') || '.' || (local_node ->> 'Relation Name'), 'a local table'), scan, scan);
      SELECT a2.attnotnull INTO not_null FROM pg_attribute a2 WHERE a2.attrelid = tab AND a2.attname = rkey;
      -- An anti-join stays a NOT EXISTS over the grouped keys, never a NOT IN: a NOT IN whose keys
      -- outgrow work_mem is an unhashed SubPlan, one pass over the keys per local row (measured: at
      -- 1M users x 10M orders it had not finished after 3 minutes; the NOT EXISTS is a hash anti-join).
      fragment := CASE WHEN s.join_type ~ 'Semi$'
                  THEN format('%s IN (SELECT %s.%s FROM %s %s%s GROUP BY %s.%s)',
                         -- PostgreSQL 15/16 print a hashed NOT IN without its local key.
                         coalesce(quote_ident(other_alias) || '.' || quote_ident(other_key), 'the local key'),
                         quote_ident(a), quote_ident(rkey), tab, quote_ident(a),
                         CASE WHEN coalesce(not_null, false) THEN '' ELSE format(' WHERE %s.%s IS NOT NULL', quote_ident(a), quote_ident(rkey)) END,
                         quote_ident(a), quote_ident(rkey))
                  ELSE format('NOT EXISTS (SELECT 1 FROM (SELECT %s.%s FROM %s %s GROUP BY %s.%s) %s WHERE %s.%s = %s)',
                         quote_ident(a), quote_ident(rkey), tab, quote_ident(a), quote_ident(a), quote_ident(rkey),
                         quote_ident(a), quote_ident(a), quote_ident(rkey),
                         coalesce(quote_ident(other_alias) || '.' || quote_ident(other_key), 'the local key')) END;
      full_query := NULL;
      IF s.join_type = 'SubPlan' AND query ~* '\mIN\s*\(\s*SELECT\M' AND query !~* '\mGROUP\s+BY\M' THEN
        -- NOT IN (SELECT key FROM remote ...): the GROUP BY is all it lacks.
        sub_at := regexp_instr(query, '\mIN\s*\(\s*SELECT\M', 1, 1, 0, 'i');
        sub_at := strpos(substr(query, sub_at), '(') + sub_at - 1;
        sub_end := fdw_bridge.advise_close(query, sub_at);
        IF sub_end > 0 THEN
          full_query := substr(query, 1, sub_end - 2) || ' GROUP BY 1' || substr(query, sub_end - 1);
          fragment := 'add GROUP BY 1 to the NOT IN subquery';
        END IF;
      ELSIF query IS NOT NULL AND regexp_count(query, '\mEXISTS\s*\(', 1, 'i') = 1 THEN
        -- (NOT) EXISTS (SELECT ... FROM remote a WHERE a.key = local.key [AND ...]): the
        -- correlation becomes the IN, the rest of its WHERE stays in the subquery.
        sub_at := regexp_instr(query, '(\mNOT\s+)?\mEXISTS\s*\(', 1, 1, 0, 'i');
        sub_end := fdw_bridge.advise_close(query, strpos(substr(query, sub_at), '(') + sub_at - 1);
        sub := substring(substr(query, sub_at, sub_end - sub_at) from '(?i)\mWHERE\M\s+(.*)\)\s*$');
        IF sub_end > 0 AND sub IS NOT NULL AND sub !~* '\mOR\M' THEN
          conds := regexp_split_to_array(btrim(sub), '\s+AND\s+', 'i');
          SELECT array_agg(x) INTO kept FROM unnest(conds) x
           WHERE x !~* format('^\(?\s*("?%s"?\.)?"?%s"?\s*=\s*("?%s"?\.)?"?%s"?\s*\)?$', a, rkey, other_alias, other_key)
             AND x !~* format('^\(?\s*("?%s"?\.)?"?%s"?\s*=\s*("?%s"?\.)?"?%s"?\s*\)?$', other_alias, other_key, a, rkey);
          IF coalesce(array_length(kept, 1), 0) = array_length(conds, 1) - 1 THEN
            fragment := CASE WHEN s.join_type ~ 'Semi$'
                        THEN format('%s.%s IN (SELECT %s.%s FROM %s %s WHERE %s GROUP BY %s.%s)',
                               quote_ident(other_alias), quote_ident(other_key),
                               quote_ident(a), quote_ident(rkey), tab, quote_ident(a),
                               array_to_string(kept || CASE WHEN coalesce(not_null, false) THEN ARRAY[]::text[]
                                                            ELSE ARRAY[format('%s.%s IS NOT NULL', quote_ident(a), quote_ident(rkey))] END, ' AND '),
                               quote_ident(a), quote_ident(rkey))
                        -- The anti-join's keys grouped in a subquery, joined by NOT EXISTS (see above).
                        ELSE format('NOT EXISTS (SELECT 1 FROM (SELECT %s.%s FROM %s %s WHERE %s GROUP BY %s.%s) %s WHERE %s.%s = %s.%s)',
                               quote_ident(a), quote_ident(rkey), tab, quote_ident(a),
                               array_to_string(kept, ' AND '),
                               quote_ident(a), quote_ident(rkey),
                               quote_ident(a), quote_ident(a), quote_ident(rkey),
                               quote_ident(other_alias), quote_ident(other_key)) END;
            fragment := replace(fragment, ' WHERE  GROUP BY', ' GROUP BY');
            full_query := substr(query, 1, sub_at - 1) || fragment || substr(query, sub_end);
          END IF;
        END IF;
      END IF;
      rewrite := coalesce(full_query, fragment);
      found_here := true;
      RETURN NEXT;
    ELSIF local_node IS NOT NULL AND (local_node ? 'Filter' OR local_node ? 'Index Cond') AND rkey IS NOT NULL
          AND local_node ->> 'Alias' = other_alias
          -- An inner join only: the ids of an anti- or semi-join would belong inside its subquery.
          AND s.join_type IS DISTINCT FROM 'SubPlan' AND coalesce(s.join_type, '') !~ '(Anti|Semi)$' THEN
      pattern := 'array_of_local_ids';
      local_filter := concat_ws(' AND ', local_node ->> 'Index Cond', local_node ->> 'Filter');
      cause := format('the selective filter %s is on this cluster''s side of the join: every row of %s crosses before the join keeps the few that match',
                      local_filter, scan);
      SELECT format_type(a2.atttypid, a2.atttypmod) INTO key_type FROM pg_attribute a2
       WHERE a2.attrelid = to_regclass(format('%I.%I', local_node ->> 'Schema', local_node ->> 'Relation Name')) AND a2.attname = other_key;
      fragment := format('%s.%s = ANY ((SELECT array_agg(%s.%s) FROM %I.%I %s WHERE %s)::%s[])',
                         quote_ident(a), quote_ident(rkey), quote_ident(other_alias), quote_ident(other_key),
                         local_node ->> 'Schema', local_node ->> 'Relation Name', quote_ident(other_alias), local_filter,
                         coalesce(key_type, 'bigint'));
      full_query := NULL;
      -- Added to the query's one WHERE (when it has exactly one and no OR, the AND is exact).
      IF query IS NOT NULL AND regexp_count(query, '\mWHERE\M', 1, 'i') = 1 AND query !~* '\mOR\M' THEN
        full_query := regexp_replace(query, '\mWHERE\M', 'WHERE ' || replace(fragment, '\', '\\') || ' AND', 'i');
      END IF;
      rewrite := coalesce(full_query, 'add to the WHERE: ' || fragment);
      found_here := true;
      RETURN NEXT;
    ELSIF other_foreign IS NOT NULL AND local_node IS NULL AND (other_foreign ->> 'Alias') = ANY (reported) THEN
      pattern := 'remote_join';
      cause := format('%s is joined on this cluster to %s: both remote tables cross (the rewrite is on that scan''s row)', scan, other_foreign ->> 'Alias');
      rewrite := NULL;
      found_here := true;
      RETURN NEXT;
    ELSIF other_foreign IS NOT NULL AND local_node IS NULL THEN
      pattern := 'remote_join';
      reported := reported || a;
      cause := format('%s is joined to %s on this cluster: both remote tables cross, and the join runs here%s',
                      scan, coalesce((other_foreign ->> 'Schema') || '.' || (other_foreign ->> 'Relation Name') || coalesce(' ' || (other_foreign ->> 'Alias'), ''), 'another foreign scan'),
                      CASE WHEN s.join_type ~ 'Semi$' AND pg17 THEN ' (PostgreSQL 17 ships an EXISTS / IN between foreign tables of one server when it can cost the remote join: turn on the link''s UseRemoteEstimate)'
                           WHEN s.join_type ~ 'Semi$' THEN ' (before PostgreSQL 17 postgres_fdw never ships a semi-join)'
                           ELSE '' END);
      rewrite := format('on the remote cluster, join them in a view and let the link import it: CREATE VIEW %s AS SELECT %s FROM %s %s JOIN %s %s ON %s; then query the view, with the local ids shipped as `= ANY ((SELECT array_agg(id) FROM local_table WHERE ...)::bigint[])` when the filter is local',
                        coalesce(substring(remote_from from '^(.*)\.') || '.', '') || coalesce(other_foreign ->> 'Relation Name', 'other') || '_' || coalesce(s.node ->> 'Relation Name', 'this'),
                        concat_ws(', ', (SELECT string_agg(quote_ident(other_foreign ->> 'Alias') || '.' || x, ', ') FROM unnest(string_to_array(substring(other_foreign ->> 'Remote SQL' from '^SELECT\s+(.*?)\s+FROM\s'), ', ')) x),
                                        (SELECT string_agg(quote_ident(a) || '.' || x || ' AS ' || quote_ident((s.node ->> 'Relation Name') || '_' || x), ', ') FROM unnest(string_to_array(remote_cols, ', ')) x)),
                        substring(other_foreign ->> 'Remote SQL' from '\sFROM\s+(\S+)'), quote_ident(other_foreign ->> 'Alias'),
                        remote_from, quote_ident(a), coalesce(s.cond, 'the join condition'));
      -- Without a view: when the other remote table is joined, below, to a filtered local table,
      -- ship the local ids to it and its ids to this scan (each list an InitPlan parameter).
      chain := NULL;
      IF rkey IS NOT NULL AND other_key IS NOT NULL AND query IS NOT NULL AND coalesce(s.join_type, '') !~ '(Anti|Semi)$'
         AND regexp_count(query, '\mWHERE\M', 1, 'i') = 1 AND query !~* '\mOR\M' THEN
        SELECT string_agg(coalesce(x ->> 'Hash Cond', x ->> 'Merge Cond', x ->> 'Join Filter'), ' ') INTO conds_text
          FROM jsonb_path_query(s.other, 'lax $.** ? (exists (@."Join Type"))') x;
        FOR k IN SELECT regexp_matches(coalesce(conds_text, ''), eq, 'g') LOOP
          IF k[3] = other_alias THEN k := ARRAY[k[3], k[4], k[1], k[2]]; END IF;
          CONTINUE WHEN k[1] IS DISTINCT FROM other_alias;
          SELECT x INTO local_node FROM jsonb_path_query(s.other, 'lax $.** ? (exists (@."Relation Name") && @."Node Type" != "Foreign Scan")') x
           WHERE x ->> 'Alias' = k[3] AND (x ? 'Filter' OR x ? 'Index Cond') LIMIT 1;
          CONTINUE WHEN local_node IS NULL;
          SELECT format_type(a2.atttypid, a2.atttypmod) INTO key_type FROM pg_attribute a2
           WHERE a2.attrelid = to_regclass(format('%I.%I', local_node ->> 'Schema', local_node ->> 'Relation Name')) AND a2.attname = k[4];
          fragment := format('%s.%s = ANY ((SELECT array_agg(%s.%s) FROM %I.%I %s WHERE %s)::%s[])',
                             quote_ident(k[1]), quote_ident(k[2]), quote_ident(k[3]), quote_ident(k[4]),
                             local_node ->> 'Schema', local_node ->> 'Relation Name', quote_ident(k[3]),
                             concat_ws(' AND ', local_node ->> 'Index Cond', local_node ->> 'Filter'), coalesce(key_type, 'bigint'));
          SELECT format_type(a2.atttypid, a2.atttypmod) INTO key_type FROM pg_attribute a2
           WHERE a2.attrelid = to_regclass(format('%I.%I', other_foreign ->> 'Schema', other_foreign ->> 'Relation Name')) AND a2.attname = other_key;
          chain := format('%s.%s = ANY ((SELECT array_agg(%s.%s) FROM %I.%I %s WHERE %s)::%s[])',
                          quote_ident(a), quote_ident(rkey), quote_ident(other_alias), quote_ident(other_key),
                          other_foreign ->> 'Schema', other_foreign ->> 'Relation Name', quote_ident(other_alias),
                          fragment, coalesce(key_type, 'bigint'));
          rewrite := regexp_replace(query, '\mWHERE\M', 'WHERE ' || replace(chain || ' AND ' || fragment, '\', '\\') || ' AND', 'i');
          cause := cause || format('; without a view on the remote cluster (%s), ship the ids down the join instead: the local ids to %s, and its ids to %s',
                                   'CREATE VIEW ... JOIN ... and let the link import it', other_alias, scan);
          EXIT;
        END LOOP;
        local_node := NULL;
      END IF;
      found_here := true;
      RETURN NEXT;
    ELSIF whole AND s.above ~ '\m(Aggregate|Group|Limit|WindowAgg)\M' THEN
      pattern := 'aggregate_remotely';
      cause := format('the aggregate above %s runs on this cluster%s: every row of %s crosses. Aggregated on the remote cluster first, one row per key crosses; when every key is aggregated (a whole history), an index on the remote table''s key that INCLUDEs the summed columns lets the remote cluster stream the GROUP BY from an index-only scan',
                      scan, CASE WHEN local_node IS NOT NULL THEN ', over its join with ' || (local_node ->> 'Schema') || '.' || (local_node ->> 'Relation Name') ELSE '' END, scan);
      SELECT string_agg(format('sum(%s.%s) AS %s', quote_ident(a), quote_ident(a2.attname), quote_ident(a2.attname)), ', ')
        INTO agg_cols
        FROM unnest(string_to_array(remote_cols, ', ')) x
        JOIN pg_attribute a2 ON a2.attrelid = tab AND a2.attname = x
       WHERE x IS DISTINCT FROM rkey AND a2.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'numeric'::regtype, 'float4'::regtype, 'float8'::regtype);
      fragment := format('(SELECT %s.%s, count(*) AS n%s FROM %s %s GROUP BY %s.%s) %s',
                         quote_ident(a), quote_ident(coalesce(rkey, 'key')), coalesce(', ' || agg_cols, ''), tab, quote_ident(a),
                         quote_ident(a), quote_ident(coalesce(rkey, 'key')), quote_ident(a));
      full_query := NULL;
      -- `schema.table alias` as the query may write it (quoted or not; the names as regex literals).
      table_ref := format('"?%s"?\."?%s"?\s+(AS\s+)?"?%s"?(?=\W|$)',
                          regexp_replace(s.node ->> 'Schema', '([^\w])', '\\\1', 'g'),
                          regexp_replace(s.node ->> 'Relation Name', '([^\w])', '\\\1', 'g'),
                          regexp_replace(coalesce(a, ''), '([^\w])', '\\\1', 'g'));
      -- In place of the table; count(*) above becomes the sum of the groups' counts.
      IF query IS NOT NULL AND rkey IS NOT NULL AND tab IS NOT NULL
         AND query !~* '\m(avg|count\s*\(\s*distinct|count\s*\(\s*\w|string_agg|array_agg)\M'
         AND regexp_count(query, table_ref, 1, 'i') = 1 THEN
        full_query := regexp_replace(query, 'count\s*\(\s*\*\s*\)', format('sum(%s.n)::bigint', quote_ident(a)), 'gi');
        full_query := regexp_replace(full_query, table_ref, replace(fragment, '\', '\\'), 'i');
      END IF;
      rewrite := coalesce(full_query, format('in place of %s, join to %s and aggregate its groups (count(*) becomes sum(%s.n))', scan, fragment, quote_ident(a)));
      found_here := true;
      RETURN NEXT;
    END IF;

    IF NOT found_here THEN
      pattern := 'none';
      cause := 'nothing to change: ' || CASE WHEN n <= min_rows THEN 'few rows cross' ELSE 'its filter is shipped, and the rows that cross are the ones the query uses' END;
      rewrite := NULL;
      RETURN NEXT;
    END IF;
  END LOOP;
  IF n_scans = 0 THEN
    scan := NULL; crosses := NULL; pattern := 'none';
    cause := 'nothing to change: the query reads no foreign table';
    rewrite := NULL;
    RETURN NEXT;
  END IF;
END
$fn$;
-- statement
-- The advice for a query as the caller wrote it: EXPLAIN (VERBOSE) plans it
-- and never runs it; with `measure` EXPLAIN ANALYZE runs it, with the caller's
-- privileges, inside a subtransaction that is rolled back. One statement only:
-- a cursor refuses a string of several. No SET search_path: the query's names
-- resolve as the caller's session resolves them.
CREATE FUNCTION fdw_bridge.advise(query text, measure boolean DEFAULT false, min_rows bigint DEFAULT 1000)
RETURNS TABLE (scan text, crosses text, pattern text, cause text, rewrite text)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $fn$
DECLARE
  q constant text := regexp_replace(coalesce(query, ''), '[\s;]+$', '');
  plan json;
BEGIN
  IF q ~ '^\s*$' THEN
    RAISE EXCEPTION 'fdw_bridge.advise: the query is empty' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  BEGIN
    IF measure THEN
      BEGIN
        FOR plan IN EXECUTE 'EXPLAIN (ANALYZE, VERBOSE, FORMAT JSON) ' || q LOOP END LOOP;
        RAISE EXCEPTION USING ERRCODE = 'FB001';
      EXCEPTION WHEN SQLSTATE 'FB001' THEN
        NULL;  -- whatever the measured query wrote is rolled back; the plan stays in `plan`
      END;
    ELSE
      FOR plan IN EXECUTE 'EXPLAIN (VERBOSE, FORMAT JSON) ' || q LOOP END LOOP;
    END IF;
  EXCEPTION WHEN invalid_cursor_definition THEN
    RAISE EXCEPTION 'fdw_bridge.advise takes one statement, and this text holds several: nothing was run'
      USING ERRCODE = 'invalid_parameter_value';
  END;
  RETURN QUERY SELECT * FROM fdw_bridge.advise_plan(plan::jsonb, q, measure, min_rows);
END
$fn$
