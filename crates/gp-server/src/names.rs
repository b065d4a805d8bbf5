//! Resolution of names to local files: `/rest/directories/…` paths (checked segment by
//! segment, owner-checked, never through a symlink that leaves the data directory),
//! uploaded items and the built-in sample, for both file serving and tool inputs.

use std::path::{Path, PathBuf};

use gp_model::{DataRef, GpValue};
use serde::Deserialize;

use crate::respond::ApiError;
use crate::route::segments;
use crate::samples::{SAMPLE_DEM, SAMPLE_DEM_FILE};
use crate::state::{App, eq};
use crate::tools::{BadParam, HostedTarget, LayerInput, Resolver};

/// Checks that a path segment is a plain file or folder name.
pub(crate) fn safe_segment(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\', '\0']) && !s.starts_with('.')
}

/// Maps `/rest/directories/...` segments to a local file, checking job ownership.
/// Anything missing, hidden, or resolving outside the data directory is a 404.
pub(crate) fn directory_file(
    app: &App,
    user: Option<&str>,
    tail: &[&str],
) -> Result<PathBuf, ApiError> {
    let not_found = || ApiError::file_not_found(&tail.join("/"));
    if !tail.iter().all(|s| safe_segment(s)) {
        return Err(not_found());
    }
    let path = match tail {
        [root, svc, job, scratch, file]
            if (eq(root, "arcgisjobs") || eq(root, "arcgisoutput")) && eq(scratch, "scratch") =>
        {
            let base = if eq(root, "arcgisjobs") {
                app.jobs.jobs_root()
            } else {
                app.jobs.output_root()
            };
            let dir = base.join(svc.to_ascii_lowercase()).join(job);
            owner_check(&dir, user)?;
            dir.join("scratch").join(file)
        }
        [samples, file] if eq(samples, "samples") => app.samples_dir.join(file),
        _ => return Err(not_found()),
    };
    inside_data(app, &path).ok_or_else(not_found)
}

/// The file at `path` when it is a regular file whose real path is under the data
/// directory (a symlink out of it is not followed).
pub(crate) fn inside_data(app: &App, path: &Path) -> Option<PathBuf> {
    let real = path.canonicalize().ok()?;
    (real.starts_with(&app.data_root) && real.is_file()).then_some(real)
}

#[derive(Deserialize)]
struct OwnerOnly {
    #[serde(default)]
    owner: Option<String>,
}

fn owner_check(job_dir: &Path, user: Option<&str>) -> Result<(), ApiError> {
    let Ok(bytes) = std::fs::read(job_dir.join("job.json")) else {
        return Ok(());
    };
    let owner = serde_json::from_slice::<OwnerOnly>(&bytes)
        .ok()
        .and_then(|o| o.owner);
    match owner {
        Some(o) if Some(o.as_str()) != user => Err(ApiError::forbidden()),
        _ => Ok(()),
    }
}

/// Resolves data references for tools.
#[derive(Debug)]
pub(crate) struct AppResolver<'a> {
    pub(crate) app: &'a App,
    pub(crate) user: Option<&'a str>,
    /// The request's `scheme://host:port`: a layer URL is this server's when it
    /// starts with it.
    pub(crate) base: &'a str,
}

impl Resolver for AppResolver<'_> {
    fn layer(&self, param: &str, r: &DataRef) -> Result<Option<LayerInput>, BadParam> {
        let Some(url) = r.url.as_deref() else {
            return Ok(None);
        };
        let path = url.split(['?', '#']).next().unwrap_or_default();
        let lower = path.to_ascii_lowercase();
        if !lower.contains("/featureserver/") && !lower.contains("/mapserver/") {
            return Ok(None);
        }
        let ours = path
            .strip_prefix(self.base)
            .filter(|rest| rest.starts_with('/'))
            .and_then(crate::hosted::name_in_path);
        let filter = r.filter.as_deref().map(str::trim).filter(|f| !f.is_empty());
        let where_clause = filter
            .map(|text| {
                gp_model::Where::parse(text)
                    .map_err(|e| BadParam::new(param, format!("filter: {e}")))
            })
            .transpose()?;
        let Some(name) = ours else {
            let allowed = crate::remote_layer::origin(path)
                .is_some_and(|o| self.app.layer_sources.contains(&o));
            if !allowed {
                return Err(BadParam::new(
                    param,
                    format!(
                        "{url}: this server reads the layers it hosts ({}/arcgis/rest/services/{}/<name>/FeatureServer/0) and those of the origins it was started with (--layer-source); it does not fetch layers from other servers",
                        self.base,
                        crate::hosted::FOLDER
                    ),
                ));
            }
            return Ok(Some(LayerInput::Remote(crate::remote_layer::RemoteLayer {
                url: path.trim_end_matches('/').to_string(),
                filter: filter.map(str::to_string),
                max_features: self.app.max_vertices as u64,
                max_bytes: self.app.max_body,
            })));
        };
        let not_found = || BadParam::new(param, format!("{url}: no hosted layer named {name}"));
        let l = self.app.hosted.get(&name).ok_or_else(not_found)?;
        if let Some(owner) = &l.owner
            && self.app.auth.enabled()
            && Some(owner.as_str()) != self.user
        {
            return Err(not_found());
        }
        let mut fs = l.fs.schema_only();
        fs.features = match where_clause {
            None => l.fs.features.clone(),
            Some(w) => {
                w.check_fields(l.fs.fields.as_deref().unwrap_or_default())
                    .map_err(|m| BadParam::new(param, format!("filter: {m}")))?;
                l.fs.features
                    .iter()
                    .filter(|f| w.matches(&f.attributes))
                    .cloned()
                    .collect()
            }
        };
        Ok(Some(LayerInput::Features(Box::new(fs))))
    }

    fn hosted(&self, name: &str) -> Result<HostedTarget, BadParam> {
        let p = crate::tools::HOSTED_OUTPUT_PARAM;
        crate::hosted::check_name(name).map_err(|m| BadParam::new(p, m))?;
        if !self.app.hosted.is_free(name) {
            return Err(BadParam::new(
                p,
                format!("a service named {name} already exists; choose another name"),
            ));
        }
        Ok(HostedTarget {
            store: self.app.hosted.clone(),
            name: name.to_string(),
            owner: self.user.map(str::to_string),
        })
    }

    fn resolve(&self, param: &str, value: &GpValue) -> Result<PathBuf, BadParam> {
        let sample = |name: &str| -> Option<PathBuf> {
            let n = name.trim();
            (eq(n, SAMPLE_DEM) || eq(n, SAMPLE_DEM_FILE))
                .then(|| self.app.samples_dir.join(SAMPLE_DEM_FILE))
        };
        match value {
            GpValue::String(s) => sample(s).ok_or_else(|| {
                BadParam::new(
                    param,
                    format!("`{s}` is not a sample name (the sample is `{SAMPLE_DEM}`)"),
                )
            }),
            GpValue::DataRef(r) => {
                // An uploaded file is this server's portal item too.
                let item = r
                    .item_id
                    .as_ref()
                    .map(|i| i.as_str())
                    .or(r.portal_item_id.as_deref());
                if let Some(item) = item {
                    return self.app.uploads.item_file(item, self.user).ok_or_else(|| {
                        BadParam::new(param, format!("no uploaded item with itemID `{item}`"))
                    });
                }
                if let Some(url) = &r.url {
                    if let Some(p) = sample(url) {
                        return Ok(p);
                    }
                    let lower = url.to_ascii_lowercase();
                    if let Some(i) = lower.find("/rest/directories/") {
                        let tail = &url[i + "/rest/directories/".len()..];
                        let tail = tail.split(['?', '#']).next().unwrap_or_default();
                        let segs = segments(tail);
                        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
                        return directory_file(self.app, self.user, &segs)
                            .map_err(|e| BadParam::new(param, format!("{url}: {}", e.message)));
                    }
                    return Err(BadParam::new(
                        param,
                        format!(
                            "{url}: this server reads only its own files (…/rest/directories/…), uploaded items ({{\"itemID\": …}}) and the sample `{SAMPLE_DEM}`; it does not fetch other URLs"
                        ),
                    ));
                }
                Err(BadParam::new(
                    param,
                    "expected {\"url\": ...} or {\"itemID\": ...}",
                ))
            }
            _ => Err(BadParam::new(param, "expected a data reference")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_are_segments() {
        assert!(!safe_segment(".."));
        assert!(!safe_segment(".hidden"));
        assert!(!safe_segment("a/b"));
        assert!(safe_segment("Output_Slope.tif"));
    }
}
