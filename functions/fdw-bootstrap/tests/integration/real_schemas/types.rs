//! User-defined types: a remote schema with enum, domain, composite and range
//! columns (and arrays of them) is imported whole; a label added on the remote
//! cluster reaches the local type on the next Update; Delete takes the types.

use super::fixture::{Fixture, LAMBDA_TIMEOUT, ORDERS};
use super::harness::{self, unique, Stack};

const TABLES: usize = 300;

/// `EXPLAIN (VERBOSE)` of `sql`, one line per element.
async fn explain(client: &tokio_postgres::Client, sql: &str) -> Vec<String> {
    client.query(sql, &[]).await.unwrap().iter().map(|r| r.get(0)).collect()
}

#[tokio::test]
async fn a_schema_with_enums_domains_and_300_tables_is_imported_and_queryable() {
    let stack = Stack::get();
    let _turn = stack.shared().await;
    let bootstrap = stack.bootstrap().await;
    let fixture = Fixture::create(stack, "types", TABLES).await;
    let fdw_user = unique("fdw_types");
    let secret = stack.fdw_secret(&fdw_user, "types-pw-1").await;
    let (server, local) = (unique("types_link"), unique("types_remote"));
    let props = fixture.properties(stack, &server, &local, &secret);
    let created = stack
        .invoke(
            &bootstrap,
            stack.event("Create", &unique("types-create"), None, &props),
            LAMBDA_TIMEOUT,
        )
        .await;
    created.assert_success();
    assert_eq!(created.data("TableCount"), Fixture::table_count(TABLES).to_string());
    println!(
        "Create of {} tables with enum/domain/composite/range columns: {:?}",
        Fixture::table_count(TABLES),
        created.elapsed
    );
    let id = created.answer.physical_resource_id.clone();

    // The report role reads every kind of column through the link, as B has them.
    let reader = stack.clusters.report_reader().await;
    let q = format!(
        "SELECT count(*), count(*) FILTER (WHERE status = 'paid'), sum(total)::bigint, max(contact)::text,
                max(array_length(history, 1)), max((ship_to).city), bool_and(upper(band) > lower(band)),
                sum((payload->>'n')::int)::bigint, sum(total_eur)::bigint, sum(\"select\")::bigint, max(\"MixedCase\")
           FROM \"{local}\".\"Orders\""
    );
    let row = reader.query_one(&q, &[]).await.unwrap();
    let b = stack.clusters.superuser('b', "orders").await;
    let oracle = b
        .query_one(
            &q.replace(&format!("\"{local}\""), &format!("\"{}\"", fixture.schema)),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), ORDERS);
    for i in 0..11 {
        assert_eq!(
            format!("{:?}", row.try_get::<_, Option<String>>(i).ok()),
            format!("{:?}", oracle.try_get::<_, Option<String>>(i).ok()),
            "column {i}"
        );
    }
    assert_eq!(row.get::<_, i64>(1), oracle.get::<_, i64>(1));
    assert_eq!(row.get::<_, i64>(2), oracle.get::<_, i64>(2));
    for (view, n) in [("paid_orders", ORDERS / 4), ("order_counts", 4), ("events", 300)] {
        let got: i64 = reader
            .query_one(&format!("SELECT count(*) FROM \"{local}\".{view}"), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(got, n, "{view}");
    }

    // Whether a filter on an enum column reaches the remote side (postgres_fdw ships
    // only built-in types and those of extensions listed in the server's `extensions`).
    let plan: Vec<String> = explain(
        &reader,
        &format!("EXPLAIN (VERBOSE) SELECT id FROM \"{local}\".\"Orders\" WHERE status = 'paid'"),
    )
    .await;
    let remote_sql = plan
        .iter()
        .find(|l| l.contains("Remote SQL"))
        .expect("a Remote SQL line")
        .trim()
        .to_string();
    let shipped = remote_sql.contains("WHERE");
    println!(
        "enum filter shipped to the remote cluster: {shipped}; {remote_sql}; local {:?}",
        plan.iter().find(|l| l.contains("Filter"))
    );
    let text_filter: Vec<String> = explain(
        &reader,
        &format!("EXPLAIN (VERBOSE) SELECT id FROM \"{local}\".\"Orders\" WHERE \"MixedCase\" = 'x1'"),
    )
    .await;
    assert!(
        text_filter
            .iter()
            .any(|l| l.contains("Remote SQL") && l.contains("MixedCase")),
        "{text_filter:?}"
    );

    // The way to a shipped filter: a view on B that exposes the enum as text
    // (built in), brought to A by a refresh.
    b.batch_execute(&format!(
        "SET ROLE orders_admin; CREATE VIEW \"{0}\".orders_by_status AS SELECT id, status::text AS status FROM \"{0}\".\"Orders\"",
        fixture.schema
    ))
    .await
    .unwrap();
    bootstrap
        .handle_invocation(
            serde_json::json!({"Action": "Refresh", "LocalCluster": props["LocalCluster"], "ServerNames": [server]}),
            tokio::time::Instant::now() + LAMBDA_TIMEOUT,
        )
        .await
        .unwrap();
    let plan: Vec<String> = explain(
        &reader,
        &format!("EXPLAIN (VERBOSE) SELECT id FROM \"{local}\".orders_by_status WHERE status = 'paid'"),
    )
    .await;
    let remote_sql = plan
        .iter()
        .find(|l| l.contains("Remote SQL"))
        .expect("a Remote SQL line");
    assert!(remote_sql.contains("WHERE ((status = 'paid'"), "{plan:#?}");
    println!("through a view on B with status::text: {}", remote_sql.trim());
    let paid: i64 = reader
        .query_one(
            &format!("SELECT count(*) FROM \"{local}\".orders_by_status WHERE status = 'paid'"),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(paid, ORDERS / 4);

    // A label added on B is added on A by the next Update, in its place.
    b.batch_execute(&format!(
        "ALTER TYPE \"{}\".status ADD VALUE 'refunded' AFTER 'paid'",
        fixture.schema
    ))
    .await
    .unwrap();
    b.batch_execute(&format!(
        "UPDATE \"{}\".\"Orders\" SET status = 'refunded' WHERE id = 1",
        fixture.schema
    ))
    .await
    .unwrap();
    let updated = stack
        .invoke(
            &bootstrap,
            stack.event("Update", &unique("types-update"), Some(&id), &props),
            LAMBDA_TIMEOUT,
        )
        .await;
    updated.assert_success();
    assert_eq!(updated.data("StatementsApplied"), "1", "{}", updated.reason());
    let a = stack.clusters.superuser('a', "users").await;
    let labels: Vec<String> = a
        .query_one(
            "SELECT array_agg(enumlabel::text ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = format('%I.status', $1::text)::regtype",
            &[&fixture.schema],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(labels, ["new", "paid", "refunded", "shipped", "cancelled"]);
    let refunded: i64 = reader
        .query_one(
            &format!("SELECT count(*) FROM \"{local}\".\"Orders\" WHERE status = 'refunded'"),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(refunded, 1);

    stack
        .invoke(
            &bootstrap,
            stack.event("Delete", &unique("types-delete"), Some(&id), &props),
            LAMBDA_TIMEOUT,
        )
        .await
        .assert_success();
    harness::assert_link_gone(stack, &server, &local, &fdw_user).await;
    let left: i64 = a
        .query_one(
            "SELECT count(*) FROM pg_namespace WHERE nspname = $1",
            &[&fixture.schema],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "the type schema {} is left on A", fixture.schema);
    fixture.drop(stack).await;
}
