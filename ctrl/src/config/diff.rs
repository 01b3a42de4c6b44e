//! What changed between two configs, object by object, for the reply to
//! a config apply (`weir ctl config apply`) and its log line.
//!
//! Objects are matched by what names them (an interface or tunnel by its
//! name, a route by VRF, prefix and distance, a neighbor by interface and
//! address) and compared with every index replaced by the name it points
//! to, so reordering a file changes nothing.

use super::{Config, Driver, PolicyScope, PolicyTarget, StaticRoute};
use serde_json::Value;
use std::collections::BTreeMap;

/// How an object changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Only in the new config.
    Added,
    /// Only in the old config.
    Removed,
    /// In both, different.
    Modified,
}

/// One changed object.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    /// Added, removed or modified.
    pub kind: ChangeKind,
    /// `workers`, `dpdk`, `vrf`, `interface`, `tunnel`, `route`,
    /// `neighbor` or `policy`.
    pub object: &'static str,
    /// Its name or key.
    pub name: String,
    /// For a modification: the old and new value, `old -> new`.
    pub detail: String,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = match self.kind {
            ChangeKind::Added => '+',
            ChangeKind::Removed => '-',
            ChangeKind::Modified => '~',
        };
        write!(f, "{sign} {} {}", self.object, self.name)?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// The objects of one kind in a config, by key, as comparable values.
type Objects = BTreeMap<String, Value>;

impl Config {
    /// Every object that differs between `self` (the old config) and
    /// `new`, grouped by kind in config order (workers, dpdk, VRFs,
    /// interfaces, tunnels, routes, neighbors, policies).
    pub fn diff(&self, new: &Config) -> Vec<Change> {
        let mut out = Vec::new();
        for (object, old, new) in [
            ("workers", self.workers_obj(), new.workers_obj()),
            ("dpdk", self.dpdk_obj(), new.dpdk_obj()),
            ("vrf", self.vrf_objs(), new.vrf_objs()),
            ("interface", self.interface_objs(), new.interface_objs()),
            ("tunnel", self.tunnel_objs(), new.tunnel_objs()),
            ("route", self.route_objs(), new.route_objs()),
            ("neighbor", self.neighbor_objs(), new.neighbor_objs()),
            ("policy", self.policy_objs(), new.policy_objs()),
        ] {
            compare(object, &old, &new, &mut out);
        }
        out
    }

    fn workers_obj(&self) -> Objects {
        one("workers", serde_json::to_value(&self.workers))
    }

    fn dpdk_obj(&self) -> Objects {
        match &self.dpdk {
            Some(d) => one("dpdk", serde_json::to_value(d)),
            None => Objects::new(),
        }
    }

    fn vrf_objs(&self) -> Objects {
        self.vrfs
            .iter()
            .map(|v| {
                let imports: Vec<Value> = v
                    .imports
                    .iter()
                    .map(|i| {
                        let prefixes: Vec<String> =
                            i.prefixes.iter().map(|(a, l)| format!("{a}/{l}")).collect();
                        serde_json::json!({ "from": self.vrfs[i.from].name, "prefixes": prefixes })
                    })
                    .collect();
                let rd = v.rd.as_ref().map(|r| r.to_string());
                let val = serde_json::json!({ "table": v.table, "rd": rd, "imports": imports });
                (v.name.clone(), val)
            })
            .collect()
    }

    fn interface_objs(&self) -> Objects {
        self.interfaces
            .iter()
            .map(|i| {
                let mut driver = serde_json::to_value(&i.driver).unwrap_or(Value::Null);
                if let (Driver::Mem(m), Some(obj)) = (&i.driver, driver.get_mut("mem")) {
                    obj["peer"] = m
                        .peer
                        .map_or(Value::Null, |p| self.interfaces[p].name.clone().into());
                }
                let addrs: Vec<String> = i.addresses.iter().map(|a| a.to_string()).collect();
                let val = serde_json::json!({
                    "vrf": self.vrfs[i.vrf].name,
                    "mac": super::format_mac(&i.mac),
                    "mtu": i.mtu,
                    "addresses": addrs,
                    "driver": driver,
                });
                (i.name.clone(), val)
            })
            .collect()
    }

    fn tunnel_objs(&self) -> Objects {
        self.tunnels
            .iter()
            .map(|t| {
                let mut val = serde_json::to_value(t).unwrap_or(Value::Null);
                val["vrf"] = self.vrfs[t.vrf].name.clone().into();
                val["underlay_vrf"] = self.vrfs[t.underlay_vrf].name.clone().into();
                val["source_on"] = self.if_name(t.source_on).into();
                (t.name.clone(), val)
            })
            .collect()
    }

    /// How `weir check` would name route `r`'s target, with names.
    fn route_target(&self, r: &StaticRoute) -> String {
        let mut s = r.action.as_str().to_string();
        if let Some(via) = r.via {
            s += &format!(" via {via}");
        }
        if let Some(i) = r.interface {
            s += &format!(" dev {}", self.interfaces[i].name);
        }
        if let Some(t) = r.tunnel {
            s += &format!(" dev {}", self.tunnels[t].name);
        }
        if r.next_hop_vrf != r.vrf {
            s += &format!(" vrf {}", self.vrfs[r.next_hop_vrf].name);
        }
        s
    }

    fn route_objs(&self) -> Objects {
        self.routes
            .iter()
            .map(|r| {
                let key = format!(
                    "{} {}/{} distance {}",
                    self.vrfs[r.vrf].name, r.prefix, r.len, r.distance
                );
                (key, self.route_target(r).into())
            })
            .collect()
    }

    fn neighbor_objs(&self) -> Objects {
        self.neighbors
            .iter()
            .map(|n| {
                let key = format!("{} {}", self.interfaces[n.interface].name, n.address);
                (key, super::format_mac(&n.mac).into())
            })
            .collect()
    }

    fn policy_objs(&self) -> Objects {
        self.policies
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut val = serde_json::to_value(p).unwrap_or(Value::Null);
                val["scope"] = match p.scope {
                    PolicyScope::Interface(r) => format!("interface {}", self.if_name(r)),
                    PolicyScope::Vrf(v) => format!("vrf {}", self.vrfs[v].name),
                    PolicyScope::Local => "local".into(),
                }
                .into();
                val["target"] = match p.target {
                    PolicyTarget::NextHop { vrf, via } => {
                        format!("via {via} vrf {}", self.vrfs[vrf].name)
                    }
                    PolicyTarget::Vrf(v) => format!("vrf {}", self.vrfs[v].name),
                    PolicyTarget::Tunnel(t) => format!("tunnel {}", self.tunnels[t].name),
                }
                .into();
                (format!("policy[{i}]"), val)
            })
            .collect()
    }
}

fn one(key: &str, v: Result<Value, serde_json::Error>) -> Objects {
    [(key.to_string(), v.unwrap_or(Value::Null))].into()
}

/// A value as one short line.
fn brief(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn compare(object: &'static str, old: &Objects, new: &Objects, out: &mut Vec<Change>) {
    for (k, v) in old {
        match new.get(k) {
            None => out.push(Change {
                kind: ChangeKind::Removed,
                object,
                name: k.clone(),
                detail: String::new(),
            }),
            Some(n) if n != v => out.push(Change {
                kind: ChangeKind::Modified,
                object,
                name: k.clone(),
                detail: changed_fields(v, n),
            }),
            Some(_) => {}
        }
    }
    for k in new.keys().filter(|k| !old.contains_key(*k)) {
        out.push(Change {
            kind: ChangeKind::Added,
            object,
            name: k.clone(),
            detail: String::new(),
        });
    }
}

/// `field: old -> new` for each top-level field that differs (or the
/// whole values for non-objects).
fn changed_fields(old: &Value, new: &Value) -> String {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut parts = Vec::new();
            for (k, va) in a {
                let vb = b.get(k).unwrap_or(&Value::Null);
                if va != vb {
                    parts.push(format!("{k}: {} -> {}", brief(va), brief(vb)));
                }
            }
            for (k, vb) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
                parts.push(format!("{k}: null -> {}", brief(vb)));
            }
            parts.join(", ")
        }
        _ => format!("{} -> {}", brief(old), brief(new)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Env;
    use std::path::Path;

    fn cfg(text: &str) -> Config {
        Config::from_str_with(text, Path::new("t.toml"), &Env { cpus: 4 }).unwrap()
    }

    const BASE: &str = r#"
[[vrf]]
name = "MAIN"
table = 1

[[interface]]
name = "a"
addresses = ["10.0.0.1/24"]
mem = { link = "x" }

[[interface]]
name = "b"
vrf = "MAIN"
addresses = ["10.1.0.1/24"]
mem = { link = "y" }

[[route]]
prefix = "192.0.2.0/24"
via = "10.0.0.2"
"#;

    #[test]
    fn the_same_config_reordered_has_no_changes() {
        let a = cfg(BASE);
        let reordered = r#"
[[interface]]
name = "b"
vrf = "MAIN"
addresses = ["10.1.0.1/24"]
mem = { link = "y" }

[[interface]]
name = "a"
addresses = ["10.0.0.1/24"]
mem = { link = "x" }

[[route]]
prefix = "192.0.2.0/24"
via = "10.0.0.2"

[[vrf]]
name = "MAIN"
table = 1
"#;
        // MACs default from the interface's position: pin them.
        let mut b = cfg(reordered);
        for i in &mut b.interfaces {
            i.mac = a.interfaces[a.interface_index(&i.name).unwrap()].mac;
        }
        assert_eq!(a.diff(&b), vec![]);
    }

    #[test]
    fn added_removed_and_modified_objects_are_named() {
        let a = cfg(BASE);
        let b = cfg(&BASE
            .replace("10.1.0.1/24", "10.1.0.1/16")
            .replace("192.0.2.0/24", "198.51.100.0/24"));
        let changes: Vec<String> = a.diff(&b).iter().map(|c| c.to_string()).collect();
        assert_eq!(
            changes,
            vec![
                "~ interface b: addresses: [\"10.1.0.1/24\"] -> [\"10.1.0.1/16\"]",
                "- route default 192.0.2.0/24 distance 1",
                "+ route default 198.51.100.0/24 distance 1",
            ]
        );
    }
}
