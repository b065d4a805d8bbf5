//! Which `Host` a request may name, and the base of every URL the server writes.
//! With `--public-url` every href starts with it; without, the Host header is used
//! only when it names this server (an IP literal, `localhost`, or an allowed name), so
//! a DNS-rebinding page cannot make the server write URLs on its own host name.

use crate::respond::ApiError;

/// The host policy.
#[derive(Debug, Clone, Default)]
pub(crate) struct Hosts {
    /// `https://gis.example.org` (no trailing slash): the base of every URL written.
    pub(crate) public_url: Option<String>,
    /// Host names (lower case) accepted in `Host` besides IP literals and `localhost`.
    pub(crate) allowed: Vec<String>,
}

/// The host name of a `Host` header value: without the port, brackets kept off IPv6.
fn host_name(h: &str) -> &str {
    let h = h.trim();
    if let Some(rest) = h.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    match h.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => h,
    }
}

impl Hosts {
    /// The base URL (`scheme://authority`) for a request that named `host` (or none:
    /// `fallback`, the bound address).
    pub(crate) fn base(
        &self,
        scheme: &str,
        host: Option<&str>,
        fallback: &str,
    ) -> Result<String, ApiError> {
        if let Some(p) = &self.public_url {
            return Ok(p.clone());
        }
        let Some(host) = host.map(str::trim).filter(|h| !h.is_empty()) else {
            return Ok(format!("{scheme}://{fallback}"));
        };
        let name = host_name(host).trim_end_matches('.').to_ascii_lowercase();
        let valid_chars = host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:[]_".contains(c));
        let known = name.parse::<std::net::IpAddr>().is_ok()
            || name == "localhost"
            || self.allowed.contains(&name);
        if valid_chars && known {
            Ok(format!("{scheme}://{host}"))
        } else {
            Err(ApiError::misdirected(format!(
                "This server does not serve the host name `{}`. Start it with --allowed-host NAME (or --public-url URL) to serve it.",
                host.chars()
                    .filter(|c| !c.is_control())
                    .take(100)
                    .collect::<String>()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(h: &Hosts, host: Option<&str>, want: Option<&str>) {
        let got = h.base("http", host, "127.0.0.1:8080").ok();
        assert_eq!(got.as_deref(), want, "{host:?}");
    }

    #[test]
    fn only_names_of_this_server_become_urls() {
        let h = Hosts {
            public_url: None,
            allowed: vec!["gis.example.org".into()],
        };
        check(&h, None, Some("http://127.0.0.1:8080"));
        check(&h, Some("127.0.0.1:9"), Some("http://127.0.0.1:9"));
        check(&h, Some("[::1]:9"), Some("http://[::1]:9"));
        check(&h, Some("LOCALHOST:9"), Some("http://LOCALHOST:9"));
        check(&h, Some("gis.example.org"), Some("http://gis.example.org"));
        check(&h, Some("rebind.attacker.example:9"), None);
        check(&h, Some("localhost/evil"), None);
        check(&h, Some("localhost\"><script>"), None);
        let p = Hosts {
            public_url: Some("https://gis.example.org/".trim_end_matches('/').into()),
            allowed: vec![],
        };
        check(
            &p,
            Some("rebind.attacker.example"),
            Some("https://gis.example.org"),
        );
    }
}
