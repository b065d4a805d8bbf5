//! Every form a user gives a GP resource in, parsed in one place: a services
//! directory (root or folder), a GPServer URL, a task URL, a job URL, and arcpy's
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

/// What a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// A services directory: `…/rest/services` or a folder under it.
    Directory {
        /// `…/rest/services[/Folder]`, without query.
        url: String,
        /// The folder, when one is named.
        folder: Option<String>,
    },
    /// A GP service: `…/rest/services/[Folder/]Name/GPServer`.
    Service {
        /// The GPServer URL.
        service_url: String,
    },
    /// A task of a GP service.
    Task {
        /// The GPServer URL.
        service_url: String,
        /// The task name (percent-decoded).
        task: String,
    },
    /// A job of a task.
    Job {
        /// The GPServer URL.
        service_url: String,
        /// The task name (percent-decoded).
        task: String,
        /// The job id.
        job_id: String,
    },
}

impl Location {
    /// The GPServer URL, for a service, task or job.
    pub fn service_url(&self) -> Option<&str> {
        match self {
            Location::Directory { .. } => None,
            Location::Service { service_url }
            | Location::Task { service_url, .. }
            | Location::Job { service_url, .. } => Some(service_url),
        }
    }

    /// The task named, for a task or job.
    pub fn task(&self) -> Option<&str> {
        match self {
            Location::Task { task, .. } | Location::Job { task, .. } => Some(task),
            _ => None,
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Directory { url, .. } => write!(f, "the services directory {url}"),
            Location::Service { service_url } => write!(f, "the GP service {service_url}"),
            Location::Task { service_url, task } => {
                write!(f, "the task {task} of {service_url}")
            }
            Location::Job {
                service_url,
                task,
                job_id,
            } => write!(f, "job {job_id} of task {task} of {service_url}"),
        }
    }
}

/// A parsed URL or arcpy toolbox string: what it names, the server's root (for
/// `rest/info` and tokens) and any credentials it carried (never printed).
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// What the URL names.
    pub location: Location,
    /// The server root, `…/arcgis`.
    pub server_root: String,
    pub(crate) creds: Creds,
}

impl Target {
    /// Parses `input`; errors name the input without any credentials.
    ///
    /// ```
    /// use gp_client::{Location, Target};
    /// let t = Target::parse("http://h/arcgis/services;GP/BufferByVal;token=secret").unwrap();
    /// assert_eq!(
    ///     t.location,
    ///     Location::Service { service_url: "http://h/arcgis/rest/services/GP/BufferByVal/GPServer".into() }
    /// );
    /// assert!(t.has_credentials() && !format!("{t:?}").contains("secret"));
    /// ```
    pub fn parse(input: &str) -> Result<Target, Error> {
        parse(input)
    }

    /// True when the input carried a user and password or a token.
    pub fn has_credentials(&self) -> bool {
        self.creds != Creds::None
    }
}

fn bad(input: &str, m: &str) -> Error {
    Error::BadUrl {
        input: input.split(';').next().unwrap_or_default().to_string(),
        message: m.to_string(),
    }
}

const ACCEPTED: &str = "give …/rest/services[/Folder], …/rest/services/[Folder/]Service/GPServer, a task or job URL under it, or arcpy's \"http://host/arcgis/services;Folder/Service[;user;password]\"";

/// Parses a URL or arcpy toolbox string.
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
            location: Location::Service {
                service_url: format!("{origin}{root}/rest/services/{svc}/GPServer"),
            },
            server_root: format!("{origin}{root}"),
            creds,
        });
    }
    let segs: Vec<&str> = path.split('/').collect();
    let Some(rs) = segs
        .windows(2)
        .position(|w| w[0].eq_ignore_ascii_case("rest") && w[1].eq_ignore_ascii_case("services"))
    else {
        return Err(bad(
            input,
            &format!("the URL has no /rest/services; {ACCEPTED}"),
        ));
    };
    let server_root = format!("{origin}{}", segs[..rs].join("/"));
    let Some(i) = segs.iter().position(|s| s.eq_ignore_ascii_case("GPServer")) else {
        if let Some(kind) = segs[rs + 2..].iter().find(|s| s.ends_with("Server")) {
            return Err(bad(
                input,
                &format!("it names a {kind}, not a GP service (GPServer) or a services directory"),
            ));
        }
        let folder = segs[rs + 2..].join("/");
        return Ok(Target {
            location: Location::Directory {
                url: format!("{origin}{path}"),
                folder: (!folder.is_empty()).then(|| percent_decode(&folder)),
            },
            server_root,
            creds,
        });
    };
    if i <= rs + 2 {
        return Err(bad(input, "no service name before /GPServer"));
    }
    let service_url = format!("{origin}{}", segs[..=i].join("/"));
    let after: Vec<&str> = segs[i + 1..]
        .iter()
        .copied()
        .filter(|s| !s.is_empty())
        .collect();
    let location = match after.as_slice() {
        [] => Location::Service { service_url },
        [task] if !task.eq_ignore_ascii_case("jobs") => Location::Task {
            service_url,
            task: percent_decode(task),
        },
        [task, jobs, id, ..] if jobs.eq_ignore_ascii_case("jobs") => Location::Job {
            service_url,
            task: percent_decode(task),
            job_id: percent_decode(id),
        },
        [task, other, ..] if !other.eq_ignore_ascii_case("jobs") => Location::Task {
            // `…/Task/execute`, `…/Task/submitJob`: the task.
            service_url,
            task: percent_decode(task),
        },
        _ => return Err(bad(input, "a job URL is …/GPServer/<task>/jobs/<jobId>")),
    };
    Ok(Target {
        location,
        server_root,
        creds,
    })
}

pub(crate) fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, location: Location, root: &str, creds: Creds) {
        let t = parse(input).unwrap();
        assert_eq!(t.location, location);
        assert_eq!(t.server_root, root);
        assert_eq!(t.creds, creds);
    }

    fn service(url: &str) -> Location {
        Location::Service {
            service_url: url.into(),
        }
    }

    fn task(url: &str, t: &str) -> Location {
        Location::Task {
            service_url: url.into(),
            task: t.into(),
        }
    }

    #[test]
    fn every_form() {
        let svc = "http://h:8080/arcgis/rest/services/GP/BufferByVal/GPServer";
        let root = "http://h:8080/arcgis";
        check(svc, service(svc), root, Creds::None);
        check(&format!("{svc}/"), service(svc), root, Creds::None);
        check(
            &format!("{svc}/BufferPoints?f=json"),
            task(svc, "BufferPoints"),
            root,
            Creds::None,
        );
        check(
            &format!("{svc}/BufferPoints/submitJob"),
            task(svc, "BufferPoints"),
            root,
            Creds::None,
        );
        check(
            &format!("{svc}/BufferPoints/jobs/j1a2?f=json"),
            Location::Job {
                service_url: svc.into(),
                task: "BufferPoints".into(),
                job_id: "j1a2".into(),
            },
            root,
            Creds::None,
        );
        check(
            "https://s/arcgis/rest/services/911CallsHotspot/GPServer/911%20Calls%20Hotspot",
            task(
                "https://s/arcgis/rest/services/911CallsHotspot/GPServer",
                "911 Calls Hotspot",
            ),
            "https://s/arcgis",
            Creds::None,
        );
        check(
            "http://h:8080/arcgis/rest/services?f=pjson",
            Location::Directory {
                url: "http://h:8080/arcgis/rest/services".into(),
                folder: None,
            },
            root,
            Creds::None,
        );
        check(
            "http://h:8080/arcgis/rest/services/GP/",
            Location::Directory {
                url: "http://h:8080/arcgis/rest/services/GP".into(),
                folder: Some("GP".into()),
            },
            root,
            Creds::None,
        );
        check(
            "http://h:8080/arcgis/services;GP/BufferByVal",
            service(svc),
            root,
            Creds::None,
        );
        check(
            "http://h:8080/arcgis/services;GP/BufferByVal;alice;pw",
            service(svc),
            root,
            Creds::UserPassword("alice".into(), "pw".into()),
        );
        check(
            "http://h:8080/arcgis/rest/services;GP/BufferByVal/GPServer;token=abc",
            service(svc),
            root,
            Creds::Token("abc".into()),
        );
        for bad in [
            "not a url",
            "ftp://h/arcgis/rest/services/A/GPServer",
            "http://h/arcgis/rest/services/A/MapServer",
            "http://h/arcgis/rest/services/GPServer",
            "http://h/x;GP/A",
            "http://h/arcgis/x/GPServer",
            "http://h/arcgis/rest/services/A/GPServer/T/jobs",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let e = parse("http://h/arcgis/services;GP/A;alice;s3cret;extra")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("s3cret"), "{e}");
    }
}
