//! Timing one query the three ways: the same results checked first, a warm-up,
//! then rounds in which the ways take turns (each round starts with the next
//! way, so none always runs on the others' warm caches); the median of each.

use crate::shapes::Case;
use crate::traffic::{self, Traffic};
use crate::ways::Way;
use std::time::{Duration, Instant};
use tokio_postgres::Client;

pub struct Sample {
    pub case: String,
    pub kind: &'static str,
    pub way: &'static str,
    pub median_ms: f64,
    pub runs: usize,
    pub rows: usize,
    /// md5 of the rows as JSON, in order: the same for every way of one query.
    pub digest: String,
    /// What crossed the link in one run (None co-located).
    pub traffic: Option<Traffic>,
}

pub async fn compare(case: &Case, ways: &[Way], runs: usize, b_superuser: &Client) -> Vec<Sample> {
    let params = case.params();
    let mut statements = Vec::with_capacity(ways.len());
    let mut rows = Vec::with_capacity(ways.len());
    let mut digests = Vec::with_capacity(ways.len());
    for way in ways {
        let sql = case.sql(&way.schema);
        let digest_sql = format!("SELECT md5(coalesce(string_agg(to_jsonb(r)::text, '|'), '')) FROM (\n{sql}\n) AS r");
        let digest: String = way
            .client
            .query_one(&digest_sql, &params)
            .await
            .unwrap_or_else(|e| panic!("{} {}: {e:?}", case.name, way.name))
            .get(0);
        digests.push(digest);
        let statement = way.client.prepare(&sql).await.expect("prepare");
        // Warm-up.
        rows.push(way.client.query(&statement, &params).await.expect("warm-up").len());
        statements.push(statement);
    }
    for (i, way) in ways.iter().enumerate() {
        assert_eq!(
            (rows[i], &digests[i]),
            (rows[0], &digests[0]),
            "{}: {} returns other rows than {}",
            case.name,
            way.name,
            ways[0].name
        );
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(runs); ways.len()];
    for round in 0..runs {
        for k in 0..ways.len() {
            let i = (round + k) % ways.len();
            let started = Instant::now();
            let n = ways[i].client.query(&statements[i], &params).await.expect("run").len();
            times[i].push(started.elapsed());
            assert_eq!(n, rows[i], "{}: row count changed between runs", case.name);
        }
    }
    let mut samples = Vec::with_capacity(ways.len());
    for (i, way) in ways.iter().enumerate() {
        let foreign = way.schema != "public";
        let traffic = if foreign {
            Some(traffic::one_run(&way.client, &statements[i], &params, b_superuser).await)
        } else {
            None
        };
        samples.push(Sample {
            case: case.name.clone(),
            kind: case.kind,
            way: way.name,
            median_ms: median_ms(&mut times[i]),
            runs,
            rows: rows[i],
            digest: digests[i].clone(),
            traffic,
        });
    }
    samples
}

pub fn median_ms(times: &mut [Duration]) -> f64 {
    times.sort();
    let n = times.len();
    let mid = if n % 2 == 1 {
        times[n / 2]
    } else {
        (times[n / 2 - 1] + times[n / 2]) / 2
    };
    mid.as_secs_f64() * 1000.0
}
