//! The `[control]` section: defaults, addresses, TLS files, tokens, and
//! one test per kind of mistake, each with its exact line, column and
//! field.

#[path = "support/certs.rs"]
mod certs;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use certs::{scratch, Ca};
use ctrl::config::{
    Config, ConfigError, ControlEndpoint, Diagnostic, Env, ListenAddr, TokenSource,
    DEFAULT_CONTROL_LISTEN, DEFAULT_METRICS_LISTEN,
};

const ENV: Env = Env { cpus: 4 };

/// Check `text` as the file `dir/weir.toml`.
fn check_in(dir: &Path, text: &str) -> Result<Config, ConfigError> {
    Config::from_str_with(text, &dir.join("weir.toml"), &ENV)
}

fn ok_in(dir: &Path, text: &str) -> Config {
    check_in(dir, text).unwrap_or_else(|e| panic!("rejected:\n{e}"))
}

fn ok(text: &str) -> Config {
    ok_in(Path::new("/nonexistent"), text)
}

/// Exactly one error, at `line:col`, on `field`, whose message contains
/// `needle`.
#[track_caller]
fn one_error_in(
    dir: &Path,
    text: &str,
    line: usize,
    col: usize,
    field: &str,
    needle: &str,
) -> Diagnostic {
    let e = match check_in(dir, text) {
        Ok(c) => panic!("accepted:\n{c}"),
        Err(e) => e,
    };
    assert_eq!(e.diagnostics.len(), 1, "expected one error, got:\n{e}");
    let d = e.diagnostics[0].clone();
    assert_eq!(
        (d.line, d.col, d.field.as_str()),
        (line, col, field),
        "wrong place:\n{e}"
    );
    assert!(d.message.contains(needle), "no {needle:?} in:\n{e}");
    d
}

#[track_caller]
fn one_error(text: &str, line: usize, col: usize, field: &str, needle: &str) -> Diagnostic {
    one_error_in(Path::new("/nonexistent"), text, line, col, field, needle)
}

/// A directory with `server.pem`/`server.key` (signed by `ca.pem`), a
/// client certificate, and a token file.
fn pki(name: &str) -> PathBuf {
    let dir = scratch(name);
    let ca = Ca::new("weir test CA");
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    ca.server().write(&dir, "server");
    ca.client("ops").write(&dir, "client");
    std::fs::write(dir.join("token"), "  s3cret-token \nsecond line\n").unwrap();
    dir
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

// ---------------------------------------------------------------------------
// Good sections
// ---------------------------------------------------------------------------

#[test]
fn defaults_without_the_section() {
    let c = ok("");
    assert_eq!(c.endpoint, ControlEndpoint::default());
    let e = &c.endpoint;
    assert_eq!(
        e.listen,
        Some(ListenAddr {
            addr: addr("127.0.0.1:50051"),
            explicit: false
        })
    );
    assert_eq!(e.listen.unwrap().addr, DEFAULT_CONTROL_LISTEN);
    assert_eq!(e.metrics.unwrap().addr, DEFAULT_METRICS_LISTEN);
    assert_eq!(e.metrics.unwrap().addr, addr("127.0.0.1:9469"));
    assert!(!e.metrics.unwrap().explicit);
    assert_eq!(
        (e.unix.as_ref(), e.tls.as_ref(), e.token.as_ref()),
        (None, None, None)
    );
    assert!(!e.authenticates_clients());
    // An empty section is the same.
    assert_eq!(ok("[control]\n").endpoint, ControlEndpoint::default());
}

#[test]
fn explicit_and_disabled_addresses() {
    let e = ok("[control]\nlisten = \"[::1]:6000\"\nmetrics = \"127.0.0.2:9100\"\n").endpoint;
    assert_eq!(
        e.listen,
        Some(ListenAddr {
            addr: addr("[::1]:6000"),
            explicit: true
        })
    );
    assert_eq!(e.metrics.unwrap().addr, addr("127.0.0.2:9100"));
    assert!(e.metrics.unwrap().explicit && e.listen.unwrap().is_loopback());

    let e = ok("[control]\nlisten = \"none\"\nmetrics = \"\"\n").endpoint;
    assert_eq!((e.listen, e.metrics), (None, None));

    // Port 0 (any free port) may be given to both.
    let e = ok("[control]\nlisten = \"127.0.0.1:0\"\nmetrics = \"127.0.0.1:0\"\n").endpoint;
    assert_eq!(e.listen.unwrap().addr.port(), 0);
}

#[test]
fn unix_socket_path_is_relative_to_the_config() {
    let dir = scratch("unix");
    let c = ok_in(&dir, "[control]\nunix = \"weir.sock\"\n");
    assert_eq!(c.endpoint.unix, Some(dir.join("weir.sock")));
    let c = ok_in(&dir, "[control]\nunix = \"/tmp/weir-test.sock\"\n");
    assert_eq!(c.endpoint.unix, Some(PathBuf::from("/tmp/weir-test.sock")));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tls_with_client_ca_opens_to_the_network() {
    let dir = pki("tls-ca");
    let c = ok_in(
        &dir,
        "[control]\nlisten = \"0.0.0.0:50051\"\nmetrics = \"[::]:9469\"\n\
         tls = { cert = \"server.pem\", key = \"server.key\", client_ca = \"ca.pem\" }\n",
    );
    let e = &c.endpoint;
    let tls = e.tls.as_ref().unwrap();
    assert_eq!(tls.cert, dir.join("server.pem"));
    assert_eq!(tls.key, dir.join("server.key"));
    assert_eq!(tls.client_ca, Some(dir.join("ca.pem")));
    assert_eq!(tls.cert_pem, std::fs::read(dir.join("server.pem")).unwrap());
    assert_eq!(
        tls.key_pem.expose(),
        &std::fs::read(dir.join("server.key")).unwrap()
    );
    assert!(tls.client_ca_pem.is_some());
    assert!(e.authenticates_clients() && e.token.is_none());
    assert!(!e.listen.unwrap().is_loopback());
    // The key is never printed.
    assert!(!format!("{c:?}").contains("PRIVATE KEY"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tls_with_token_file_opens_to_the_network() {
    let dir = pki("tls-token");
    let c = ok_in(
        &dir,
        "[control]\nlisten = \"0.0.0.0:50051\"\n\
         tls = { cert = \"server.pem\", key = \"server.key\" }\ntoken_file = \"token\"\n",
    );
    let token = c.endpoint.token.as_ref().unwrap();
    // The first line, trimmed.
    assert_eq!(&**token.secret.expose(), "s3cret-token");
    assert_eq!(token.source, TokenSource::File(dir.join("token")));
    assert!(c.endpoint.tls.as_ref().unwrap().client_ca.is_none());
    // Neither Debug nor JSON shows the token.
    assert!(!format!("{c:?}").contains("s3cret"));
    let json = serde_json::to_value(&c).unwrap();
    assert!(!json.to_string().contains("s3cret"), "{json}");
    assert_eq!(json["endpoint"]["listen"]["addr"], "0.0.0.0:50051");
    assert_eq!(json["endpoint"]["listen"]["explicit"], true);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn inline_token_on_loopback_needs_no_tls() {
    let c = ok("[control]\ntoken = \"abc.DEF-123\"\n");
    let t = c.endpoint.token.unwrap();
    assert_eq!(t.source, TokenSource::Inline);
    assert_eq!(&**t.secret.expose(), "abc.DEF-123");
}

#[test]
fn display_shows_the_section_without_secrets() {
    let text = ok("").to_string();
    for needle in [
        "\ncontrol\n",
        "  grpc       127.0.0.1:50051 (default)\n",
        "  unix       none\n",
        "  metrics    http://127.0.0.1:9469/metrics (default)\n",
        "  tls        off\n",
        "  client ca  none\n",
        "  token      none\n",
    ] {
        assert!(text.contains(needle), "no {needle:?} in:\n{text}");
    }

    let dir = pki("display");
    let c = ok_in(
        &dir,
        "[control]\nlisten = \"0.0.0.0:50051\"\nmetrics = \"none\"\nunix = \"w.sock\"\n\
         tls = { cert = \"server.pem\", key = \"server.key\", client_ca = \"ca.pem\" }\n\
         token_file = \"token\"\n",
    );
    let text = c.to_string();
    let d = dir.display();
    for needle in [
        "  grpc       0.0.0.0:50051\n".to_owned(),
        format!("  unix       {d}/w.sock\n"),
        "  metrics    off\n".to_owned(),
        format!("  tls        cert {d}/server.pem, key {d}/server.key\n"),
        format!("  client ca  {d}/ca.pem (client certificates required)\n"),
        format!("  token      from {d}/token\n"),
    ] {
        assert!(text.contains(&needle), "no {needle:?} in:\n{text}");
    }
    assert!(!text.contains("s3cret"));
    let text = ok_in(
        &dir,
        "[control]\nmetrics = \"127.0.0.1:9100\"\n\
         tls = { cert = \"server.pem\", key = \"server.key\" }\ntoken = \"x\"\n",
    )
    .to_string();
    assert!(
        text.contains("  metrics    https://127.0.0.1:9100/metrics\n"),
        "{text}"
    );
    assert!(text.contains("  client ca  none (client certificates not asked for)\n"));
    assert!(text.contains("  token      inline\n"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------
// One test per kind of mistake
// ---------------------------------------------------------------------------

#[test]
fn bad_address() {
    one_error(
        "[control]\nlisten = \"localhost:50051\"\n",
        2,
        10,
        "control.listen",
        "\"localhost:50051\" is not an address and port, such as \"127.0.0.1:50051\"",
    );
    one_error(
        "[control]\nmetrics = \"127.0.0.1\"\n",
        2,
        11,
        "control.metrics",
        "is not an address and port, such as \"127.0.0.1:9469\" or \"[::1]:9469\" (\"none\" turns it off)",
    );
    one_error(
        "[control]\nlisten = 50051\n",
        2,
        10,
        "control.listen",
        "expected a string, found an integer",
    );
}

#[test]
fn non_loopback_without_tls_or_auth() {
    let d = one_error(
        "[control]\nlisten = \"0.0.0.0:50051\"\n",
        2,
        10,
        "control.listen",
        "0.0.0.0:50051 is not a loopback address: set control.tls (cert, key) and \
         control.tls.client_ca or control.token_file",
    );
    assert_eq!(
        d.to_string(),
        "/nonexistent/weir.toml:2:10: control.listen: 0.0.0.0:50051 is not a loopback \
         address: set control.tls (cert, key) and control.tls.client_ca or control.token_file"
    );
    one_error(
        "[control]\nmetrics = \"192.0.2.1:9469\"\n",
        2,
        11,
        "control.metrics",
        "192.0.2.1:9469 is not a loopback address: set control.tls",
    );
}

#[test]
fn non_loopback_with_tls_but_no_client_auth() {
    let dir = pki("tls-only");
    one_error_in(
        &dir,
        "[control]\nlisten = \"[::]:50051\"\ntls = { cert = \"server.pem\", key = \"server.key\" }\n",
        2,
        10,
        "control.listen",
        "[::]:50051 is not a loopback address: TLS alone lets anyone connect: set \
         control.tls.client_ca or control.token_file too",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn non_loopback_with_token_but_no_tls() {
    one_error(
        "[control]\nmetrics = \"0.0.0.0:9469\"\ntoken = \"abc\"\n",
        2,
        11,
        "control.metrics",
        "the token would cross the network in clear: set control.tls (cert, key)",
    );
}

#[test]
fn metrics_on_the_grpc_address() {
    one_error(
        "[control]\nlisten = \"127.0.0.1:7000\"\nmetrics = \"127.0.0.1:7000\"\n",
        3,
        11,
        "control.metrics",
        "127.0.0.1:7000 is also control.listen",
    );
}

#[test]
fn bad_unix_path() {
    one_error(
        "[control]\nunix = \"\"\n",
        2,
        8,
        "control.unix",
        "empty path",
    );
    one_error(
        "[control]\nunix = \"/no/such/dir/weir.sock\"\n",
        2,
        8,
        "control.unix",
        "directory not found: /no/such/dir (for /no/such/dir/weir.sock)",
    );
    let long = format!("/tmp/{}.sock", "x".repeat(110));
    one_error(
        &format!("[control]\nunix = \"{long}\"\n"),
        2,
        8,
        "control.unix",
        "bytes long; a Unix socket path is at most 107",
    );
    one_error(
        "[control]\nunix = \"/tmp\"\n",
        2,
        8,
        "control.unix",
        "/tmp is a directory",
    );
}

#[test]
fn unknown_key_in_control() {
    one_error(
        "[control]\nlisten = \"127.0.0.1:1\"\ntokenfile = \"t\"\n",
        3,
        1,
        "control.tokenfile",
        "unknown key \"tokenfile\"; did you mean \"token_file\"? (allowed: listen, unix, \
         metrics, tls, token_file, token)",
    );
    let dir = pki("unknown-tls-key");
    one_error_in(
        &dir,
        "[control]\ntls = { cert = \"server.pem\", key = \"server.key\", ca = \"c\" }\n",
        2,
        50,
        "control.tls.ca",
        "unknown key \"ca\" (allowed: cert, key, client_ca)",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tls_not_a_table() {
    one_error(
        "[control]\nlisten = \"0.0.0.0:1\"\ntls = \"server.pem\"\n",
        3,
        7,
        "control.tls",
        "expected a table, found a string",
    );
}

#[test]
fn tls_without_key() {
    let dir = pki("no-key");
    one_error_in(
        &dir,
        "[control]\ntls = { cert = \"server.pem\" }\n",
        2,
        7,
        "control.tls.key",
        "missing (required)",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tls_cert_not_found() {
    let dir = pki("no-cert");
    let d = one_error_in(
        &dir,
        "[control]\nlisten = \"0.0.0.0:1\"\n\
         tls = { cert = \"nope.pem\", key = \"server.key\", client_ca = \"ca.pem\" }\n",
        3,
        16,
        "control.tls.cert",
        "file not found: ",
    );
    assert!(d.message.ends_with("/nope.pem"), "{d}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tls_cert_not_pem() {
    let dir = pki("not-pem");
    std::fs::write(dir.join("junk.pem"), "hello\n").unwrap();
    one_error_in(
        &dir,
        "[control]\ntls = { cert = \"junk.pem\", key = \"server.key\" }\n",
        2,
        16,
        "control.tls.cert",
        "no certificate (-----BEGIN CERTIFICATE-----) in ",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tls_key_not_a_key() {
    let dir = pki("not-key");
    one_error_in(
        &dir,
        "[control]\ntls = { cert = \"server.pem\", key = \"server.pem\" }\n",
        2,
        36,
        "control.tls.key",
        "no private key (-----BEGIN PRIVATE KEY-----, or RSA or EC PRIVATE KEY) in ",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tls_key_of_another_certificate() {
    let dir = pki("mismatch");
    Ca::new("other").server().write(&dir, "other");
    let d = one_error_in(
        &dir,
        "[control]\ntls = { cert = \"server.pem\", key = \"other.key\" }\n",
        2,
        36,
        "control.tls.key",
        "is not the key of the certificate in ",
    );
    assert!(d.message.contains("other.key"), "{d}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tls_client_ca_not_a_certificate() {
    let dir = pki("bad-ca");
    one_error_in(
        &dir,
        "[control]\ntls = { cert = \"server.pem\", key = \"server.key\", client_ca = \"server.key\" }\n",
        2,
        62,
        "control.tls.client_ca",
        "no certificate (-----BEGIN CERTIFICATE-----)",
    );
    one_error_in(
        &dir,
        "[control]\ntls = { cert = \"server.pem\", key = \"server.key\", client_ca = \"gone.pem\" }\n",
        2,
        62,
        "control.tls.client_ca",
        "file not found",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn empty_token_file() {
    let dir = pki("empty-token");
    std::fs::write(dir.join("blank"), "   \nsecond\n").unwrap();
    std::fs::write(dir.join("empty"), "").unwrap();
    for file in ["blank", "empty"] {
        one_error_in(
            &dir,
            &format!("[control]\ntoken_file = \"{file}\"\n"),
            2,
            14,
            "control.token_file",
            "has no token: its first line is empty",
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn token_file_not_found() {
    one_error(
        "[control]\ntoken_file = \"token\"\n",
        2,
        14,
        "control.token_file",
        "file not found: /nonexistent/token",
    );
}

#[test]
fn bad_inline_token() {
    one_error(
        "[control]\ntoken = \"\"\n",
        2,
        9,
        "control.token",
        "empty token",
    );
    one_error(
        "[control]\ntoken = \"two words\"\n",
        2,
        9,
        "control.token",
        "printable ASCII characters, without spaces",
    );
}

#[test]
fn token_and_token_file() {
    let dir = pki("both-tokens");
    one_error_in(
        &dir,
        "[control]\ntoken_file = \"token\"\ntoken = \"abc\"\n",
        3,
        9,
        "control.token",
        "set control.token or control.token_file, not both",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn several_mistakes_in_the_section_are_all_reported() {
    let e = check_in(
        Path::new("/nonexistent"),
        "[control]\nlisten = \"x\"\nmetrics = \"y\"\ntoken = \"\"\n",
    )
    .unwrap_err();
    let fields: Vec<&str> = e.diagnostics.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(
        fields,
        ["control.listen", "control.metrics", "control.token"],
        "{e}"
    );
}
