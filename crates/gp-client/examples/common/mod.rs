//! Shared by the examples: the server to talk to and the output folder.
#![allow(dead_code)] // reason: each example uses a part

use std::path::PathBuf;

/// The server's `…/arcgis` root: `GP_SERVER_URL` when set, else an embedded
/// gp-server on a free loopback port (kept alive by the returned guard).
pub(crate) async fn server() -> anyhow::Result<(String, Option<gp_server::Server>)> {
    if let Ok(url) = std::env::var("GP_SERVER_URL") {
        return Ok((url.trim_end_matches('/').to_string(), None));
    }
    let s = gp_server::Server::start(gp_server::ServerConfig::default()).await?;
    Ok((s.url("/arcgis"), Some(s)))
}

/// The output folder: the first argument, else `<temp>/gp-examples`.
pub(crate) fn out_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("gp-examples"));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
