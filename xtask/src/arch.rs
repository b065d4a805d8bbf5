//! Architecture invariants from DESIGN.md, checked on the real dependency graph
//! (`cargo metadata`), not on source text.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use anyhow::{Context, bail};

use crate::cargo;

/// For each workspace crate: crates it must never depend on, directly or transitively
/// (normal dependencies only; dev-dependencies may use anything).
const FORBIDDEN: &[(&str, &[&str])] = &[
    (
        "gp-model",
        &[
            "tokio",
            "reqwest",
            "hyper",
            "axum",
            "async-trait",
            "gp-transport",
            "gp-client",
            "gp-raster",
            "gp-features",
            "gp-server",
            "gp-cli",
        ],
    ),
    (
        "gp-transport",
        &[
            "gp-client",
            "gp-raster",
            "gp-features",
            "gp-server",
            "gp-cli",
            "openssl-sys",
        ],
    ),
    (
        "gp-raster",
        &[
            "reqwest",
            "hyper",
            "gp-transport",
            "gp-client",
            "gp-server",
            "gp-cli",
        ],
    ),
    (
        "gp-features",
        &[
            "reqwest",
            "hyper",
            "gp-transport",
            "gp-client",
            "gp-server",
            "gp-cli",
        ],
    ),
    (
        "gp-server",
        &["gp-client", "gp-transport", "gp-cli", "openssl-sys"],
    ),
    ("gp-client", &["gp-cli", "gp-server", "openssl-sys"]),
    // Files only: every crate that writes files uses it, so it uses none of them.
    (
        "gp-fs",
        &[
            "gp-model",
            "gp-transport",
            "gp-client",
            "gp-raster",
            "gp-features",
            "gp-server",
            "gp-cli",
            "tokio",
            "reqwest",
            "hyper",
        ],
    ),
    // The fuzzing harness reads files: no network, no server.
    (
        "gp-fuzz",
        &[
            "gp-transport",
            "gp-client",
            "gp-server",
            "gp-cli",
            "reqwest",
            "hyper",
            "tokio",
        ],
    ),
    ("gp-cli", &["openssl-sys"]),
    // The Python package is a client: what it does goes through gp-client, so it
    // never holds the server or the CLI (nor OpenSSL).
    ("gp-py", &["gp-cli", "gp-server", "openssl-sys"]),
    // The soak drives the real client against the real server: no OpenSSL either.
    ("gp-soak", &["openssl-sys"]),
];

pub(crate) fn check() -> anyhow::Result<()> {
    let out = Command::new(cargo())
        .args(["metadata", "--format-version", "1", "--locked"])
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let meta = String::from_utf8(out.stdout)?;
    let graph = parse_graph(&meta)?;
    let mut problems = Vec::new();
    for (krate, banned) in FORBIDDEN {
        let Some(id) = graph
            .names
            .iter()
            .find(|(_, n)| n.as_str() == *krate)
            .map(|(i, _)| i)
        else {
            continue; // not in the workspace yet
        };
        let reach = graph.reachable(id);
        for b in *banned {
            if reach
                .iter()
                .any(|r| graph.names.get(r).is_some_and(|n| n == b))
            {
                problems.push(format!("{krate} must not depend on {b}"));
            }
        }
    }
    if !problems.is_empty() {
        bail!(
            "architecture invariants broken:\n  {}",
            problems.join("\n  ")
        );
    }
    eprintln!("architecture invariants hold");
    Ok(())
}

struct Graph {
    names: BTreeMap<String, String>,
    edges: BTreeMap<String, Vec<String>>,
}

impl Graph {
    fn reachable(&self, from: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(n) = stack.pop() {
            for d in self.edges.get(&n).into_iter().flatten() {
                if seen.insert(d.clone()) {
                    stack.push(d.clone());
                }
            }
        }
        seen
    }
}

/// Reads packages and the normal (non-dev, non-build) dependency edges.
fn parse_graph(meta: &str) -> anyhow::Result<Graph> {
    let v: serde_json::Value = serde_json::from_str(meta).context("parsing cargo metadata")?;
    let mut names = BTreeMap::new();
    for p in v["packages"].as_array().into_iter().flatten() {
        if let (Some(id), Some(name)) = (p["id"].as_str(), p["name"].as_str()) {
            names.insert(id.to_string(), name.to_string());
        }
    }
    let mut edges = BTreeMap::new();
    for n in v["resolve"]["nodes"].as_array().into_iter().flatten() {
        let Some(id) = n["id"].as_str() else { continue };
        let deps = n["deps"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|k| k["kind"].is_null())
            })
            .filter_map(|d| d["pkg"].as_str().map(str::to_string))
            .collect();
        edges.insert(id.to_string(), deps);
    }
    Ok(Graph { names, edges })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reachability_follows_normal_edges_only() {
        let meta = r#"{
          "packages": [{"id": "a", "name": "gp-model"}, {"id": "b", "name": "mid"},
                       {"id": "c", "name": "tokio"}, {"id": "d", "name": "proptest"}],
          "resolve": {"nodes": [
            {"id": "a", "deps": [{"pkg": "b", "dep_kinds": [{"kind": null}]},
                                 {"pkg": "d", "dep_kinds": [{"kind": "dev"}]}]},
            {"id": "b", "deps": [{"pkg": "c", "dep_kinds": [{"kind": null}]}]},
            {"id": "c", "deps": []}, {"id": "d", "deps": []}]}}"#;
        let g = parse_graph(meta).unwrap();
        let r = g.reachable("a");
        assert!(r.contains("c"), "transitive normal dependency is found");
        assert!(
            !r.contains("d"),
            "dev-dependencies are not part of the graph"
        );
    }
}
