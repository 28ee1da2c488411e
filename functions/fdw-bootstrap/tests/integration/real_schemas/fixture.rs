//! A remote schema that looks like a real application's, made on cluster B by
//! the test itself (its own schema, so other suites keep the sample one):
//! enum and domain columns, arrays of them, a composite and a range type,
//! jsonb, a generated column, mixed-case and reserved-word names, a
//! partitioned table, a view, a materialized view, and `tables` more tables.

use super::harness::{unique, Stack};
use serde_json::{json, Value};
use std::time::Duration;

pub const LAMBDA_TIMEOUT: Duration = Duration::from_secs(120);

/// Rows in `"Orders"` (statuses cycle through new, paid, shipped, cancelled).
pub const ORDERS: i64 = 400;

pub struct Fixture {
    /// The remote schema on B (and the schema the types get on A).
    pub schema: String,
}

impl Fixture {
    /// Makes the schema on B as orders_admin (the remote admin, so that it may grant).
    pub async fn create(stack: &Stack, tag: &str, tables: usize) -> Fixture {
        let schema = unique(&format!("shop_{tag}"));
        let b = stack.clusters.superuser('b', "orders").await;
        let s = format!("\"{schema}\"");
        b.batch_execute(&format!(
            r#"
            SET ROLE orders_admin;
            CREATE SCHEMA {s};
            SET search_path = {s};
            CREATE TYPE status AS ENUM ('new', 'paid', 'shipped', 'cancelled');
            CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%');
            CREATE DOMAIN cents AS bigint NOT NULL CHECK (VALUE >= 0);
            CREATE TYPE address AS (street text, city text, zip text);
            CREATE TYPE price_band AS RANGE (subtype = numeric);
            CREATE TABLE "Orders" (
              id bigint PRIMARY KEY,
              "user" text NOT NULL,
              status status NOT NULL,
              history status[],
              contact email,
              total cents,
              ship_to address,
              band price_band,
              payload jsonb,
              total_eur numeric GENERATED ALWAYS AS (total / 100.0) STORED,
              "select" int,
              "MixedCase" text
            );
            INSERT INTO "Orders" (id, "user", status, history, contact, total, ship_to, band, payload, "select", "MixedCase")
            SELECT g, 'user' || (g % 37),
                   (ARRAY['new', 'paid', 'shipped', 'cancelled']::status[])[1 + g % 4],
                   ARRAY['new', (ARRAY['new', 'paid', 'shipped', 'cancelled']::status[])[1 + g % 4]]::status[],
                   'u' || g || '@example.com', g * 100, ROW('Main St ' || g, 'Town', '1000')::address,
                   price_band(g, g + 10), jsonb_build_object('n', g), g % 7, 'x' || g
              FROM generate_series(1, {ORDERS}) g;
            CREATE TABLE events (id bigint, at date NOT NULL, kind status) PARTITION BY RANGE (at);
            CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
            CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
            INSERT INTO events SELECT g, date '2025-06-01' + g, 'paid' FROM generate_series(1, 300) g;
            CREATE VIEW paid_orders AS SELECT id, "user", total FROM "Orders" WHERE status = 'paid';
            CREATE MATERIALIZED VIEW order_counts AS SELECT status, count(*) AS n FROM "Orders" GROUP BY status;
            DO $fixture$
            BEGIN
              FOR i IN 1..{tables} LOOP
                EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, state status, note text, amount numeric(12,2))',
                               'table_' || lpad(i::text, 4, '0'));
              END LOOP;
            END
            $fixture$;
            "#
        ))
        .await
        .unwrap_or_else(|e| panic!("fixture schema {schema} on cluster B: {e:?}"));
        Fixture { schema }
    }

    /// Link properties importing this schema into `local_schema`.
    pub fn properties(&self, stack: &Stack, server: &str, local_schema: &str, secret: &str) -> Value {
        let mut props = stack.properties(server, local_schema, secret);
        props["ImportSchemas"] = json!([{"RemoteSchema": self.schema, "LocalSchema": local_schema}]);
        props
    }

    /// Tables the link exposes from this schema: `"Orders"`, events (the
    /// partitioned parent, not its partitions), the view, the materialized view, and the numbered ones.
    pub fn table_count(tables: usize) -> usize {
        tables + 4
    }

    pub async fn drop(&self, stack: &Stack) {
        let b = stack.clusters.superuser('b', "orders").await;
        b.batch_execute(&format!("DROP SCHEMA \"{}\" CASCADE", self.schema))
            .await
            .unwrap_or_else(|e| panic!("dropping fixture {}: {e}", self.schema));
    }
}
