//! A certificate authority made at test time, and a server certificate it signs for 127.0.0.1 and
//! localhost: the Entra fake serves HTTPS with it, and the sidecar trusts it through
//! `SSL_CERT_FILE` (the CA's PEM written to a file).

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::Path;
use std::sync::Arc;

pub struct TestCa {
    /// The CA certificate, PEM.
    pub ca_pem: String,
    pub acceptor: tokio_rustls::TlsAcceptor,
}

impl TestCa {
    pub fn new() -> TestCa {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "Warden test-only CA");
        ca_params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca_params, ca_key);

        let leaf_key = KeyPair::generate().expect("server key");
        let mut leaf_params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).expect("server params");
        leaf_params.distinguished_name.push(DnType::CommonName, "127.0.0.1");
        leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).expect("server certificate");

        let chain = vec![CertificateDer::from(leaf.der().to_vec()), CertificateDer::from(ca_cert.der().to_vec())];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("server TLS config");
        TestCa { ca_pem: ca_cert.pem(), acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)) }
    }

    /// Writes the CA certificate where `SSL_CERT_FILE` can point.
    pub fn write_ca(&self, path: &Path) {
        std::fs::write(path, &self.ca_pem).expect("write the test CA");
    }
}

impl Default for TestCa {
    fn default() -> Self {
        TestCa::new()
    }
}
