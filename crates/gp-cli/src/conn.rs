//! The options every command that talks to a server takes: credentials, trusted
//! certificates and hosts, timeouts. They become a `gp_client::Client`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use gp_client::Client;

/// How to reach and log in to a server.
#[derive(Debug, Clone, Args)]
pub(crate) struct Conn {
    /// A token (also from GP_TOKEN); sent only to the server of the URL (and
    /// --trust-host hosts).
    #[arg(long, env = "GP_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// User for the server's generateToken (the password is read from stdin with
    /// --password-stdin).
    #[arg(long, requires = "password_stdin")]
    user: Option<String>,
    /// Read the password for --user from the first line of stdin.
    #[arg(long, requires = "user")]
    password_stdin: bool,
    /// Also trust this CA certificate (PEM), e.g. `gp serve --tls`'s or a
    /// corporate CA (repeatable).
    #[arg(long, value_name = "FILE")]
    ca_cert: Vec<PathBuf>,
    /// Also send the credentials to this host (where the server hands out result
    /// files; repeatable).
    #[arg(long, value_name = "HOST")]
    trust_host: Vec<String>,
    /// Time limit of each request (e.g. 30s, 2m; default 120s).
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    request_timeout: Option<Duration>,
    /// The portal of an item id given instead of a URL (`https://host/portal`):
    /// web tools are published as portal items.
    #[arg(long, value_name = "URL")]
    portal: Option<String>,
}

impl Conn {
    /// The client these options describe, and the service URL `text` names: a
    /// portal item (an item id with --portal, or an item URL) becomes its service's
    /// URL; anything else stays as it is.
    pub(crate) async fn client_for(&self, text: &str) -> anyhow::Result<(Client, String)> {
        let client = self.client()?;
        let url = client.resolve_item(text, self.portal.as_deref()).await?;
        Ok((client, url))
    }

    /// The client these options describe.
    pub(crate) fn client(&self) -> anyhow::Result<Client> {
        let mut b = Client::builder().user_agent(concat!("gp/", env!("CARGO_PKG_VERSION")));
        if let Some(t) = &self.token {
            b = b.token(t.clone());
        }
        if let Some(user) = &self.user {
            let mut pass = String::new();
            std::io::stdin()
                .read_line(&mut pass)
                .context("reading the password from stdin")?;
            let pass = pass.trim_end_matches(['\r', '\n']);
            anyhow::ensure!(!pass.is_empty(), "--password-stdin read an empty password");
            b = b.user_password(user.clone(), pass.to_string());
        }
        for c in &self.ca_cert {
            b = b.ca_cert_file(c)?;
        }
        for h in &self.trust_host {
            b = b.trust_host(h.clone());
        }
        if let Some(t) = self.request_timeout {
            b = b.timeout(t);
        }
        Ok(b.build()?)
    }
}

/// Parses a duration: `500ms`, `30s`, `2m`, `1h`, or plain seconds (`1.5`).
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (num, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&t[..i], &t[i..]),
        None => (t, "s"),
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. 30s, 2m, 1h, 500ms)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "sec" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (ms, s, m, h)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("`{s}` is not a usable duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(s: &str, want: Option<f64>) {
        assert_eq!(parse_duration(s).ok().map(|d| d.as_secs_f64()), want, "{s}");
    }

    #[test]
    fn durations() {
        check("30s", Some(30.0));
        check("2m", Some(120.0));
        check("1h", Some(3600.0));
        check("500ms", Some(0.5));
        check("1.5", Some(1.5));
        check("-1s", None);
        check("5 parsecs", None);
        check("", None);
    }
}
