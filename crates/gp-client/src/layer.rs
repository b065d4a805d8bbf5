//! Feature layers read whole with paged queries: a hosted output (`{"url":
//! ".../FeatureServer/0"}`), a result map service's job layer (the way to get an
//! output cut at `maximumRecords`), any layer URL.
//!
//! Paging follows the layer's metadata: with `supportsPagination`, `resultOffset`/
//! `resultRecordCount` pages of the layer's `maxRecordCount` ordered by the object id
//! (the order must be stable between pages); without it (ArcGIS 10.0 and earlier),
//! the object ids first, then `objectIds` chunks. The count is asked first and the
//! features that arrive must add up to it: a layer never comes back short silently.

use gp_features::{PartsWriter, SaveReport};
use gp_model::{CountResponse, FeatureSet, FieldType, IdsResponse, LayerInfo, LayerQuery};
use gp_transport::{Idempotency, TransportExt};

use crate::error::Error;
use crate::target::Creds;
use crate::{Client, wire};

/// A feature layer: `…/FeatureServer/<n>` or `…/MapServer/<n>` (also a result map
/// service's `…/MapServer/jobs/<jobId>/<n>`).
///
/// ```no_run
/// # async fn demo() -> Result<(), gp_client::Error> {
/// let client = gp_client::Client::http()?;
/// let layer = client.layer("http://127.0.0.1:8080/arcgis/rest/services/Hosted/naturalearth_cities/FeatureServer/0");
/// let q = gp_model::LayerQuery { where_clause: Some("name LIKE 'S%'".into()), ..Default::default() };
/// let report = layer.save(&q, "s_cities.gpkg", &Default::default()).await?;
/// println!("{} features", report.features);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FeatureLayer {
    client: Client,
    url: String,
}

impl Client {
    /// The feature layer at `url`. Tokens of this client go to it only when it is on
    /// the server they were issued for (see [`crate::ClientBuilder::trust_host`]).
    pub fn layer(&self, url: &str) -> FeatureLayer {
        let url = url.trim().trim_end_matches('/').to_string();
        let root = server_root(&url);
        FeatureLayer {
            client: self.for_root(&Creds::None, &root),
            url,
        }
    }
}

/// `https://host/arcgis` of a layer URL (everything before `/rest/`), or its origin.
fn server_root(url: &str) -> String {
    let lower = url.to_ascii_lowercase();
    match lower.find("/rest/") {
        Some(i) => url[..i].to_string(),
        None => gp_transport::origin_of(url).unwrap_or_else(|| url.to_string()),
    }
}

impl FeatureLayer {
    /// A layer read through `client` as it is (already bound to its server).
    pub(crate) fn with_client(client: Client, url: &str) -> FeatureLayer {
        FeatureLayer {
            client,
            url: url.trim().trim_end_matches('/').to_string(),
        }
    }

    /// The layer's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The layer's metadata (`?f=json`).
    pub async fn info(&self) -> Result<LayerInfo, Error> {
        wire::get_json(&self.client.transport, &self.url, &[], "layer").await
    }

    /// One `query` request, answered as `T` (POSTed: `where` and `objectIds` may be
    /// long; a query is a read, so it is asked again when it fails in passing).
    async fn ask<T: serde::de::DeserializeOwned>(
        &self,
        q: &LayerQuery,
        what: &'static str,
    ) -> Result<T, Error> {
        let url = format!("{}/query", self.url);
        let form = q.to_form();
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let t = &self.client.transport;
        wire::retry_read(&url, || async {
            let r = t.post_form(&url, &pairs, Idempotency::Idempotent).await?;
            wire::answer(what, &url, r)
        })
        .await
    }

    /// How many features `q` selects.
    pub async fn count(&self, q: &LayerQuery) -> Result<u64, Error> {
        Ok(self
            .ask::<CountResponse>(&q.counting(), "query count")
            .await?
            .count)
    }

    /// One page: the answer to `q` as it is (with `exceededTransferLimit` when cut).
    pub async fn query(&self, q: &LayerQuery) -> Result<FeatureSet, Error> {
        self.ask(q, "query").await
    }

    /// Every feature `q` selects (within its own `resultOffset`/`resultRecordCount`),
    /// in pages, each given to `each` as it arrives. Returns the layer's metadata
    /// and the number of features.
    async fn pages(
        &self,
        q: &LayerQuery,
        mut each: impl AsyncPage,
    ) -> Result<(LayerInfo, u64), Error> {
        let info = self.info().await?;
        let expected = q.expected(self.count(q).await?);
        let mut got = 0u64;
        if info.supports_pagination() {
            while got < expected {
                let fs = self.query(&q.page(&info, got)).await?;
                let n = fs.features.len() as u64;
                if n == 0 {
                    break;
                }
                got += n;
                each.page(complete(fs, &info, q)).await?;
            }
        } else {
            let ids: IdsResponse = self.ask(&q.ids_only(), "query ids").await?;
            let mut ids = ids.object_ids.unwrap_or_default();
            ids.sort_unstable();
            let size = usize::try_from(info.page_size()).unwrap_or(1000);
            for chunk in q.window(&ids).chunks(size) {
                let fs = self.query(&q.chunk(chunk)).await?;
                got += fs.features.len() as u64;
                each.page(complete(fs, &info, q)).await?;
            }
        }
        if got != expected {
            return Err(Error::Protocol {
                url: wire::redact(&self.url),
                status: 200,
                message: format!(
                    "the layer said the query selects {expected} feature(s), but {got} arrived; the layer may have changed while it was read"
                ),
            });
        }
        Ok((info, expected))
    }

    /// Every feature `q` selects, read in pages into one feature set.
    pub async fn read_all(&self, q: &LayerQuery) -> Result<FeatureSet, Error> {
        let mut all = Collect(None);
        let (info, _) = self.pages(q, &mut all).await?;
        Ok(match all.0 {
            Some(fs) => fs,
            None => schema_of(&info, q),
        })
    }

    /// Every feature `q` selects, read in pages straight into the file at `path`
    /// (format from the extension): memory holds one page, and the file appears only
    /// when every page arrived.
    pub async fn save(
        &self,
        q: &LayerQuery,
        path: impl AsRef<std::path::Path>,
        opts: &gp_features::SaveOptions,
    ) -> Result<SaveReport, Error> {
        let (path, opts) = (path.as_ref().to_path_buf(), opts.clone());
        // The file is written on its own thread while the next page is fetched.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Msg>(2);
        let worker = std::thread::Builder::new()
            .name("gp-layer-save".into())
            .spawn(move || -> gp_features::Result<Option<SaveReport>> {
                let mut w: Option<PartsWriter> = None;
                while let Some(m) = rx.blocking_recv() {
                    match m {
                        Msg::Page(fs) => {
                            let writer = match &mut w {
                                Some(w) => w,
                                None => w.insert(PartsWriter::create(&path, &fs, &opts)?),
                            };
                            writer.append(&fs)?;
                        }
                        Msg::End(schema) => {
                            let writer = match w.take() {
                                Some(w) => w,
                                None => PartsWriter::create(&path, &schema, &opts)?,
                            };
                            return writer.finish().map(Some);
                        }
                    }
                }
                // The reading stopped: the writer is dropped, nothing is left.
                Ok(None)
            })
            .map_err(|e| Error::Config {
                message: format!("cannot start the saving thread: {e}"),
            })?;
        let mut w = Write { tx };
        let read = self.pages(q, &mut w).await;
        if let Ok((info, _)) = &read {
            // A closed channel means the writer failed: its error is reported below.
            let _ = w.tx.send(Msg::End(schema_of(info, q))).await;
        }
        drop(w);
        let written = tokio::task::spawn_blocking(move || worker.join())
            .await
            .map_err(|e| Error::Config {
                message: format!("the saving thread failed: {e}"),
            })?
            .map_err(|_| Error::Config {
                message: "the saving thread stopped unexpectedly".into(),
            })?;
        match (read, written) {
            // The writer's own error says more than "it stopped".
            (Err(_), Err(e)) => Err(e.into()),
            (Err(e), _) => Err(e),
            (Ok(_), Err(e)) => Err(e.into()),
            (Ok(_), Ok(Some(r))) => Ok(r),
            (Ok(_), Ok(None)) => Err(Error::Config {
                message: "the saving thread stopped before the end".into(),
            }),
        }
    }
}

/// The schema of an answer from the layer's metadata (answers without `fields`,
/// empty selections): its fields but geometry ones, in the asked fields and
/// spatial reference.
fn schema_of(info: &LayerInfo, q: &LayerQuery) -> FeatureSet {
    let fields = info
        .fields
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|f| f.field_type != FieldType::Geometry)
        .filter(|f| {
            q.out_fields.as_ref().is_none_or(|keep| {
                keep.iter().any(|k| k.eq_ignore_ascii_case(&f.name))
                    || info
                        .oid_field()
                        .is_some_and(|o| o.eq_ignore_ascii_case(&f.name))
            })
        })
        .collect();
    let sr = q.out_sr.clone().or_else(|| {
        info.extent
            .as_ref()
            .and_then(|e| e.spatial_reference.as_deref().cloned())
    });
    let gt = if q.return_geometry == Some(false) {
        None
    } else {
        info.geometry_type.clone()
    };
    let mut fs = FeatureSet::with_schema(gt, sr, fields);
    fs.object_id_field_name = info.oid_field().map(str::to_string);
    fs
}

/// A page as written: the layer's fields when the answer has none (some servers
/// leave them out), the spatial reference asked for when it says none.
fn complete(mut fs: FeatureSet, info: &LayerInfo, q: &LayerQuery) -> FeatureSet {
    if fs.fields.is_none() || fs.geometry_type.is_none() || fs.spatial_reference.is_none() {
        let s = schema_of(info, q);
        if fs.fields.is_none() {
            fs.fields = s.fields;
        }
        if fs.geometry_type.is_none() && fs.features.iter().any(|f| f.geometry.is_some()) {
            fs.geometry_type = s.geometry_type;
        }
        if fs.spatial_reference.is_none() {
            fs.spatial_reference = s.spatial_reference;
        }
    }
    fs.exceeded_transfer_limit = None;
    fs
}

/// What is done with each page.
trait AsyncPage {
    async fn page(&mut self, fs: FeatureSet) -> Result<(), Error>;
}

/// Pages into one feature set.
struct Collect(Option<FeatureSet>);

impl AsyncPage for &mut Collect {
    async fn page(&mut self, fs: FeatureSet) -> Result<(), Error> {
        match &mut self.0 {
            None => self.0 = Some(fs),
            Some(all) => all.features.extend(fs.features),
        }
        Ok(())
    }
}

/// What the saving thread is sent.
enum Msg {
    /// A page to write.
    Page(FeatureSet),
    /// Every page arrived; the schema is used when none did.
    End(FeatureSet),
}

/// Pages into a file, through the saving thread.
struct Write {
    tx: tokio::sync::mpsc::Sender<Msg>,
}

impl AsyncPage for &mut Write {
    async fn page(&mut self, fs: FeatureSet) -> Result<(), Error> {
        if self.tx.send(Msg::Page(fs)).await.is_err() {
            // The writer stopped on an error; the caller reports it.
            return Err(Error::Config {
                message: "the saving thread stopped".into(),
            });
        }
        Ok(())
    }
}
