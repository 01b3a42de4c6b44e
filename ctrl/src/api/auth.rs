//! Securing the control endpoint: TLS (with client certificates when the
//! config names a client CA) and a bearer token.
//!
//! [`EndpointSecurity::from_config`] turns the `[control]` section into what
//! the servers need:
//!
//! - gRPC: [`EndpointSecurity::tls`] for `Server::builder().tls_config(..)`
//!   (TCP only: the Unix socket is guarded by its file permissions), and
//!   [`EndpointSecurity::interceptor`] for
//!   `WeirServer::with_interceptor(service, ..)`, which turns away calls
//!   without the token with `UNAUTHENTICATED`;
//! - metrics: [`EndpointSecurity::rustls_config`] (the same certificates,
//!   for HTTP/1.1) and [`EndpointSecurity::check_bearer`].
//!
//! Clients send the token as `authorization: Bearer <token>` (gRPC
//! metadata or HTTP header); it is compared in constant time.
//!
//! [`require_loopback_or_secure`] is the run-time twin of the config's
//! check: a listener on an address other than loopback needs TLS and client
//! authentication.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};
use tonic::metadata::MetadataMap;
use tonic::service::Interceptor;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};
use tonic::{Request, Status};

use crate::config::{is_loopback, ControlEndpoint, ControlTls};

/// How long a client has to finish the TLS handshake.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the control endpoint's servers need to secure themselves: TLS
/// configs (gRPC and HTTP) and the bearer token. `Default` is neither
/// (fit for loopback only).
#[derive(Clone, Default)]
pub struct EndpointSecurity {
    tls: Option<ServerTlsConfig>,
    rustls: Option<Arc<ServerConfig>>,
    client_certs: bool,
    token: Option<Arc<str>>,
}

impl fmt::Debug for EndpointSecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointSecurity")
            .field("tls", &self.tls.is_some())
            .field("client_certs", &self.client_certs)
            .field("token", &self.token.is_some())
            .finish()
    }
}

impl EndpointSecurity {
    /// Build TLS configs and take the token from a resolved `[control]`
    /// section. Fails only if the certificate or key (already checked by
    /// the config) is refused by the TLS library.
    pub fn from_config(endpoint: &ControlEndpoint) -> Result<EndpointSecurity> {
        if endpoint.tls.is_some() {
            // tonic builds its rustls config with the process's default
            // crypto provider; make it ring (as ours) whatever else the
            // build has enabled. Only the first call in a process counts.
            let _ = ring::default_provider().install_default();
        }
        let (tls, rustls, client_certs) = match &endpoint.tls {
            None => (None, None, false),
            Some(t) => (
                Some(tonic_tls(t)),
                Some(rustls_config(t, &[b"http/1.1"])?),
                t.client_ca_pem.is_some(),
            ),
        };
        Ok(EndpointSecurity {
            tls,
            rustls,
            client_certs,
            token: endpoint.token.as_ref().map(|t| t.secret.expose().clone()),
        })
    }

    /// No TLS and no token: for loopback listeners (and tests).
    pub fn insecure() -> EndpointSecurity {
        EndpointSecurity::default()
    }

    /// The same security with `token` as the bearer token (`None`: none).
    pub fn with_token(mut self, token: Option<&str>) -> EndpointSecurity {
        self.token = token.map(Arc::from);
        self
    }

    /// The gRPC server's TLS config (client certificates required when
    /// the config names a client CA; a 10 s handshake timeout), if TLS is
    /// on.
    pub fn tls(&self) -> Option<&ServerTlsConfig> {
        self.tls.as_ref()
    }

    /// The rustls server config for the HTTP (metrics) listener, ALPN
    /// `http/1.1`, if TLS is on.
    pub fn rustls_config(&self) -> Option<Arc<ServerConfig>> {
        self.rustls.clone()
    }

    /// Whether TLS clients must present a certificate signed by the
    /// client CA.
    pub fn requires_client_certs(&self) -> bool {
        self.client_certs
    }

    /// Whether callers must present the bearer token.
    pub fn requires_token(&self) -> bool {
        self.token.is_some()
    }

    /// Whether a listener with this security may face the network: TLS,
    /// and client certificates or a token.
    pub fn is_secure(&self) -> bool {
        self.tls.is_some() && (self.client_certs || self.token.is_some())
    }

    /// Whether the value of an `authorization` header lets its sender in:
    /// always without a token; else `Bearer <token>` (the scheme in any
    /// case), compared in constant time.
    pub fn check_bearer(&self, header: Option<&[u8]>) -> bool {
        match &self.token {
            None => true,
            Some(token) => header
                .and_then(bearer)
                .is_some_and(|given| constant_time_eq(given, token.as_bytes())),
        }
    }

    /// Check a gRPC request's `authorization` metadata: `Ok` without a
    /// token, else `UNAUTHENTICATED` unless it is `Bearer <token>`.
    pub fn check_token(&self, req: &Request<()>) -> Result<(), Status> {
        check_metadata(self.token.as_deref(), req.metadata())
    }

    /// A tonic interceptor doing [`EndpointSecurity::check_token`] on every
    /// call: `WeirServer::with_interceptor(service, security.interceptor())`.
    pub fn interceptor(&self) -> TokenInterceptor {
        TokenInterceptor {
            token: self.token.clone(),
        }
    }
}

/// Checks the bearer token of every gRPC call (see
/// [`EndpointSecurity::interceptor`]).
#[derive(Clone)]
pub struct TokenInterceptor {
    token: Option<Arc<str>>,
}

impl fmt::Debug for TokenInterceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenInterceptor")
            .field("token", &self.token.is_some())
            .finish()
    }
}

impl Interceptor for TokenInterceptor {
    fn call(&mut self, req: Request<()>) -> Result<Request<()>, Status> {
        check_metadata(self.token.as_deref(), req.metadata())?;
        Ok(req)
    }
}

fn check_metadata(token: Option<&str>, md: &MetadataMap) -> Result<(), Status> {
    let Some(token) = token else {
        return Ok(());
    };
    let Some(value) = md.get("authorization") else {
        return Err(Status::unauthenticated(
            "this endpoint needs a token: send `authorization: Bearer <token>`",
        ));
    };
    match bearer(value.as_bytes()) {
        Some(given) if constant_time_eq(given, token.as_bytes()) => Ok(()),
        Some(_) => Err(Status::unauthenticated("wrong token")),
        None => Err(Status::unauthenticated(
            "the authorization is not `Bearer <token>`",
        )),
    }
}

/// The token of `Bearer <token>` (scheme in any case, spaces around).
fn bearer(value: &[u8]) -> Option<&[u8]> {
    let value = value.trim_ascii();
    let (scheme, rest) = value.split_at_checked(6)?;
    if !scheme.eq_ignore_ascii_case(b"bearer") || !rest.first()?.is_ascii_whitespace() {
        return None;
    }
    Some(rest.trim_ascii_start())
}

/// Whether `given` equals `secret`, in a time that depends on the length
/// of `secret` only (and not on where they first differ).
pub fn constant_time_eq(given: &[u8], secret: &[u8]) -> bool {
    let mut diff = u8::from(given.len() != secret.len());
    for (i, &s) in secret.iter().enumerate() {
        diff |= given.get(i).copied().unwrap_or(0) ^ s;
    }
    std::hint::black_box(diff) == 0
}

fn tonic_tls(t: &ControlTls) -> ServerTlsConfig {
    let mut tls = ServerTlsConfig::new()
        .identity(Identity::from_pem(&t.cert_pem, t.key_pem.expose()))
        .timeout(TLS_HANDSHAKE_TIMEOUT);
    if let Some(ca) = &t.client_ca_pem {
        tls = tls.client_ca_root(Certificate::from_pem(ca));
    }
    tls
}

/// A rustls server config from the config's certificates, with the ring
/// provider, offering `alpn`.
fn rustls_config(t: &ControlTls, alpn: &[&[u8]]) -> Result<Arc<ServerConfig>> {
    let provider = Arc::new(ring::default_provider());
    let chain = CertificateDer::pem_slice_iter(&t.cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{}", t.cert.display()))?;
    let key = PrivateKeyDer::from_pem_slice(t.key_pem.expose())
        .with_context(|| format!("{}", t.key.display()))?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?;
    let builder = match &t.client_ca_pem {
        None => builder.with_no_client_auth(),
        Some(pem) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem) {
                roots.add(cert?)?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                .build()
                .context("client certificate verifier")?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .with_context(|| format!("{} and {}", t.cert.display(), t.key.display()))?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// The second line of defence, at run time: a listener on `addr` is
/// allowed if `addr` is loopback, or if `security` has TLS and client
/// authentication (client certificates or a token).
pub fn require_loopback_or_secure(addr: SocketAddr, security: &EndpointSecurity) -> Result<()> {
    if is_loopback(addr.ip()) || security.is_secure() {
        return Ok(());
    }
    let missing = if security.tls.is_none() {
        "TLS"
    } else {
        "client authentication (a client CA or a token)"
    };
    bail!(
        "refusing to listen on {addr}: it is not a loopback address and the endpoint has no \
            {missing}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_compare() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3cres", b"s3cret"));
        assert!(!constant_time_eq(b"s3cre", b"s3cret"));
        assert!(!constant_time_eq(b"s3crett", b"s3cret"));
        assert!(!constant_time_eq(b"", b"s3cret"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn bearer_header() {
        assert_eq!(bearer(b"Bearer abc"), Some(&b"abc"[..]));
        assert_eq!(bearer(b"bearer   abc "), Some(&b"abc"[..]));
        assert_eq!(bearer(b"BEARER\tabc"), Some(&b"abc"[..]));
        assert_eq!(bearer(b"Bearerabc"), None);
        assert_eq!(bearer(b"Basic abc"), None);
        assert_eq!(bearer(b"Bear"), None);
        assert_eq!(bearer(b""), None);
    }

    #[test]
    fn token_checks() {
        let open = EndpointSecurity::insecure();
        assert!(open.check_bearer(None));
        assert!(open.check_token(&Request::new(())).is_ok());

        let sec = EndpointSecurity::insecure().with_token(Some("t0k"));
        assert!(sec.check_bearer(Some(b"Bearer t0k")));
        assert!(!sec.check_bearer(Some(b"Bearer t0")));
        assert!(!sec.check_bearer(None));
        let mut req = Request::new(());
        assert_eq!(
            sec.check_token(&req).unwrap_err().code(),
            tonic::Code::Unauthenticated
        );
        req.metadata_mut()
            .insert("authorization", "Bearer nope".parse().unwrap());
        assert_eq!(
            sec.check_token(&req).unwrap_err().code(),
            tonic::Code::Unauthenticated
        );
        req.metadata_mut()
            .insert("authorization", "Bearer t0k".parse().unwrap());
        assert!(sec.check_token(&req).is_ok());
        assert!(sec.interceptor().call(req).is_ok());
    }

    #[test]
    fn loopback_or_secure() {
        let open = EndpointSecurity::insecure();
        for ok in [
            "127.0.0.1:1",
            "127.9.9.9:1",
            "[::1]:1",
            "[::ffff:127.0.0.1]:1",
        ] {
            require_loopback_or_secure(ok.parse().unwrap(), &open).unwrap();
        }
        for bad in ["0.0.0.0:1", "[::]:1", "192.0.2.1:50051"] {
            let e = require_loopback_or_secure(bad.parse().unwrap(), &open).unwrap_err();
            assert!(e.to_string().contains("no TLS"), "{e}");
        }
        // A token without TLS is not enough.
        let token = EndpointSecurity::insecure().with_token(Some("x"));
        assert!(require_loopback_or_secure("0.0.0.0:1".parse().unwrap(), &token).is_err());
    }
}
