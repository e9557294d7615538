//! Telegraf's client TLS options (`tls_ca`, `tls_cert`, `tls_key`, `insecure_skip_verify`) as
//! a rustls configuration (ring as the crypto provider), for the plugins that speak TLS
//! themselves (`mqtt_consumer`).

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;

/// A plugin's TLS options, as read from its table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsOptions {
    /// `tls_ca`: the authorities to trust (the system's when empty).
    pub ca: String,
    /// `tls_cert`: the client certificate (with `key`).
    pub cert: String,
    /// `tls_key`: the client key.
    pub key: String,
    /// `insecure_skip_verify`: any server certificate is accepted.
    pub insecure_skip_verify: bool,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl TlsOptions {
    /// The client configuration the options describe; an unreadable or wrong file is an
    /// error naming it.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, String> {
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let builder = if self.insecure_skip_verify {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider())))
        } else {
            let mut roots = RootCertStore::empty();
            if self.ca.is_empty() {
                let native = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(native.certs);
            } else {
                for cert in CertificateDer::pem_file_iter(&self.ca)
                    .map_err(|e| format!("tls_ca {}: {e}", self.ca))?
                {
                    let cert = cert.map_err(|e| format!("tls_ca {}: {e}", self.ca))?;
                    roots
                        .add(cert)
                        .map_err(|e| format!("tls_ca {}: {e}", self.ca))?;
                }
            }
            builder.with_root_certificates(roots)
        };
        let config = match (self.cert.is_empty(), self.key.is_empty()) {
            (true, true) => builder.with_no_client_auth(),
            (false, false) => {
                let certs = CertificateDer::pem_file_iter(&self.cert)
                    .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| format!("tls_cert {}: {e}", self.cert))?;
                let key = PrivateKeyDer::from_pem_file(&self.key)
                    .map_err(|e| format!("tls_key {}: {e}", self.key))?;
                builder
                    .with_client_auth_cert(certs, key)
                    .map_err(|e| format!("tls_cert/tls_key: {e}"))?
            }
            _ => return Err("tls_cert and tls_key go together".into()),
        };
        Ok(Arc::new(config))
    }
}

/// `insecure_skip_verify`: every certificate is accepted; signatures are still checked.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_make_configs_or_name_the_file_at_fault() {
        assert!(TlsOptions::default().client_config().is_ok());
        let insecure = TlsOptions {
            insecure_skip_verify: true,
            ..TlsOptions::default()
        };
        assert!(insecure.client_config().is_ok());
        let missing = TlsOptions {
            ca: "/nonexistent/ca.pem".into(),
            ..TlsOptions::default()
        };
        assert!(missing
            .client_config()
            .unwrap_err()
            .contains("/nonexistent/ca.pem"));
        let half = TlsOptions {
            cert: "/x.pem".into(),
            ..TlsOptions::default()
        };
        assert!(half.client_config().unwrap_err().contains("together"));
    }
}
