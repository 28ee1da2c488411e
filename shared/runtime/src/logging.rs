//! Logging as lambda_runtime sets it up (level from AWS_LAMBDA_LOG_LEVEL or
//! RUST_LOG, JSON when AWS_LAMBDA_LOG_FORMAT=JSON), with one difference:
//! tokio-postgres never logs below INFO, because at DEBUG it prints every
//! statement it sends, and some carry a password.

use lambda_runtime::tracing::subscriber::filter::{EnvFilter, LevelFilter};
use lambda_runtime::tracing::subscriber::fmt::MakeWriter;
use std::str::FromStr;

pub fn init() {
    init_with_writer(std::io::stdout);
}

pub fn init_with_writer<W>(writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|l| LevelFilter::from_str(&l).ok())
        .unwrap_or(LevelFilter::INFO);
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let filter = EnvFilter::builder()
        .with_default_directive(level.into())
        .parse_lossy("")
        .add_directive(quiet("tokio_postgres=info"))
        .add_directive(quiet("postgres_protocol=info"));
    let builder = lambda_runtime::tracing::subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .with_env_filter(filter)
        .with_writer(writer);
    // A second init (tests) keeps the first subscriber.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

fn quiet(directive: &str) -> lambda_runtime::tracing::subscriber::filter::Directive {
    directive.parse().unwrap_or_else(|_| LevelFilter::INFO.into())
}
