//! What `Toolbox::import` accepts: GPServer and task URLs, and arcpy's
//! `"http://host/arcgis/services;GP/BufferByVal[;user;password | ;token=T]"`.

use crate::error::Error;

/// Credentials found in an arcpy toolbox string.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Creds {
    None,
    UserPassword(String, String),
    Token(String),
}

impl std::fmt::Debug for Creds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Creds::None => f.write_str("None"),
            Creds::UserPassword(u, _) => write!(f, "UserPassword({u}, <redacted>)"),
            Creds::Token(_) => f.write_str("Token(<redacted>)"),
        }
    }
}

/// A parsed import target.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Target {
    /// `…/rest/services/[Folder/]Name/GPServer`.
    pub(crate) service_url: String,
    /// The server root, `…/arcgis` (for `rest/info` and tokens).
    pub(crate) server_root: String,
    /// A task named in the URL.
    pub(crate) task: Option<String>,
    pub(crate) creds: Creds,
}

fn bad(input: &str, m: &str) -> Error {
    Error::BadUrl {
        input: input.split(';').next().unwrap_or_default().to_string(),
        message: m.to_string(),
    }
}

const ACCEPTED: &str = "give …/rest/services/[Folder/]Service/GPServer, a task URL under it, or arcpy's \"http://host/arcgis/services;Folder/Service[;user;password]\"";

/// Parses an import target.
pub(crate) fn parse(input: &str) -> Result<Target, Error> {
    let mut parts = input.split(';');
    let base = parts.next().unwrap_or_default().trim();
    let rest: Vec<&str> = parts.collect();
    let mut u = url::Url::parse(base).map_err(|e| bad(input, &format!("{e}; {ACCEPTED}")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(bad(input, "only http and https URLs are supported"));
    }
    u.set_query(None);
    u.set_fragment(None);
    let path = u.path().trim_end_matches('/').to_string();
    let origin = u.origin().ascii_serialization();
    let creds = match rest.as_slice() {
        [] | [_] => Creds::None,
        [_, t] if t.starts_with("token=") => Creds::Token(t["token=".len()..].to_string()),
        [_, user, pass] => Creds::UserPassword(user.to_string(), pass.to_string()),
        _ => {
            return Err(bad(
                input,
                "after the service name give `;user;password` or `;token=...`",
            ));
        }
    };
    if let Some(svc) = rest.first() {
        // arcpy form: `<root>/services;Folder/Service`.
        let lower = path.to_ascii_lowercase();
        let root = if let Some(r) = lower.strip_suffix("/rest/services") {
            &path[..r.len()]
        } else if let Some(r) = lower.strip_suffix("/services") {
            &path[..r.len()]
        } else {
            return Err(bad(
                input,
                "the part before `;` must end in /services or /rest/services",
            ));
        };
        let svc = svc.trim().trim_matches('/');
        if svc.is_empty() {
            return Err(bad(input, "no service name after `;`"));
        }
        let svc = svc.strip_suffix("/GPServer").unwrap_or(svc);
        return Ok(Target {
            service_url: format!("{origin}{root}/rest/services/{svc}/GPServer"),
            server_root: format!("{origin}{root}"),
            task: None,
            creds,
        });
    }
    let segs: Vec<&str> = path.split('/').collect();
    let Some(i) = segs.iter().position(|s| s.eq_ignore_ascii_case("GPServer")) else {
        return Err(bad(input, ACCEPTED));
    };
    let Some(rs) = segs.iter().position(|s| s.eq_ignore_ascii_case("rest")) else {
        return Err(bad(input, "the URL has no /rest/services/ part"));
    };
    let task = segs
        .get(i + 1)
        .filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case("jobs"))
        .map(|t| percent_decode(t));
    Ok(Target {
        service_url: format!("{origin}{}", segs[..=i].join("/")),
        server_root: format!("{origin}{}", segs[..rs].join("/")),
        task,
        creds,
    })
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, service: &str, root: &str, task: Option<&str>, creds: Creds) {
        let t = parse(input).unwrap();
        assert_eq!(t.service_url, service);
        assert_eq!(t.server_root, root);
        assert_eq!(t.task.as_deref(), task);
        assert_eq!(t.creds, creds);
    }

    #[test]
    fn import_forms() {
        let svc = "http://h:8080/arcgis/rest/services/GP/BufferByVal/GPServer";
        check(svc, svc, "http://h:8080/arcgis", None, Creds::None);
        check(
            &format!("{svc}/"),
            svc,
            "http://h:8080/arcgis",
            None,
            Creds::None,
        );
        check(
            &format!("{svc}/BufferPoints?f=json"),
            svc,
            "http://h:8080/arcgis",
            Some("BufferPoints"),
            Creds::None,
        );
        check(
            "https://s/arcgis/rest/services/911CallsHotspot/GPServer/911%20Calls%20Hotspot",
            "https://s/arcgis/rest/services/911CallsHotspot/GPServer",
            "https://s/arcgis",
            Some("911 Calls Hotspot"),
            Creds::None,
        );
        check(
            "http://h:8080/arcgis/services;GP/BufferByVal",
            svc,
            "http://h:8080/arcgis",
            None,
            Creds::None,
        );
        check(
            "http://h:8080/arcgis/services;GP/BufferByVal;alice;pw",
            svc,
            "http://h:8080/arcgis",
            None,
            Creds::UserPassword("alice".into(), "pw".into()),
        );
        check(
            "http://h:8080/arcgis/services;GP/BufferByVal;token=abc",
            svc,
            "http://h:8080/arcgis",
            None,
            Creds::Token("abc".into()),
        );
        for bad in [
            "not a url",
            "ftp://h/arcgis/rest/services/A/GPServer",
            "http://h/arcgis/rest/services/A/MapServer",
            "http://h/x;GP/A",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let e = parse("http://h/arcgis/services;GP/A;alice;s3cret;extra")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("s3cret"), "{e}");
    }
}
