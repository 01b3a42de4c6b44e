//! Connecting to the control endpoint: TCP (plain or TLS) or a Unix
//! socket, with the bearer token on every call, and errors that say which
//! address was tried.

use anyhow::{anyhow, bail, Context, Result};
use ctrl::api::proto::weir_client::WeirClient;
use std::error::Error as StdError;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Code, Status};

/// How to reach the control endpoint (the global options of `weir ctl`).
#[derive(Clone, Debug, clap::Args)]
pub struct ConnectOptions {
    /// The control endpoint: HOST:PORT, http(s)://HOST:PORT, or a Unix
    /// socket as unix:/PATH or /PATH.
    #[arg(
        long,
        global = true,
        env = "WEIR_ADDRESS",
        default_value = "127.0.0.1:50051",
        value_name = "ADDR"
    )]
    pub address: String,
    /// CA certificate (PEM) to verify the endpoint with; turns TLS on.
    #[arg(long, global = true, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS; needs --tls-key.
    #[arg(long, global = true, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) of the client certificate.
    #[arg(long, global = true, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Sent as `authorization: Bearer TOKEN` on every call.
    #[arg(
        long,
        global = true,
        env = "WEIR_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
}

/// Adds the bearer token to every request.
#[derive(Clone, Debug)]
pub struct Auth(Option<MetadataValue<Ascii>>);

impl tonic::service::Interceptor for Auth {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

/// The generated client over a channel that carries the token.
pub type Client = WeirClient<InterceptedService<Channel, Auth>>;

/// Where a `--address` points.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    /// A URI tonic connects to over TCP (`http://` or `https://`).
    Tcp(String),
    /// A Unix socket path.
    Unix(String),
}

impl Target {
    fn parse(address: &str, tls: bool) -> Result<Target> {
        if let Some(path) = address.strip_prefix("unix:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                bail!("--address unix: needs a socket path, e.g. unix:/run/weir.sock");
            }
            return Ok(Target::Unix(path.to_string()));
        }
        if address.starts_with('/') {
            return Ok(Target::Unix(address.to_string()));
        }
        if address.starts_with("http://") || address.starts_with("https://") {
            if address.starts_with("http://") && tls {
                bail!("--address {address} is plain http but --tls-ca asks for TLS; use https://");
            }
            return Ok(Target::Tcp(address.to_string()));
        }
        let scheme = if tls { "https" } else { "http" };
        Ok(Target::Tcp(format!("{scheme}://{address}")))
    }
}

/// A connection to the endpoint, and how it was made (for error
/// messages).
pub struct Session {
    client: Client,
    address: String,
    tls: Tls,
}

/// Whether a session uses TLS, and a client certificate.
#[derive(Clone, Copy, Debug)]
enum Tls {
    Off,
    ServerOnly,
    Mutual,
}

impl Session {
    /// Connects, or says why it could not.
    pub async fn open(opts: &ConnectOptions) -> Result<Session> {
        Ok(Session {
            client: connect(opts).await?,
            address: opts.address.clone(),
            tls: match (&opts.tls_ca, &opts.tls_cert) {
                (None, _) => Tls::Off,
                (Some(_), None) => Tls::ServerOnly,
                (Some(_), Some(_)) => Tls::Mutual,
            },
        })
    }

    /// Makes one call: `f` gets a handle on the connection.
    pub async fn try_call<Rep, Fut>(&self, f: impl FnOnce(Client) -> Fut) -> Result<Rep, Status>
    where
        Fut: Future<Output = Result<tonic::Response<Rep>, Status>>,
    {
        f(self.client.clone())
            .await
            .map(tonic::Response::into_inner)
    }

    /// Makes one call, named `rpc` in its error message.
    pub async fn call<Rep, Fut>(&self, rpc: &str, f: impl FnOnce(Client) -> Fut) -> Result<Rep>
    where
        Fut: Future<Output = Result<tonic::Response<Rep>, Status>>,
    {
        self.try_call(f).await.map_err(|s| self.error(rpc, &s))
    }

    /// An error status of `rpc` as a readable error.
    pub fn error(&self, rpc: &str, s: &Status) -> anyhow::Error {
        status_error(&self.address, self.tls, rpc, s)
    }
}

/// Opens a connection to the endpoint, or says why it could not.
async fn connect(opts: &ConnectOptions) -> Result<Client> {
    let tls = opts.tls_ca.is_some();
    let target = Target::parse(&opts.address, tls)?;
    let uri = match &target {
        Target::Tcp(uri) => uri.clone(),
        Target::Unix(path) => {
            if tls || opts.tls_cert.is_some() {
                bail!("TLS is not used over a Unix socket: drop --tls-ca/--tls-cert/--tls-key");
            }
            format!("unix:{path}")
        }
    };
    if uri.starts_with("https://") && !tls {
        bail!(
            "--address {} needs --tls-ca FILE (no system roots are built in)",
            opts.address
        );
    }
    if opts.tls_cert.is_some() && !tls {
        bail!("--tls-cert needs --tls-ca (the CA to verify the endpoint with)");
    }
    let mut endpoint = Endpoint::from_shared(uri)
        .with_context(|| format!("--address {}: not an address", opts.address))?
        .connect_timeout(Duration::from_secs(5));
    if let Some(ca) = &opts.tls_ca {
        endpoint = endpoint
            .tls_config(tls_config(opts, ca)?)
            .context("setting up TLS")?;
    }
    let auth = match &opts.token {
        Some(t) => Some(
            format!("Bearer {t}")
                .parse()
                .map_err(|_| anyhow!("--token: only visible ASCII characters are allowed"))?,
        ),
        None => None,
    };
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| unreachable(&opts.address, &reason(&e)))?;
    Ok(WeirClient::with_interceptor(channel, Auth(auth)))
}

fn tls_config(opts: &ConnectOptions, ca: &Path) -> Result<ClientTlsConfig> {
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    let mut cfg = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read(ca)?));
    if let (Some(cert), Some(key)) = (&opts.tls_cert, &opts.tls_key) {
        cfg = cfg.identity(Identity::from_pem(read(cert)?, read(key)?));
    }
    Ok(cfg)
}

fn unreachable(address: &str, why: &str) -> anyhow::Error {
    let lower = why.to_ascii_lowercase();
    if ["certificate", "tls", "handshake", "issuer"]
        .iter()
        .any(|w| lower.contains(w))
    {
        // Something answered: the TLS settings are what is wrong.
        return anyhow!(
            "cannot reach the control endpoint at {address}: {why} \
             (check --tls-ca, --tls-cert and --tls-key)"
        );
    }
    anyhow!(
        "cannot reach the control endpoint at {address}: {why} \
         (is weir running? --address sets another)"
    )
}

/// The innermost cause of a connection error, in a few words.
fn reason(e: &(dyn StdError + 'static)) -> String {
    let mut cause: &(dyn StdError + 'static) = e;
    loop {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return io_reason(io);
        }
        match cause.source() {
            Some(next) => cause = next,
            None => return cause.to_string(),
        }
    }
}

fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => "connection refused".into(),
        K::NotFound => "no such socket".into(),
        K::PermissionDenied => "permission denied".into(),
        K::TimedOut => "timed out".into(),
        K::ConnectionReset => "connection reset".into(),
        _ => e.to_string(),
    }
}

/// An error status of `rpc` as one line, with a hint where one helps.
fn status_error(address: &str, tls: Tls, rpc: &str, s: &Status) -> anyhow::Error {
    let msg = s.message();
    // A status with a source, or an HTTP/2 error, was made by the
    // client's transport, not sent by the router.
    let transport = s.source().map(reason).or_else(|| {
        (s.code() == Code::Internal && msg.starts_with("h2 protocol error"))
            .then(|| msg.to_string())
    });
    if let (Some(why), false) = (&transport, s.code() == Code::Unavailable) {
        let hint = match tls {
            Tls::Off => " (does it use TLS? --tls-ca turns TLS on)",
            Tls::ServerOnly => " (does it want a client certificate? --tls-cert and --tls-key)",
            Tls::Mutual => "",
        };
        return anyhow!(
            "{rpc}: the connection to the control endpoint at {address} failed: {why}{hint}"
        );
    }
    match s.code() {
        Code::Unavailable => {
            let why = s.source().map(reason).unwrap_or_else(|| msg.to_string());
            unreachable(address, &why)
        }
        Code::Unauthenticated => {
            anyhow!("{rpc}: not authenticated: {msg} (--token or WEIR_TOKEN sets the token)")
        }
        Code::PermissionDenied => anyhow!("{rpc}: permission denied: {msg}"),
        Code::Unimplemented => {
            anyhow!("{rpc}: the router at {address} does not implement this call ({msg})")
        }
        code => anyhow!("{rpc}: {msg} ({code:?})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let t = |a: &str, tls| Target::parse(a, tls).unwrap();
        assert_eq!(
            t("127.0.0.1:50051", false),
            Target::Tcp("http://127.0.0.1:50051".into())
        );
        assert_eq!(
            t("router:50051", true),
            Target::Tcp("https://router:50051".into())
        );
        assert_eq!(t("https://r:1", true), Target::Tcp("https://r:1".into()));
        assert_eq!(
            t("unix:/run/weir.sock", false),
            Target::Unix("/run/weir.sock".into())
        );
        assert_eq!(
            t("unix:///run/weir.sock", false),
            Target::Unix("/run/weir.sock".into())
        );
        assert_eq!(
            t("/run/weir.sock", false),
            Target::Unix("/run/weir.sock".into())
        );
        assert!(Target::parse("unix:", false).is_err());
        assert!(Target::parse("http://r:1", true).is_err());
    }

    #[test]
    fn io_errors_in_a_few_words() {
        let e = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let wrapped: Box<dyn StdError + Send + Sync> = Box::new(e);
        assert_eq!(reason(wrapped.as_ref()), "connection refused");
        let msg = unreachable("127.0.0.1:1", "connection refused").to_string();
        assert_eq!(
            msg,
            "cannot reach the control endpoint at 127.0.0.1:1: connection refused \
             (is weir running? --address sets another)"
        );
    }
}
