//! The settings every function shares (CA bundle, connect timeout), read once
//! from its environment at cold start.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectSettings {
    /// CA bundle that verifies both clusters' certificates (RDS global-bundle.pem in AWS).
    pub ca_bundle: PathBuf,
    /// Bound on connecting to a cluster (TCP, TLS and login together).
    pub connect_timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectSettingsError {
    #[error("environment variable FDW_CA_BUNDLE is not set: point it at the CA bundle that signs the clusters' certificates (global-bundle.pem for RDS)")]
    NoCaBundle,
    #[error("environment variable FDW_CONNECT_TIMEOUT_SECONDS is {0:?}: expected whole seconds from 1 to 60")]
    BadTimeout(String),
}

impl ConnectSettings {
    pub fn from_env() -> Result<Self, ConnectSettingsError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConnectSettingsError> {
        let ca_bundle = get("FDW_CA_BUNDLE")
            .filter(|v| !v.is_empty())
            .ok_or(ConnectSettingsError::NoCaBundle)?;
        let connect_timeout = match get("FDW_CONNECT_TIMEOUT_SECONDS") {
            None => Duration::from_secs(5),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if (1..=60).contains(&n) => Duration::from_secs(n),
                _ => return Err(ConnectSettingsError::BadTimeout(v)),
            },
        };
        Ok(Self {
            ca_bundle: PathBuf::from(ca_bundle),
            connect_timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_have_defaults_and_clear_errors() {
        let s = ConnectSettings::from_lookup(|k| (k == "FDW_CA_BUNDLE").then(|| "/ca.pem".to_string())).unwrap();
        assert_eq!(s.connect_timeout, Duration::from_secs(5));
        assert!(ConnectSettings::from_lookup(|_| None)
            .unwrap_err()
            .to_string()
            .contains("FDW_CA_BUNDLE"));
        let e = ConnectSettings::from_lookup(|k| Some(if k == "FDW_CA_BUNDLE" { "/ca" } else { "0" }.to_string()))
            .unwrap_err();
        assert!(e.to_string().contains("FDW_CONNECT_TIMEOUT_SECONDS"));
    }
}
