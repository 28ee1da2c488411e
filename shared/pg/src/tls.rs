//! TLS for database connections: rustls with the aws-lc-rs provider, verifying
//! the server certificate and host name against one CA bundle (in AWS the RDS
//! global bundle, locally the stack's own CA). There is no unverified mode.

use rustls::pki_types::{pem::PemObject, CertificateDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the CA bundle {path}: {reason} (set FDW_CA_BUNDLE to the PEM file of the CA that signed the database certificates; in AWS the RDS global-bundle.pem)")]
    Unreadable { path: PathBuf, reason: String },
    #[error("the CA bundle {path} holds no usable certificate: {reason}")]
    Empty { path: PathBuf, reason: String },
    #[error("cannot set up TLS: {0}")]
    Setup(String),
}

/// A rustls client configuration that trusts only the certificates in `ca_bundle`.
pub fn client_config(ca_bundle: &Path) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let pem = std::fs::read(ca_bundle).map_err(|e| TlsError::Unreadable {
        path: ca_bundle.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut roots = rustls::RootCertStore::empty();
    let mut problems = Vec::new();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        match cert
            .map_err(|e| e.to_string())
            .and_then(|c| roots.add(c).map_err(|e| e.to_string()))
        {
            Ok(()) => {}
            Err(e) => problems.push(e),
        }
    }
    if roots.is_empty() {
        return Err(TlsError::Empty {
            path: ca_bundle.to_path_buf(),
            reason: problems
                .first()
                .cloned()
                .unwrap_or_else(|| "no PEM CERTIFICATE block".into()),
        });
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Setup(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_bundle_is_named() {
        let e = client_config(Path::new("/nonexistent/ca.pem")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/ca.pem"));
        assert!(e.to_string().contains("FDW_CA_BUNDLE"));
    }

    #[test]
    fn bundle_without_certificates_is_refused() {
        let dir = std::env::temp_dir().join(format!("fdw-tls-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        assert!(matches!(client_config(&path), Err(TlsError::Empty { .. })));
    }
}
