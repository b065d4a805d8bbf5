//! Hosted feature layers: `Hosted/<name>/FeatureServer/0`. The sample layers (the
//! Natural Earth cities and countries) are published at start; tools write outputs
//! here when asked (`esri_out_feature_service_name`), owned by the caller and kept in
//! `<data dir>/hosted/<name>.json` so they survive a restart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use gp_model::{AttrValue, FeatureSet, Field, FieldType};
use serde::{Deserialize, Serialize};

/// The folder hosted layers are published in.
pub(crate) const FOLDER: &str = "Hosted";
/// The longest hosted service name.
const MAX_NAME: usize = 120;

/// The path of a hosted layer: `/arcgis/rest/services/Hosted/<name>/FeatureServer/0`.
pub(crate) fn layer_path(name: &str) -> String {
    format!("/arcgis/rest/services/{FOLDER}/{name}/FeatureServer/0")
}

/// The hosted service name in a layer URL's path, when it is one of this server's
/// hosted layers (`…/rest/services/Hosted/<name>/FeatureServer/0`).
pub(crate) fn name_in_path(path: &str) -> Option<String> {
    let segs = crate::route::segments(path);
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    match s.as_slice() {
        [.., r, sv, f, name, fs, "0"]
            if r.eq_ignore_ascii_case("rest")
                && sv.eq_ignore_ascii_case("services")
                && f.eq_ignore_ascii_case(FOLDER)
                && fs.eq_ignore_ascii_case("FeatureServer") =>
        {
            Some((*name).to_string())
        }
        _ => None,
    }
}

/// One hosted layer (a feature service with one layer, id 0).
#[derive(Debug)]
pub(crate) struct HostedLayer {
    /// The service name, as published.
    pub(crate) name: String,
    /// Who may read it; `None`: anyone.
    pub(crate) owner: Option<String>,
    /// The features, each with an object id.
    pub(crate) fs: FeatureSet,
    /// The object id field.
    pub(crate) oid: String,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    name: String,
    owner: Option<String>,
    #[serde(rename = "featureSet")]
    fs: serde_json::Value,
}

/// Every hosted layer, by lower-case name.
#[derive(Debug)]
pub(crate) struct Hosted {
    dir: PathBuf,
    layers: RwLock<BTreeMap<String, Arc<HostedLayer>>>,
}

/// Checks a service name as ArcGIS does: letters, digits and `_`, starting with a letter.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid service name: use letters, digits and _, starting with a letter, at most {MAX_NAME} characters"
        ))
    }
}

/// The layer with an object id on every feature: the OID field if it has one, else
/// a new `OBJECTID` numbered from 1.
fn with_oid(mut fs: FeatureSet) -> (FeatureSet, String) {
    let fields = fs.fields.get_or_insert_with(Vec::new);
    if let Some(f) = fields.iter().find(|f| f.field_type == FieldType::Oid) {
        let name = f.name.clone();
        return (fs, name);
    }
    let name = if fields
        .iter()
        .any(|f| f.name.eq_ignore_ascii_case("OBJECTID"))
    {
        "OBJECTID_1".to_string()
    } else {
        "OBJECTID".to_string()
    };
    fields.insert(0, Field::new(&name, FieldType::Oid).with_alias(&name));
    for (i, f) in fs.features.iter_mut().enumerate() {
        f.attributes
            .shift_insert(0, name.clone(), AttrValue::Int(i as i64 + 1));
    }
    (fs, name)
}

impl Hosted {
    /// Opens the store in `dir` (created if missing), with the outputs saved there.
    pub(crate) fn open(dir: &Path) -> Result<Hosted, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let h = Hosted {
            dir: dir.to_path_buf(),
            layers: RwLock::new(BTreeMap::new()),
        };
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let loaded = std::fs::read(&p)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice::<Stored>(&b).map_err(|e| e.to_string()))
                .and_then(|s| {
                    let fs = FeatureSet::from_json(&s.fs.to_string()).map_err(|e| e.to_string())?;
                    Ok((s.name, s.owner, fs))
                });
            match loaded {
                Ok((name, owner, fs)) => h.insert(&name, owner, fs),
                Err(e) => tracing::warn!(file = %p.display(), "a hosted layer was not loaded: {e}"),
            }
        }
        Ok(h)
    }

    fn insert(&self, name: &str, owner: Option<String>, fs: FeatureSet) {
        let (fs, oid) = with_oid(fs);
        let layer = Arc::new(HostedLayer {
            name: name.to_string(),
            owner,
            fs,
            oid,
        });
        if let Ok(mut m) = self.layers.write() {
            m.insert(name.to_ascii_lowercase(), layer);
        }
    }

    /// Publishes a sample layer (public, not saved).
    pub(crate) fn publish_sample(&self, name: &str, fs: FeatureSet) {
        self.insert(name, None, fs);
    }

    /// Publishes a new layer owned by `owner` and saves it. A name already taken is
    /// refused, as ArcGIS refuses it.
    pub(crate) fn publish(
        &self,
        name: &str,
        owner: Option<&str>,
        fs: FeatureSet,
    ) -> Result<(), String> {
        check_name(name)?;
        if self.get(name).is_some() {
            return Err(format!("a service named {name} already exists"));
        }
        let stored = Stored {
            name: name.to_string(),
            owner: owner.map(str::to_string),
            fs: serde_json::to_value(&fs).map_err(|e| e.to_string())?,
        };
        let bytes = serde_json::to_vec(&stored).map_err(|e| e.to_string())?;
        let path = self.dir.join(format!("{}.json", name.to_ascii_lowercase()));
        gp_fs::write_atomic(
            &path,
            &bytes,
            gp_fs::Options::new(false, gp_fs::Flush::Data),
        )
        .map_err(|e| match e {
            gp_fs::Error::Exists { .. } => format!("a service named {name} already exists"),
            other => format!("saving the hosted layer: {other}"),
        })?;
        self.insert(name, owner.map(str::to_string), fs);
        Ok(())
    }

    /// Reserves nothing: true when `name` is free now.
    pub(crate) fn is_free(&self, name: &str) -> bool {
        self.get(name).is_none()
    }

    /// The layer published as `name` (case-insensitive).
    pub(crate) fn get(&self, name: &str) -> Option<Arc<HostedLayer>> {
        self.layers
            .read()
            .ok()
            .and_then(|m| m.get(&name.to_ascii_lowercase()).cloned())
    }

    /// The names `user` may see, sorted.
    pub(crate) fn names(&self, user: Option<&str>) -> Vec<String> {
        self.layers
            .read()
            .map(|m| {
                m.values()
                    .filter(|l| l.owner.is_none() || l.owner.as_deref() == user)
                    .map(|l| l.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_taken_once() {
        let dir = tempfile::tempdir().expect("dir");
        let h = Hosted::open(dir.path()).expect("open");
        assert!(check_name("Buffers_2026").is_ok());
        for bad in ["", "2x", "a b", "../x", "a/b", &"x".repeat(121)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        let fs = FeatureSet::with_schema(None, None, vec![Field::new("N", FieldType::Integer)]);
        h.publish("Out", Some("ann"), fs.clone()).expect("first");
        let e = h.publish("OUT", Some("ann"), fs).expect_err("second");
        assert!(e.contains("already exists"), "{e}");
        let again = Hosted::open(dir.path()).expect("reopen");
        let l = again.get("out").expect("kept");
        assert_eq!(l.owner.as_deref(), Some("ann"));
        assert_eq!(l.oid, "OBJECTID");
        assert_eq!(again.names(None), Vec::<String>::new());
        assert_eq!(again.names(Some("ann")), vec!["Out".to_string()]);
    }
}
