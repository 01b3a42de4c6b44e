//! The `[control]` section: where the control endpoint (gRPC and the
//! Prometheus metrics) listens, and how it is secured.
//!
//! ```toml
//! [control]                         # optional, as are all its keys
//! listen = "127.0.0.1:50051"        # gRPC over TCP; "" or "none": no TCP
//! unix = "/run/weir/weir.sock"      # gRPC on a Unix socket too (default none)
//! metrics = "127.0.0.1:9469"        # Prometheus /metrics; "" or "none": off
//! tls = { cert = "server.pem", key = "server.key", client_ca = "ca.pem" }
//! token_file = "token"              # bearer token: the file's first line
//! # token = "..."                   # or inline (a file is better: the config
//! #                                 # text is shown by GetConfig and kept in
//! #                                 # version control)
//! ```
//!
//! Relative paths (`unix`, the `tls` files, `token_file`) are joined to the
//! config file's directory. The files are read and checked when the config
//! is validated, so `weir check` catches a missing or broken certificate.
//!
//! A listening address that is not a loopback address (127.0.0.0/8, `::1`)
//! is accepted only with TLS (`cert` and `key`) and a way to tell clients
//! apart: client certificates (`tls.client_ca`) or a token, or both.

use std::fmt;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{Error as TlsError, InconsistentKeys, RootCertStore};

use super::error::RawDiag;
use super::raw::{Field, RawControl, RawControlTls};

/// Default gRPC port.
pub const DEFAULT_CONTROL_PORT: u16 = 50051;
/// Default Prometheus metrics port.
pub const DEFAULT_METRICS_PORT: u16 = 9469;
/// Default gRPC address: `127.0.0.1:50051`.
pub const DEFAULT_CONTROL_LISTEN: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, DEFAULT_CONTROL_PORT));
/// Default metrics address: `127.0.0.1:9469`.
pub const DEFAULT_METRICS_LISTEN: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, DEFAULT_METRICS_PORT));

/// Longest Unix socket path, in bytes (`sun_path` holds 108 with the NUL).
const MAX_UNIX_PATH: usize = 107;
/// Largest certificate, key or token file read.
const MAX_FILE: u64 = 1 << 20;

/// The `[control]` section, resolved: the control endpoint's addresses
/// and security. Without the section: gRPC on `127.0.0.1:50051`, metrics
/// on `127.0.0.1:9469`, no Unix socket, no TLS, no token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControlEndpoint {
    /// gRPC over TCP; `None` when disabled (`listen = "none"`).
    pub listen: Option<ListenAddr>,
    /// gRPC on a Unix socket (path joined to the config's directory; its
    /// directory exists). Not covered by TLS: the socket's file
    /// permissions guard it, and the token, if set, is still required.
    pub unix: Option<PathBuf>,
    /// Prometheus metrics over HTTP; `None` when disabled.
    pub metrics: Option<ListenAddr>,
    /// TLS for the TCP listeners (gRPC and metrics).
    pub tls: Option<ControlTls>,
    /// The bearer token clients must present, if any.
    pub token: Option<Token>,
}

impl Default for ControlEndpoint {
    fn default() -> Self {
        ControlEndpoint {
            listen: Some(ListenAddr {
                addr: DEFAULT_CONTROL_LISTEN,
                explicit: false,
            }),
            unix: None,
            metrics: Some(ListenAddr {
                addr: DEFAULT_METRICS_LISTEN,
                explicit: false,
            }),
            tls: None,
            token: None,
        }
    }
}

impl ControlEndpoint {
    /// Whether clients must prove who they are: with a certificate signed
    /// by `tls.client_ca`, or with the token.
    pub fn authenticates_clients(&self) -> bool {
        self.token.is_some() || self.tls.as_ref().is_some_and(|t| t.client_ca.is_some())
    }
}

/// A TCP address to listen on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ListenAddr {
    /// The address and port (port 0: any free port).
    pub addr: SocketAddr,
    /// Whether the config gave it (else it is the default). A busy default
    /// port is a warning at run time; a busy explicit one an error.
    pub explicit: bool,
}

impl ListenAddr {
    /// Whether only this machine can reach it (127.0.0.0/8, `::1`, or an
    /// IPv4-mapped loopback address).
    pub fn is_loopback(&self) -> bool {
        is_loopback(self.addr.ip())
    }
}

/// Whether `ip` is a loopback address (IPv4-mapped ones included).
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// `tls = { cert, key, client_ca }`: the server's certificate and key, and
/// the CA that signs client certificates. The PEM contents are read when
/// the config is validated; they are what the endpoint uses (a renewed
/// certificate takes effect when the config is applied again).
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct ControlTls {
    /// Certificate chain file (PEM), leaf first.
    pub cert: PathBuf,
    /// Private key file (PEM: PKCS#8, PKCS#1 or SEC1), matching `cert`.
    pub key: PathBuf,
    /// CA certificates (PEM) that client certificates must chain to; when
    /// set, every TLS client must present one.
    pub client_ca: Option<PathBuf>,
    /// The contents of `cert`.
    #[serde(skip)]
    pub cert_pem: Vec<u8>,
    /// The contents of `key`.
    #[serde(skip)]
    pub key_pem: Secret<Vec<u8>>,
    /// The contents of `client_ca`.
    #[serde(skip)]
    pub client_ca_pem: Option<Vec<u8>>,
}

impl fmt::Debug for ControlTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ControlTls")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .field("client_ca", &self.client_ca)
            .finish_non_exhaustive()
    }
}

/// The bearer token: clients send `authorization: Bearer <token>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Token {
    /// Where it came from.
    pub source: TokenSource,
    /// The token: 1 or more printable ASCII characters, no spaces.
    #[serde(skip)]
    pub secret: Secret<Arc<str>>,
}

/// Where a [`Token`] came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// The first line of this file (`token_file`).
    File(PathBuf),
    /// Written in the config (`token`).
    Inline,
}

/// A value that is never printed: `Debug` shows `Secret(..)` and it is
/// not serialized.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wrap a secret.
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The secret itself.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

struct Diags<'a>(&'a mut Vec<RawDiag>);

impl Diags<'_> {
    fn err<T>(&mut self, f: &Field<T>, field: &str, message: impl Into<String>) {
        if let Some(v) = f.get() {
            self.0.push(RawDiag {
                span: v.span(),
                field: field.to_owned(),
                message: message.into(),
            });
        }
    }

    /// Apply `check` to a present string field, reporting its error.
    fn check<T>(
        &mut self,
        f: &Field<String>,
        field: &str,
        check: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let v = f.get()?;
        match check(v.get_ref()) {
            Ok(t) => Some(t),
            Err(e) => {
                self.err(f, field, e);
                None
            }
        }
    }
}

/// Resolve `[control]` (absent: the defaults); relative paths are joined
/// to `dir`. Problems go to `diags`.
pub(super) fn resolve(
    raw: Option<&RawControl>,
    dir: &Path,
    diags: &mut Vec<RawDiag>,
) -> ControlEndpoint {
    let Some(raw) = raw else {
        return ControlEndpoint::default();
    };
    let mut d = Diags(diags);
    let before = d.0.len();

    let listen = address(
        &raw.listen,
        "control.listen",
        DEFAULT_CONTROL_LISTEN,
        &mut d,
    );
    let metrics = address(
        &raw.metrics,
        "control.metrics",
        DEFAULT_METRICS_LISTEN,
        &mut d,
    );
    if let (Some(Some(l)), Some(Some(m))) = (listen, metrics) {
        if l.addr == m.addr && l.addr.port() != 0 {
            d.err(
                &raw.metrics,
                "control.metrics",
                format!("{} is also control.listen", m.addr),
            );
        }
    }
    let unix = d.check(&raw.unix, "control.unix", |s| unix_path(s, dir));

    let tls = match raw.tls.get() {
        Some(t) => tls(t.get_ref(), t.span(), dir, &mut d),
        None => None,
    };

    if let (Some(_), Some(_)) = (raw.token_file.get(), raw.token.get()) {
        d.err(
            &raw.token,
            "control.token",
            "set control.token or control.token_file, not both",
        );
    }
    let token = if let Some(t) = d.check(&raw.token_file, "control.token_file", |s| {
        token_file(s, dir)
    }) {
        Some(t)
    } else if raw.token_file.is_absent() {
        d.check(&raw.token, "control.token", |s| {
            check_token(s).map(|()| Token {
                source: TokenSource::Inline,
                secret: Secret::new(s.into()),
            })
        })
    } else {
        None
    };

    // Open to the network: only with TLS and client authentication. Left
    // out when the section has other mistakes (one message per mistake).
    let invalid = matches!(raw.tls, Field::Invalid)
        || matches!(raw.token, Field::Invalid)
        || matches!(raw.token_file, Field::Invalid)
        || raw
            .tls
            .get()
            .is_some_and(|t| matches!(t.get_ref().client_ca, Field::Invalid));
    if d.0.len() == before && !invalid {
        let has_tls = !raw.tls.is_absent();
        let has_ca = raw
            .tls
            .get()
            .is_some_and(|t| !t.get_ref().client_ca.is_absent());
        let has_token = !raw.token_file.is_absent() || !raw.token.is_absent();
        for (f, addr, field) in [
            (&raw.listen, listen, "control.listen"),
            (&raw.metrics, metrics, "control.metrics"),
        ] {
            let Some(Some(a)) = addr else { continue };
            if a.is_loopback() {
                continue;
            }
            let how = match (has_tls, has_ca || has_token) {
                (true, true) => continue,
                (false, false) => {
                    "set control.tls (cert, key) and control.tls.client_ca or control.token_file"
                }
                (true, false) => {
                    "TLS alone lets anyone connect: set control.tls.client_ca or \
                        control.token_file too"
                }
                (false, true) => {
                    "the token would cross the network in clear: set control.tls (cert, key)"
                }
            };
            d.err(
                f,
                field,
                format!("{} is not a loopback address: {how}", a.addr),
            );
        }
    }

    ControlEndpoint {
        listen: listen.flatten(),
        unix,
        metrics: metrics.flatten(),
        tls,
        token,
    }
}

/// An address field: absent is `default`; `Some(None)` when disabled;
/// `None` when invalid (reported).
fn address(
    f: &Field<String>,
    field: &str,
    default: SocketAddr,
    d: &mut Diags<'_>,
) -> Option<Option<ListenAddr>> {
    match f {
        Field::Absent => Some(Some(ListenAddr {
            addr: default,
            explicit: false,
        })),
        Field::Invalid => None,
        Field::Present(_) => d.check(f, field, |s| {
            if s.is_empty() || s == "none" {
                return Ok(None);
            }
            s.parse::<SocketAddr>()
                .map(|addr| {
                    Some(ListenAddr {
                        addr,
                        explicit: true,
                    })
                })
                .map_err(|_| {
                    format!(
                        "\"{s}\" is not an address and port, such as \"{default}\" or \
                            \"[::1]:{}\" (\"none\" turns it off)",
                        default.port()
                    )
                })
        }),
    }
}

fn unix_path(s: &str, dir: &Path) -> Result<PathBuf, String> {
    if s.is_empty() {
        return Err("empty path".into());
    }
    let path = dir.join(s);
    let len = path.as_os_str().len();
    if len > MAX_UNIX_PATH {
        return Err(format!(
            "{} is {len} bytes long; a Unix socket path is at most {MAX_UNIX_PATH}",
            path.display()
        ));
    }
    if path.is_dir() {
        return Err(format!("{} is a directory", path.display()));
    }
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() && !p.is_dir() => Err(format!(
            "directory not found: {} (for {})",
            p.display(),
            path.display()
        )),
        _ => Ok(path),
    }
}

/// Read a file of at most [`MAX_FILE`] bytes, `what` naming it in errors.
fn read_file(s: &str, dir: &Path, what: &str) -> Result<(PathBuf, Vec<u8>), String> {
    if s.is_empty() {
        return Err("empty path".into());
    }
    let path = dir.join(s);
    if path.is_dir() {
        return Err(format!("{} is a directory, not {what}", path.display()));
    }
    let file = std::fs::File::open(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("file not found: {}", path.display()),
        _ => format!("cannot read {}: {e}", path.display()),
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(format!(
            "{} is larger than {} KiB; is it {what}?",
            path.display(),
            MAX_FILE >> 10
        ));
    }
    Ok((path, bytes))
}

/// The certificates of a PEM file (at least one).
fn pem_certs(path: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: bad PEM: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "no certificate (-----BEGIN CERTIFICATE-----) in {}",
            path.display()
        ));
    }
    Ok(certs)
}

fn tls(
    t: &RawControlTls,
    span: std::ops::Range<usize>,
    dir: &Path,
    d: &mut Diags<'_>,
) -> Option<ControlTls> {
    for (f, key) in [(&t.cert, "cert"), (&t.key, "key")] {
        if f.is_absent() {
            d.0.push(RawDiag {
                span: span.clone(),
                field: format!("control.tls.{key}"),
                message: "missing (required)".into(),
            });
        }
    }
    let cert = d.check(&t.cert, "control.tls.cert", |s| {
        let (path, pem) = read_file(s, dir, "a certificate")?;
        let certs = pem_certs(&path, &pem)?;
        Ok((path, pem, certs))
    });
    let key = d.check(&t.key, "control.tls.key", |s| {
        let (path, pem) = read_file(s, dir, "a private key")?;
        let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
            pem::Error::NoItemsFound => format!(
                "no private key (-----BEGIN PRIVATE KEY-----, or RSA or EC PRIVATE KEY) in {}",
                path.display()
            ),
            e => format!("{}: bad PEM: {e}", path.display()),
        })?;
        Ok((path, pem, key))
    });
    let client_ca = d.check(&t.client_ca, "control.tls.client_ca", |s| {
        let (path, pem) = read_file(s, dir, "a certificate")?;
        let mut roots = RootCertStore::empty();
        for cert in pem_certs(&path, &pem)? {
            roots
                .add(cert)
                .map_err(|e| format!("{}: not a usable CA certificate: {e}", path.display()))?;
        }
        Ok((path, pem))
    });

    let ((cert, cert_pem, chain), (key, key_pem, der)) = (cert?, key?);
    match CertifiedKey::from_der(chain, der, &ring::default_provider()) {
        Ok(_) => {}
        Err(TlsError::InconsistentKeys(InconsistentKeys::KeyMismatch)) => {
            d.err(
                &t.key,
                "control.tls.key",
                format!(
                    "{} is not the key of the certificate in {}",
                    key.display(),
                    cert.display()
                ),
            );
            return None;
        }
        Err(TlsError::General(e)) => {
            d.err(&t.key, "control.tls.key", format!("{}: {e}", key.display()));
            return None;
        }
        Err(e) => {
            d.err(
                &t.cert,
                "control.tls.cert",
                format!("{}: bad certificate: {e}", cert.display()),
            );
            return None;
        }
    }
    if t.client_ca.get().is_some() && client_ca.is_none() {
        return None;
    }
    let (client_ca, client_ca_pem) = client_ca.unzip();
    Some(ControlTls {
        cert,
        key,
        client_ca,
        cert_pem,
        key_pem: Secret::new(key_pem),
        client_ca_pem,
    })
}

/// A token: printable ASCII without spaces, as an HTTP header carries it.
fn check_token(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("empty token".into());
    }
    if !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(
            "the token may only have printable ASCII characters, without spaces (it is sent \
                in an HTTP header)"
                .into(),
        );
    }
    Ok(())
}

fn token_file(s: &str, dir: &Path) -> Result<Token, String> {
    let (path, bytes) = read_file(s, dir, "a token")?;
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = std::str::from_utf8(line)
        .map_err(|_| format!("the first line of {} is not text", path.display()))?
        .trim();
    if line.is_empty() {
        return Err(format!(
            "{} has no token: its first line is empty",
            path.display()
        ));
    }
    check_token(line).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Token {
        source: TokenSource::File(path),
        secret: Secret::new(line.into()),
    })
}
