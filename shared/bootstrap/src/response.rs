//! The response CloudFormation waits for: a JSON body of at most 4096 bytes,
//! PUT to the pre-signed ResponseURL with an empty Content-Type, retried with
//! backoff until it lands or the time is up.

use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceResponse, CloudFormationCustomResourceResponseStatus,
};
use fdw_bridge_runtime::retry::step;
use std::time::Duration;
use tokio::time::Instant;

/// CloudFormation refuses larger bodies.
pub const MAX_BODY_BYTES: usize = 4096;

/// Serializes the response, shortening the Reason until the body fits.
pub fn body(response: &CloudFormationCustomResourceResponse) -> String {
    let mut response = response.clone();
    loop {
        let text = serde_json::to_string(&response).unwrap_or_else(|e| {
            // Only strings and a bool inside: cannot fail, but never send nothing.
            format!(r#"{{"Status":"FAILED","Reason":"response not serializable: {e}"}}"#)
        });
        let Some(reason) = response.reason.as_mut().filter(|_| text.len() > MAX_BODY_BYTES) else {
            return text;
        };
        let excess = text.len() - MAX_BODY_BYTES;
        const MORE: &str = " … (truncated; the whole text is in the function's log)";
        let mut keep = reason.len().saturating_sub(excess + MORE.len() + 8);
        while !reason.is_char_boundary(keep) {
            keep -= 1;
        }
        if keep == 0 {
            reason.clear();
        } else {
            reason.truncate(keep);
            reason.push_str(MORE);
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("could not deliver the {status} response to CloudFormation ({host}) after {attempts} attempts: {last}")]
pub struct DeliveryError {
    pub status: &'static str,
    pub host: String,
    pub attempts: u32,
    pub last: String,
}

/// The HTTP client for responses (rustls with the platform's roots; S3 in AWS).
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("fdw-bridge/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// The host of a pre-signed URL: safe to log (the query string is a credential).
pub fn url_host(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            })
        })
        .unwrap_or_else(|| "an unparseable ResponseURL".into())
}

/// The longest a single PUT may take: a slow answer is abandoned and tried again.
pub const TRY_TIMEOUT: Duration = Duration::from_secs(10);

/// Time kept back from the Lambda deadline after the last try: Lambda reports
/// the function's error (`ResponseUndeliverable`) only if the function returns
/// before its deadline; at the deadline it is killed and only "timed out" is seen.
pub const RETURN_MARGIN: Duration = Duration::from_millis(500);

/// A try with less time than this left is not started.
const SHORTEST_TRY: Duration = Duration::from_millis(200);

/// The pause after the first failed PUT, doubled after each one up to [`MAX_DELAY`].
const FIRST_DELAY: Duration = Duration::from_millis(500);
const MAX_DELAY: Duration = Duration::from_secs(8);

/// PUTs `response` to `url`, retrying on errors and non-2xx answers with
/// exponential backoff (0.5 s, 1 s, 2 s, ... capped at 8 s), each try bounded
/// by [`TRY_TIMEOUT`] and by `deadline` less [`RETURN_MARGIN`], until it lands
/// or no try fits before then.
pub async fn deliver(
    http: &reqwest::Client,
    url: &str,
    response: &CloudFormationCustomResourceResponse,
    deadline: Instant,
) -> Result<u32, DeliveryError> {
    let status = match response.status {
        CloudFormationCustomResourceResponseStatus::Failed => "FAILED",
        _ => "SUCCESS",
    };
    let body = body(response);
    let host = url_host(url);
    let give_up_at = deadline.checked_sub(RETURN_MARGIN).unwrap_or(deadline);
    let mut attempts = 0;
    loop {
        let remaining = give_up_at.saturating_duration_since(Instant::now());
        let try_timeout = try_timeout(remaining);
        attempts += 1;
        let attempt = http
            .put(url)
            // Pre-signed S3 URLs are signed for an empty Content-Type.
            .header(reqwest::header::CONTENT_TYPE, "")
            .body(body.clone())
            .timeout(try_timeout)
            .send()
            .await;
        let last = match attempt {
            Ok(r) if r.status().is_success() => {
                tracing::info!(status, host = %host, attempts, bytes = body.len(), "response delivered to CloudFormation");
                return Ok(attempts);
            }
            Ok(r) => format!("HTTP {}", r.status()),
            Err(e) if e.is_timeout() => format!("no answer within {} ms", try_timeout.as_millis()),
            Err(e) => fdw_bridge_pg::error_chain(&e),
        };
        tracing::warn!(status, host = %host, attempt = attempts, error = %last, "response PUT failed; retrying");
        let delay = step(FIRST_DELAY, MAX_DELAY, attempts - 1);
        if Instant::now() + delay + SHORTEST_TRY >= give_up_at {
            return Err(DeliveryError {
                status,
                host,
                attempts,
                last,
            });
        }
        tokio::time::sleep(delay).await;
    }
}

/// One try's bound: [`TRY_TIMEOUT`], or the time left when that is shorter
/// (never less than [`SHORTEST_TRY`], so that even a late first try is made).
fn try_timeout(remaining: Duration) -> Duration {
    remaining.clamp(SHORTEST_TRY, TRY_TIMEOUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_reasons_are_cut_to_fit_on_a_char_boundary() {
        let mut r = CloudFormationCustomResourceResponse::default();
        r.status = CloudFormationCustomResourceResponseStatus::Failed;
        r.physical_resource_id = "fdw-link/x".into();
        r.reason = Some("é".repeat(5000));
        r.data.insert("ServerName".into(), "orders_link".into());
        let text = body(&r);
        assert!(text.len() <= MAX_BODY_BYTES, "{}", text.len());
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(back["Reason"]
            .as_str()
            .unwrap()
            .ends_with("the whole text is in the function's log)"));
        assert_eq!(back["Status"], "FAILED");
        assert_eq!(back["Data"]["ServerName"], "orders_link");

        r.reason = Some("short".into());
        assert!(body(&r).contains("\"Reason\":\"short\""));
    }

    #[test]
    fn a_try_ends_before_the_deadline_less_the_margin() {
        assert_eq!(try_timeout(Duration::from_secs(60)), TRY_TIMEOUT);
        assert_eq!(try_timeout(Duration::from_secs(3)), Duration::from_secs(3));
        assert_eq!(try_timeout(Duration::ZERO), SHORTEST_TRY);
    }

    #[test]
    fn only_the_host_of_a_presigned_url_is_shown() {
        assert_eq!(
            url_host(
                "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3A?X-Amz-Signature=abc"
            ),
            "cloudformation-custom-resource-response-useast1.s3.amazonaws.com"
        );
        assert_eq!(url_host("http://127.0.0.1:8080/x"), "127.0.0.1:8080");
    }
}
