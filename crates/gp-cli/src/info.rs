//! `gp services` and `gp info`.

use gp_client::{Location, Target, Toolbox};

use crate::conn::Conn;
use crate::out::outln;

/// `gp services URL`: a directory's folders and services; for a GP service URL,
/// what it is and its tasks.
pub(crate) async fn services(url: &str, json: bool, conn: &Conn) -> anyhow::Result<()> {
    let target = Target::parse(url)?;
    let client = conn.client()?;
    if let Location::Directory { .. } = target.location {
        let dir = client.services(url).await?;
        if json {
            return outln!("{}", serde_json::to_string_pretty(&dir)?);
        }
        for f in &dir.folders {
            outln!("{f}/")?;
        }
        for s in &dir.services {
            outln!("{}  ({})", s.name, s.service_type)?;
        }
        return Ok(());
    }
    let tb = client.import(url).await?;
    if json {
        let doc = serde_json::json!({
            "kind": "GPServer",
            "url": tb.url(),
            "tasks": tb.tools().iter().map(|t| t.name()).collect::<Vec<_>>(),
        });
        return outln!("{}", serde_json::to_string_pretty(&doc)?);
    }
    outln!(
        "{} is a GP service, not a services directory; its tasks:",
        tb.url()
    )?;
    for t in tb.tools() {
        outln!("  {}", t.name())?;
    }
    Ok(())
}

fn service_info(tb: &Toolbox, json: bool) -> anyhow::Result<()> {
    if json {
        return outln!("{}", serde_json::to_string_pretty(tb.info())?);
    }
    outln!(
        "{} ({})",
        tb.url(),
        if tb.is_synchronous() {
            "synchronous: execute"
        } else {
            "asynchronous: submitJob"
        }
    )?;
    if let Some(m) = tb.info().result_map_server() {
        outln!("result map service: {m}")?;
    }
    for t in tb.tools() {
        outln!(
            "  {}  (alias {})",
            t.name(),
            gp_client::snake_case(t.name())
        )?;
    }
    Ok(())
}

fn task_info(tool: &gp_client::Tool, json: bool) -> anyhow::Result<()> {
    if json {
        return outln!("{}", serde_json::to_string_pretty(tool.info())?);
    }
    outln!(
        "{} ({})",
        tool.name(),
        if tool.is_synchronous() {
            "synchronous"
        } else {
            "asynchronous"
        }
    )?;
    outln!(
        "{:<20} {:<26} {:<6} {:<8} {:<28} choices",
        "name",
        "type",
        "dir",
        "required",
        "default"
    )?;
    for p in tool.parameters() {
        let default = p.default().map(|v| {
            let s = serde_json::to_string(v).unwrap_or_default();
            if s.chars().count() > 26 {
                format!("{}…", s.chars().take(25).collect::<String>())
            } else {
                s
            }
        });
        outln!(
            "{:<20} {:<26} {:<6} {:<8} {:<28} {}",
            p.name.as_str(),
            p.data_type.to_string(),
            if p.is_input() { "in" } else { "out" },
            if p.is_required() { "yes" } else { "" },
            default.unwrap_or_default(),
            p.choices().map(|c| c.join("|")).unwrap_or_default()
        )?;
    }
    Ok(())
}

/// `gp info URL`: a service's tasks, or a task's parameters.
pub(crate) async fn info(url: &str, json: bool, conn: &Conn) -> anyhow::Result<()> {
    let (client, url) = conn.client_for(url).await?;
    let url = url.as_str();
    let target = match Target::parse(url) {
        Ok(t) => t,
        // Not an ArcGIS URL: an OGC API – Processes endpoint, if it is one.
        Err(_) => {
            let tb = client.import(url).await?;
            return match tb.named_tool() {
                Some(t) => task_info(t, json),
                None => service_info(&tb, json),
            };
        }
    };
    if let Location::Directory { .. } = target.location {
        anyhow::bail!(
            "{} is a services directory; list it with `gp services {}`",
            target.location,
            url.split(';').next().unwrap_or_default()
        );
    }
    let tb = client.import(url).await?;
    match target.location.task() {
        None => service_info(&tb, json),
        Some(t) => task_info(tb.tool(t)?, json),
    }
}
