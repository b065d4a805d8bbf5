//! HTTPS with a self-signed certificate (rustls with the ring provider, rcgen),
//! for clients that insist on TLS (the ArcGIS API for Python's `GIS` rewrites every
//! URL to https).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

/// Creates a self-signed certificate for `localhost`, `127.0.0.1` and `::1`, writes
/// it as PEM to `dir/cert.pem` (so clients can trust it), and returns the acceptor.
pub(crate) fn self_signed_acceptor(dir: &Path) -> Result<TlsAcceptor, String> {
    let names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let ck = rcgen::generate_simple_self_signed(names)
        .map_err(|e| format!("creating a certificate: {e}"))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let pem = dir.join("cert.pem");
    gp_fs::write_atomic(
        &pem,
        ck.cert.pem().as_bytes(),
        gp_fs::Options::new(true, gp_fs::Flush::Data),
    )
    .map_err(|e| e.to_string())?;
    let cert: CertificateDer<'static> = ck.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS versions: {e}"))?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .map_err(|e| format!("TLS certificate: {e}"))?;
    let mut config = config;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
