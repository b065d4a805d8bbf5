//! The upload store behind `…/GPServer/uploads` ([`crate::upload_api`]): files uploaded as ArcGIS takes them. Only the allowed file
//! types (`allowedUploadFileTypes`), streamed to disk under a size limit, owned by the
//! uploading user when token security is on, deletable (`uploads/<itemID>/delete`),
//! and removed after the job expiry like jobs.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use axum::extract::multipart::Field;
use gp_model::{ItemId, UploadItem, UploadsInfo};
use serde::{Deserialize, Serialize};

use crate::catalog::ServiceDef;
use crate::ids::new_id;
use crate::names::safe_segment;
use crate::respond::ApiError;

/// File types accepted by default: data a GP tool reads, never scripts, programs or
/// pages (`.sh`, `.exe`, `.html` are refused).
pub(crate) const DEFAULT_TYPES: &str = "zip,json,geojson,csv,txt,xml,tif,tiff,img,png,jpg,jpeg,gpkg,fgb,shp,shx,dbf,prj,cpg,kml,kmz,gpx,sd,las,laz";

/// The upload store.
#[derive(Debug)]
pub(crate) struct Uploads {
    pub(crate) dir: PathBuf,
    /// Largest file in bytes.
    pub(crate) max_bytes: u64,
    /// Accepted extensions (lower case, no dot).
    pub(crate) types: Vec<String>,
    /// Items older than this are removed.
    pub(crate) expiry: Duration,
}

/// An uploaded file on disk, not yet an item; removed when dropped uncommitted.
#[derive(Debug)]
pub(crate) struct Incoming {
    name: String,
    pub(crate) file: tempfile::NamedTempFile,
    pub(crate) size: u64,
    owner: Option<String>,
}

/// `item.json`: the item as served, and its owner (not served).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Stored {
    pub(crate) item: UploadItem,
    #[serde(default)]
    pub(crate) owner: Option<String>,
}

fn sanitize(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let s: String = base
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_start_matches('.').to_string();
    if s.is_empty() {
        "upload.bin".to_string()
    } else {
        s
    }
}

fn item_id() -> String {
    let h = new_id("");
    format!(
        "i{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn mb(bytes: u64) -> String {
    let m = bytes as f64 / (1u64 << 20) as f64;
    if m >= 10.0 {
        format!("{m:.0}")
    } else {
        format!("{m:.1}")
    }
}

impl Uploads {
    /// What the uploads accept.
    pub(crate) fn info(&self) -> UploadsInfo {
        UploadsInfo {
            max_upload_file_size: Some(self.max_bytes.div_ceil(1 << 20)),
            allowed_upload_file_types: Some(self.types.join(",")),
        }
    }

    /// Streams the file field `field` to disk: refused at once when its type is not
    /// allowed, and as soon as it passes the size limit.
    /// A part of an upload by parts is not checked here: its item's name was, at
    /// `register`.
    pub(crate) async fn receive(
        &self,
        mut field: Field<'_>,
        file_name: &str,
        owner: Option<String>,
        declared: Option<u64>,
        is_part: bool,
    ) -> Result<Incoming, ApiError> {
        let name = sanitize(file_name);
        if !is_part {
            self.check_type(&name)?;
        }
        let incoming_dir = self.dir.join(".incoming");
        std::fs::create_dir_all(&incoming_dir)
            .map_err(|e| ApiError::internal(format!("storing the upload: {}", e.kind())))?;
        let mut file = tempfile::NamedTempFile::new_in(&incoming_dir)
            .map_err(|e| ApiError::internal(format!("storing the upload: {}", e.kind())))?;
        let mut size: u64 = 0;
        loop {
            let chunk = match field.chunk().await {
                Ok(Some(c)) => c,
                Ok(None) => break,
                Err(e) => {
                    let err: &(dyn std::error::Error + 'static) = &e;
                    return Err(crate::body::body_error(err, "reading the uploaded file"));
                }
            };
            size += chunk.len() as u64;
            if size > self.max_bytes {
                let n = match declared.filter(|d| *d > self.max_bytes) {
                    Some(d) => format!("{} MB", mb(d)),
                    None => format!("more than {} MB", mb(self.max_bytes)),
                };
                return Err(self.too_large(n));
            }
            file.write_all(&chunk)
                .map_err(|e| ApiError::internal(format!("storing the upload: {}", e.kind())))?;
        }
        Ok(Incoming {
            name,
            file,
            size,
            owner,
        })
    }

    /// A file sent inline (an OGC input encoded as base64), as if uploaded: its type
    /// checked, its size limited, owned by `owner`.
    pub(crate) fn receive_bytes(
        &self,
        file_name: &str,
        bytes: &[u8],
        owner: Option<String>,
    ) -> Result<Incoming, ApiError> {
        let name = sanitize(file_name);
        self.check_type(&name)?;
        if bytes.len() as u64 > self.max_bytes {
            return Err(self.too_large(format!("{} MB", mb(bytes.len() as u64))));
        }
        let incoming_dir = self.dir.join(".incoming");
        let fail =
            |e: std::io::Error| ApiError::internal(format!("storing the input: {}", e.kind()));
        std::fs::create_dir_all(&incoming_dir).map_err(fail)?;
        let mut file = tempfile::NamedTempFile::new_in(&incoming_dir).map_err(fail)?;
        file.write_all(bytes).map_err(fail)?;
        Ok(Incoming {
            name,
            file,
            size: bytes.len() as u64,
            owner,
        })
    }

    /// Refuses a file name whose type is not on the list.
    pub(crate) fn check_type(&self, name: &str) -> Result<(), ApiError> {
        let ext = crate::tools::extension(std::path::Path::new(name));
        if self.info().allows(&ext) {
            return Ok(());
        }
        Err(ApiError::bad_param(
            "file",
            &format!(
                "`.{ext}` files are not accepted here (accepted: {})",
                self.types.join(", ")
            ),
        ))
    }

    /// The refusal of a file past the limit: `size` is what is known of it.
    pub(crate) fn too_large(&self, size: String) -> ApiError {
        ApiError::bad_param(
            "file",
            &format!(
                "the file is too large ({size}, limit {} MB)",
                mb(self.max_bytes)
            ),
        )
    }

    pub(crate) fn item_dir(&self, id: &str) -> Option<PathBuf> {
        (safe_segment(id) && id.starts_with('i')).then(|| self.dir.join(id))
    }

    pub(crate) fn stored(
        &self,
        id: &str,
        user: Option<&str>,
    ) -> Result<(PathBuf, Stored), ApiError> {
        let not_found = || ApiError::not_found(format!("Item {id} not found"));
        let dir = self.item_dir(id).ok_or_else(not_found)?;
        let bytes = std::fs::read(dir.join("item.json")).map_err(|_| not_found())?;
        let s: Stored = serde_json::from_slice(&bytes).map_err(|_| not_found())?;
        match &s.owner {
            Some(o) if Some(o.as_str()) != user => Err(ApiError::forbidden()),
            _ => Ok((dir, s)),
        }
    }

    /// The file of item `id`, when `user` may read it.
    pub(crate) fn item_file(&self, id: &str, user: Option<&str>) -> Option<PathBuf> {
        let (dir, s) = self.stored(id, user).ok()?;
        let p = dir.join("file").join(s.item.item_name.as_deref()?);
        p.is_file().then_some(p)
    }

    /// Stores a single uploaded file as a committed item.
    pub(crate) fn store_single(
        &self,
        incoming: Incoming,
        svc: &ServiceDef,
        description: &str,
    ) -> Result<UploadItem, ApiError> {
        let id = item_id();
        let dir = self.dir.join(&id);
        let item = UploadItem {
            item_id: ItemId::new(id),
            item_name: Some(incoming.name.clone()),
            description: Some(description.to_string()),
            date: Some(chrono::Utc::now().timestamp_millis()),
            committed: Some(true),
            service_name: Some(svc.qualified_name()),
            size: Some(incoming.size),
        };
        let stored = Stored {
            item: item.clone(),
            owner: incoming.owner.clone(),
        };
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(dir.join("file"))?;
            incoming
                .file
                .persist_noclobber(dir.join("file").join(&incoming.name))
                .map_err(|e| e.error)?;
            write_record(&dir, &stored)
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(ApiError::internal(format!(
                "storing the upload: {}",
                e.kind()
            )));
        }
        Ok(item)
    }

    /// Reserves an item for an upload by parts (`register`): its name's type is checked
    /// now, its parts come with `uploadPart`.
    pub(crate) fn register(
        &self,
        item_name: &str,
        svc: &ServiceDef,
        description: &str,
        owner: Option<String>,
    ) -> Result<UploadItem, ApiError> {
        let name = sanitize(item_name);
        self.check_type(&name)?;
        let id = item_id();
        let dir = self.dir.join(&id);
        let stored = Stored {
            item: UploadItem {
                item_id: ItemId::new(id),
                item_name: Some(name),
                description: Some(description.to_string()),
                date: Some(chrono::Utc::now().timestamp_millis()),
                committed: Some(false),
                service_name: Some(svc.qualified_name()),
                size: None,
            },
            owner,
        };
        std::fs::create_dir_all(dir.join("parts"))
            .and_then(|()| write_record(&dir, &stored))
            .map_err(|e| ApiError::internal(format!("registering the upload: {}", e.kind())))?;
        Ok(stored.item)
    }

    /// Removes items uploaded longer ago than the expiry; returns how many.
    pub(crate) fn expire(&self) -> usize {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return 0;
        };
        let cutoff = chrono::Utc::now().timestamp_millis()
            - i64::try_from(self.expiry.as_millis()).unwrap_or(i64::MAX);
        let mut n = 0;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(dir) = self.item_dir(&name) else {
                continue;
            };
            let date = std::fs::read(dir.join("item.json"))
                .ok()
                .and_then(|b| serde_json::from_slice::<Stored>(&b).ok())
                .and_then(|s| s.item.date);
            if date.is_some_and(|d| d <= cutoff) && std::fs::remove_dir_all(&dir).is_ok() {
                n += 1;
            }
        }
        n
    }
}

/// Writes `item.json` of an item folder (temp file, data flushed, then rename).
pub(crate) fn write_record(dir: &std::path::Path, stored: &Stored) -> std::io::Result<()> {
    let bytes = serde_json::to_vec_pretty(stored).map_err(std::io::Error::other)?;
    gp_fs::write_atomic(
        &dir.join("item.json"),
        &bytes,
        gp_fs::Options::new(true, gp_fs::Flush::Data),
    )
    .map_err(std::io::Error::other)?;
    Ok(())
}
