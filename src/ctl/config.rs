//! `weir ctl config get|check|apply`: the running config, validating a
//! candidate, and applying it as one transaction with optimistic
//! concurrency (the version it was based on).

use super::client::Session;
use super::table::{Col, Table};
use super::view::{self, View};
use super::Global;
use anyhow::{Context, Result};
use ctrl::api::proto::{
    config_change::Kind, ApplyReply, ApplyRequest, CheckReply, ConfigCandidate, ConfigChange,
    ConfigText, GetConfigRequest,
};
use prost::Message;
use serde_json::{json, Value};
use std::path::Path;
use std::process::ExitCode;
use tonic::{Code, Status};

/// Exit code of a config that does not validate (as `weir check`).
const EXIT_INVALID: u8 = 2;
/// Exit code of an apply based on a version that no longer runs.
const EXIT_CONFLICT: u8 = 3;

impl View for ConfigText {
    /// The source text, byte for byte.
    fn human(&self) -> String {
        self.text.clone()
    }

    fn json(&self) -> Value {
        json!({ "text": self.text, "path": self.path, "version": self.version })
    }
}

/// `weir ctl config get`.
pub async fn get(g: &Global) -> Result<ExitCode> {
    super::show(g, "GetConfig", |mut c| async move {
        c.get_config(GetConfigRequest {}).await
    })
    .await
}

/// A candidate read from a file: sent with its absolute path (so the
/// router resolves relative paths in it), printed with the name given.
struct Candidate {
    given: String,
    absolute: String,
    text: String,
}

impl Candidate {
    fn read(file: &Path) -> Result<Candidate> {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let absolute = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
        Ok(Candidate {
            given: file.display().to_string(),
            absolute: absolute.display().to_string(),
            text,
        })
    }

    fn proto(&self) -> ConfigCandidate {
        ConfigCandidate {
            text: self.text.clone(),
            path: self.absolute.clone(),
        }
    }

    /// The problems as `weir check` prints them, with the file named as
    /// the user named it.
    fn errors(&self, reply: &CheckReply) -> String {
        let diagnostics = reply
            .errors
            .iter()
            .map(|e| ctrl::config::Diagnostic {
                file: if e.file == self.absolute || e.file.is_empty() {
                    self.given.clone().into()
                } else {
                    e.file.clone().into()
                },
                line: e.line as usize,
                col: e.column as usize,
                field: e.field.clone(),
                message: e.message.clone(),
            })
            .collect();
        ctrl::config::ConfigError { diagnostics }.to_string()
    }
}

fn kind_name(kind: i32) -> &'static str {
    match Kind::try_from(kind) {
        Ok(Kind::Added) => "added",
        Ok(Kind::Removed) => "removed",
        Ok(Kind::Modified) => "modified",
        _ => "unspecified",
    }
}

fn changes_json(changes: &[ConfigChange]) -> Value {
    changes
        .iter()
        .map(|c| {
            json!({
                "kind": kind_name(c.kind), "object": c.object,
                "name": c.name, "detail": c.detail,
            })
        })
        .collect()
}

/// Changes as a table: `+` added, `-` removed, `~` modified.
fn changes_table(changes: &[ConfigChange]) -> String {
    let mut t = Table::new(&[
        Col::L(" "),
        Col::L("OBJECT"),
        Col::L("NAME"),
        Col::L("DETAIL"),
    ]);
    for c in changes {
        let sign = match Kind::try_from(c.kind) {
            Ok(Kind::Added) => "+",
            Ok(Kind::Removed) => "-",
            Ok(Kind::Modified) => "~",
            _ => "?",
        };
        t.row([sign, &c.object, &c.name, &c.detail]);
    }
    t.to_string()
}

fn check_json(reply: &CheckReply) -> Value {
    let errors: Vec<Value> = reply
        .errors
        .iter()
        .map(|e| {
            json!({
                "file": e.file, "line": e.line, "column": e.column,
                "field": e.field, "message": e.message,
            })
        })
        .collect();
    json!({ "valid": reply.valid, "errors": errors, "changes": changes_json(&reply.changes) })
}

/// Prints a rejected candidate's problems (stderr, or JSON on stdout).
fn invalid(g: &Global, cand: &Candidate, reply: &CheckReply, status: Option<&Status>) -> ExitCode {
    if g.json {
        let mut v = check_json(reply);
        v["applied"] = json!(false);
        view::print_json(&v);
    } else if reply.errors.is_empty() {
        let why = status.map_or("the router rejected it", |s| s.message());
        eprintln!("{}: {why}\nnothing was applied", cand.given);
    } else {
        eprintln!("{}", cand.errors(reply));
    }
    ExitCode::from(EXIT_INVALID)
}

/// An INVALID_ARGUMENT status: its details hold a `CheckReply`.
fn rejected(g: &Global, cand: &Candidate, status: &Status) -> ExitCode {
    let reply = CheckReply::decode(status.details()).unwrap_or_default();
    invalid(g, cand, &reply, Some(status))
}

/// `weir ctl config check FILE`.
pub async fn check(g: &Global, file: &Path) -> Result<ExitCode> {
    let cand = Candidate::read(file)?;
    let session = Session::open(&g.conn).await?;
    let req = cand.proto();
    let reply = match session
        .try_call(|mut c| async move { c.check_config(req).await })
        .await
    {
        Ok(reply) => reply,
        // As ApplyConfig, should the router reject the candidate outright.
        Err(s) if s.code() == Code::InvalidArgument => return Ok(rejected(g, &cand, &s)),
        Err(s) => return Err(session.error("CheckConfig", &s)),
    };
    if !reply.valid {
        return Ok(invalid(g, &cand, &reply, None));
    }
    if g.json {
        view::print_json(&check_json(&reply));
    } else if reply.changes.is_empty() {
        println!(
            "{}: valid; no changes against the running config",
            cand.given
        );
    } else {
        print!(
            "{}: valid; applying it would change:\n{}",
            cand.given,
            changes_table(&reply.changes)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// How `apply` picks the version the candidate is based on.
#[derive(Clone, Copy, Debug)]
pub enum Base {
    /// The running version, asked for first (a change made between that
    /// question and the apply is a conflict).
    Running,
    /// This version, as given with --base-version.
    Version(u64),
    /// Apply whatever runs (--force; base_version 0).
    Force,
}

/// `weir ctl config apply FILE`.
pub async fn apply(g: &Global, file: &Path, base: Base) -> Result<ExitCode> {
    let cand = Candidate::read(file)?;
    let session = Session::open(&g.conn).await?;
    let base_version = match base {
        Base::Version(v) => v,
        Base::Force => 0,
        Base::Running => running_version(&session).await?,
    };
    let req = ApplyRequest {
        candidate: Some(cand.proto()),
        base_version,
    };
    let status = match session
        .try_call(|mut c| async move { c.apply_config(req).await })
        .await
    {
        Ok(reply) => return Ok(applied(g, &reply)),
        Err(s) => s,
    };
    match status.code() {
        Code::InvalidArgument => Ok(rejected(g, &cand, &status)),
        Code::Aborted => {
            let running = running_version(&session).await.ok();
            conflict(g, base_version, running, &status);
            Ok(ExitCode::from(EXIT_CONFLICT))
        }
        Code::FailedPrecondition => Err(anyhow::anyhow!(
            "the router cannot make this change live: {}; nothing was applied",
            status.message()
        )),
        _ => Err(session.error("ApplyConfig", &status)),
    }
}

async fn running_version(session: &Session) -> Result<u64> {
    let text = session
        .call("GetConfig", |mut c| async move {
            c.get_config(GetConfigRequest {}).await
        })
        .await?;
    Ok(text.version)
}

fn applied(g: &Global, reply: &ApplyReply) -> ExitCode {
    if g.json {
        view::print_json(&json!({
            "applied": true, "version": reply.version,
            "changes": changes_json(&reply.changes),
        }));
    } else if reply.changes.is_empty() {
        println!("no changes; running version {}", reply.version);
    } else {
        let n = reply.changes.len();
        print!("{}", changes_table(&reply.changes));
        println!(
            "applied: version {} ({n} change{})",
            reply.version,
            if n == 1 { "" } else { "s" }
        );
    }
    ExitCode::SUCCESS
}

fn conflict(g: &Global, base: u64, running: Option<u64>, status: &Status) {
    if g.json {
        view::print_json(&json!({
            "applied": false, "conflict": true,
            "base_version": base, "running_version": running,
            "message": status.message(),
        }));
        return;
    }
    let now = running.map_or_else(|| status.message().to_string(), |v| format!("version {v}"));
    eprintln!(
        "weir: conflict: the running config changed ({now}; this change was based on version \
         {base}), get it again with `weir ctl config get`; nothing was applied"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctrl::api::proto::ConfigError;

    #[test]
    fn errors_print_as_weir_check_with_the_given_file_name() {
        let cand = Candidate {
            given: "bad.toml".into(),
            absolute: "/home/op/bad.toml".into(),
            text: String::new(),
        };
        let reply = CheckReply {
            valid: false,
            errors: vec![
                ConfigError {
                    file: "/home/op/bad.toml".into(),
                    line: 14,
                    column: 9,
                    field: "interface[1] (gen1).vrf".into(),
                    message: "unknown VRF \"FOO\"".into(),
                },
                ConfigError {
                    file: "/etc/weir/other.toml".into(),
                    line: 0,
                    column: 0,
                    field: String::new(),
                    message: "cannot read".into(),
                },
            ],
            changes: vec![],
        };
        assert_eq!(
            cand.errors(&reply),
            "bad.toml:14:9: interface[1] (gen1).vrf: unknown VRF \"FOO\"\n\
             /etc/weir/other.toml: cannot read\n\
             2 errors; nothing was applied"
        );
    }

    #[test]
    fn changes_are_signed() {
        let ch = |kind: Kind, object: &str, name: &str, detail: &str| ConfigChange {
            kind: kind as i32,
            object: object.into(),
            name: name.into(),
            detail: detail.into(),
        };
        let t = changes_table(&[
            ch(Kind::Added, "interface", "gen3", ""),
            ch(
                Kind::Modified,
                "route",
                "MAIN 10.0.0.0/8",
                "via 10.0.0.2 -> 10.0.0.3",
            ),
            ch(Kind::Removed, "vrf", "OLD", ""),
        ]);
        assert_eq!(
            t,
            "   OBJECT     NAME             DETAIL\n\
             +  interface  gen3             -\n\
             ~  route      MAIN 10.0.0.0/8  via 10.0.0.2 -> 10.0.0.3\n\
             -  vrf        OLD              -\n"
        );
    }
}
