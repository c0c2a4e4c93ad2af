//! The twin's own certificate authority.
//!
//! A real Juju controller signs its API certificate with the controller CA and clients trust only
//! that CA, checking the server name `juju-apiserver` (reference/juju-api.md §2). The twin does the
//! same with a CA generated at start-up, so the real client's TLS set-up is exercised unchanged.
//! The Kubernetes API of the twin is served with a leaf from the same CA for `127.0.0.1`, as
//! kube-rs and kubectl expect an HTTPS API server.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The DNS names a Juju controller's default certificate carries (`controller/config.go`
/// `DefaultDNSNames`); clients verify against `juju-apiserver`.
pub const JUJU_DNS_NAMES: &[&str] = &["localhost", "juju-apiserver", "juju-mongodb", "anything"];

/// A certificate authority that issues server certificates for the twin's endpoints.
pub struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A leaf certificate with its key, ready to serve TLS.
pub struct ServerIdentity {
    /// PEM of the leaf certificate.
    pub cert_pem: String,
    /// rustls server configuration presenting the leaf.
    pub config: Arc<ServerConfig>,
}

impl Authority {
    /// Generates a fresh CA (ECDSA P-256).
    ///
    /// # Errors
    /// Fails only if key generation or signing fails in the crypto provider.
    pub fn generate(common_name: &str) -> anyhow::Result<Self> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;
        Ok(Self { issuer })
    }

    /// The CA certificate in PEM, what a client puts in its root store.
    pub fn ca_pem(&self) -> String {
        self.issuer.pem()
    }

    /// Issues a server certificate for `names` (DNS names or IP addresses) and builds a rustls
    /// server configuration for it. `alpn` lists the protocols offered (`http/1.1` for the
    /// Kubernetes API so kubectl does not try HTTP/2).
    ///
    /// # Errors
    /// Fails if a name is neither a valid DNS name nor an IP address, or signing fails.
    pub fn server(&self, names: &[&str], alpn: &[&[u8]]) -> anyhow::Result<ServerIdentity> {
        let key = KeyPair::generate()?;
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())?;
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().copied().unwrap_or("ckf-sim"),
        );
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &self.issuer)?;
        let chain = vec![CertificateDer::from(cert.der().to_vec())];
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key_der)?;
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(ServerIdentity {
            cert_pem: cert.pem(),
            config: Arc::new(config),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_a_leaf_for_the_juju_names() {
        let ca = Authority::generate("ckf-sim test CA").expect("generate CA");
        let leaf = ca.server(JUJU_DNS_NAMES, &[]).expect("issue leaf");
        assert!(ca.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(leaf.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_ne!(ca.ca_pem(), leaf.cert_pem);
    }
}
