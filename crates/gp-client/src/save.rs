//! Every output of a result saved to disk: feature sets in a chosen format (streamed
//! from the HTTP body into the file, in bounded memory), rasters and files into the
//! scratch workspace, and a map image. Files appear whole or not at all, and nothing
//! is replaced unless asked.

use std::path::{Path, PathBuf};

use gp_features::Format;
use gp_fs::ScratchWorkspace;
use gp_model::GpValue;

use crate::error::Error;
use crate::result::{GpResult, MapImageOptions};
use crate::toolbox::encode_segment;
use crate::wire;

/// How [`GpResult::save_outputs`] saves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveOptions {
    /// The format of feature and record set outputs. Default GeoPackage (every
    /// output a layer of `outputs.gpkg`); the others give `<output>.<ext>`.
    pub format: Format,
    /// Where rasters and files go; `None`: [`ScratchWorkspace::resolve_or`] with the output
    /// folder (`GP_SCRATCH_WORKSPACE` first).
    pub scratch: Option<ScratchWorkspace>,
    /// Replace existing files (and layers). Without it an existing feature file is
    /// an error and a download gets a numbered name.
    pub overwrite: bool,
    /// Flush files to disk before renaming them into place. Default true: a job's
    /// outputs may be all that is left of it.
    pub sync: bool,
    /// Also save a map image of the first output here (services with a result map
    /// service).
    pub map_image: Option<PathBuf>,
    /// Only these outputs (names as for [`GpResult::output`]); empty: every output.
    pub outputs: Vec<String>,
}

impl Default for SaveOptions {
    fn default() -> Self {
        SaveOptions {
            format: Format::GeoPackage,
            scratch: None,
            overwrite: false,
            sync: true,
            map_image: None,
            outputs: Vec::new(),
        }
    }
}

impl SaveOptions {
    /// Checks, before `tool` runs, that saving its feature outputs into `dir` will
    /// not meet an existing file or layer (unless [`SaveOptions::overwrite`]), so a
    /// job is not run only to have its outputs refused.
    pub fn check_free(&self, tool: &crate::Tool, dir: &Path) -> Result<(), Error> {
        if self.overwrite {
            return Ok(());
        }
        let wanted = |name: &str| {
            self.outputs.is_empty() || self.outputs.iter().any(|o| o.eq_ignore_ascii_case(name))
        };
        for p in tool
            .info()
            .outputs()
            .filter(|p| p.data_type.is_features() && wanted(p.name.as_str()))
        {
            let path = feature_path(dir, p.name.as_str(), self.format);
            let taken = match self.format {
                Format::GeoPackage | Format::FileGdb => {
                    let file = path.parent().unwrap_or(dir);
                    file.exists()
                        && gp_features::layers(file)
                            .map_err(Error::Features)?
                            .iter()
                            .any(|l| l.eq_ignore_ascii_case(p.name.as_str()))
                }
                _ => path.exists(),
            };
            if taken {
                return Err(Error::Config {
                    message: format!(
                        "{} exists already: the output {} would replace it (choose another folder, or allow it with overwrite)",
                        path.display(),
                        p.name
                    ),
                });
            }
        }
        Ok(())
    }
}

/// What was saved of one output.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Saved {
    /// A feature or record set written to a file.
    Features {
        /// The file (or container).
        path: PathBuf,
        /// The layer in a container.
        layer: Option<String>,
        /// Features written.
        features: usize,
        /// True when it was decoded from the HTTP body as it arrived.
        streamed: bool,
        /// True when the server said `exceededTransferLimit`: fewer features came
        /// than the output holds (a warning is added to the messages too).
        exceeded_transfer_limit: bool,
        /// Geometries repaired on writing (rings closed or dropped, partial Z
        /// written as 2-D), one sentence per kind.
        warnings: Vec<String>,
    },
    /// A raster or file downloaded.
    File {
        /// Where.
        path: PathBuf,
    },
    /// A value with no file (a number, a string, a linear unit...).
    Value(Box<GpValue>),
    /// The map image.
    MapImage {
        /// Where.
        path: PathBuf,
    },
}

/// One saved output.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedOutput {
    /// The output parameter (`map image` for the map image).
    pub param: String,
    /// What was saved.
    pub saved: Saved,
}

/// Progress of a download: the output, bytes so far, the total when known.
pub type DownloadProgress<'a> = &'a mut (dyn FnMut(&str, u64, Option<u64>) + Send);

/// Where a feature output called `name` goes in `dir`.
pub fn feature_path(dir: &Path, name: &str, format: Format) -> PathBuf {
    match format {
        Format::GeoPackage => dir.join("outputs.gpkg").join(name),
        Format::FileGdb => dir.join("outputs.gdb").join(name),
        f => dir.join(format!("{name}.{}", f.extension())),
    }
}

impl GpResult {
    /// Saves every output into `dir` (see [`SaveOptions`]): feature and record sets
    /// in the chosen format, rasters and files into the scratch workspace, other
    /// values returned as they are. Feature sets of a job are decoded from the HTTP
    /// body as it arrives, straight into the file, in bounded memory.
    pub async fn save_outputs(
        &self,
        dir: impl AsRef<Path>,
        opts: &SaveOptions,
    ) -> Result<Vec<SavedOutput>, Error> {
        self.save_outputs_with(dir, opts, &mut |_, _, _| {}).await
    }

    /// Like [`GpResult::save_outputs`], reporting download progress.
    pub async fn save_outputs_with(
        &self,
        dir: impl AsRef<Path>,
        opts: &SaveOptions,
        progress: DownloadProgress<'_>,
    ) -> Result<Vec<SavedOutput>, Error> {
        self.require_success()?;
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| Error::Config {
            message: format!("creating the output folder {}: {e}", dir.display()),
        })?;
        let scratch = opts
            .scratch
            .clone()
            .unwrap_or_else(|| ScratchWorkspace::resolve_or(None, Some(dir)));
        let chosen: Vec<&gp_model::ParameterInfo> = if opts.outputs.is_empty() {
            self.tool().info().outputs().collect()
        } else {
            opts.outputs
                .iter()
                .map(|n| self.output_param(n.as_str().into()))
                .collect::<Result<_, _>>()?
        };
        let mut saved = Vec::new();
        for p in chosen {
            let name = p.name.to_string();
            let s = if p.data_type.is_features() {
                self.save_features(&name, &feature_path(dir, &name, opts.format), opts)
                    .await?
            } else {
                match self.output(name.as_str()).await? {
                    GpValue::FeatureSet(fs) | GpValue::RecordSet(fs) => {
                        let path = feature_path(dir, &name, opts.format);
                        save_whole(fs, path, opts).await?
                    }
                    GpValue::DataRef(d) if d.url.is_some() => Saved::File {
                        path: self
                            .download_with(name.as_str(), &scratch, opts.overwrite, &mut |n, t| {
                                progress(&name, n, t)
                            })
                            .await?,
                    },
                    other => Saved::Value(Box::new(other)),
                }
            };
            saved.push(SavedOutput {
                param: name,
                saved: s,
            });
        }
        if let Some(path) = &opts.map_image {
            let img = self.map_image(0, &MapImageOptions::default()).await?;
            saved.push(SavedOutput {
                param: "map image".into(),
                saved: Saved::MapImage {
                    path: img.save(path, opts.overwrite)?,
                },
            });
        }
        Ok(saved)
    }

    /// Saves one feature or record set output to `path` (format from the
    /// extension, `file.gpkg/layer` for a layer): streamed from the job's result
    /// resource when it can be, else decoded whole first. A hosted output is read
    /// from its layer in pages, straight into the file; an output the server cut at
    /// `maximumRecords` is read again, whole, from the result map service's layer
    /// for the job when there is one (else the report says it was cut).
    pub async fn save_features(
        &self,
        name: &str,
        path: &Path,
        opts: &SaveOptions,
    ) -> Result<Saved, Error> {
        self.require_success()?;
        let name = self.output_param(name.into())?.name.to_string();
        let (Some(job), None, false) = (
            self.job_url(),
            self.cached_output(&name),
            self.tool().is_ogc(),
        ) else {
            return self.save_value(&name, path, opts).await;
        };
        let url = format!("{job}/results/{}", encode_segment(&name));
        // A stream cut or corrupted on the way leaves nothing behind (the file is
        // written under a temporary name) and is fetched again.
        let converted = wire::retry_read(&url, || self.stream_features(&url, path, opts)).await?;
        match converted {
            Some(r) if r.exceeded_transfer_limit => {
                match self.result_layer(&name).await? {
                    // The file just written is replaced by the whole output.
                    Some(layer) => self.save_layer(&layer, path, opts, true).await,
                    None => {
                        self.warn_truncated(&name, r.features);
                        Ok(Saved::written(r, true))
                    }
                }
            }
            Some(r) => Ok(Saved::written(r, true)),
            // Not readable in one pass (schema after the features, a layer
            // reference): from the decoded value.
            None => self.save_value(&name, path, opts).await,
        }
    }

    /// Saves output `name` from its decoded value: a feature set as it is (whole
    /// when it was cut and the result map service has it), a layer reference read
    /// in pages into the file.
    async fn save_value(
        &self,
        name: &str,
        path: &Path,
        opts: &SaveOptions,
    ) -> Result<Saved, Error> {
        let layer = match self.output_raw(name).await? {
            GpValue::DataRef(d) if d.url.as_deref().is_some_and(crate::whole::is_layer_url) => self
                .tool()
                .client
                .layer(d.url.as_deref().unwrap_or_default()),
            GpValue::FeatureSet(fs) | GpValue::RecordSet(fs) => {
                if fs.exceeded_transfer_limit == Some(true)
                    && let Some(layer) = self.result_layer(name).await?
                {
                    return self.save_layer(&layer, path, opts, opts.overwrite).await;
                }
                if fs.exceeded_transfer_limit == Some(true) {
                    self.warn_truncated(name, fs.features.len());
                }
                return save_whole(fs, path.to_path_buf(), opts).await;
            }
            GpValue::FeatureCollection(c) => {
                return save_whole(c.feature_set, path.to_path_buf(), opts).await;
            }
            _ => {
                return Err(Error::Protocol {
                    url: self.tool().url().to_string(),
                    status: 200,
                    message: format!("the output {name} is not a feature or record set"),
                });
            }
        };
        self.save_layer(&layer, path, opts, opts.overwrite).await
    }

    /// One attempt to stream the result at `url` into `path`: the report, or
    /// `None` when it cannot be read in one pass (nothing written).
    async fn stream_features(
        &self,
        url: &str,
        path: &Path,
        opts: &SaveOptions,
    ) -> Result<Option<gp_features::SaveReport>, Error> {
        let fopts = gp_features::SaveOptions {
            overwrite: opts.overwrite,
            layer: None,
            sync: opts.sync,
        };
        let out = path.to_path_buf();
        crate::stream::stream_result(&self.tool().client.transport, url, move |reader, source| {
            gp_features::convert_esri_json_from(reader, source, &out, &fopts)
        })
        .await
    }
}

/// Saves a decoded feature set on a blocking thread.
async fn save_whole(
    fs: gp_model::FeatureSet,
    path: PathBuf,
    opts: &SaveOptions,
) -> Result<Saved, Error> {
    let fopts = gp_features::SaveOptions {
        overwrite: opts.overwrite,
        layer: None,
        sync: opts.sync,
    };
    let r = tokio::task::spawn_blocking(move || gp_features::save_with(&fs, &path, &fopts))
        .await
        .map_err(|e| Error::Config {
            message: format!("the saving thread failed: {e}"),
        })??;
    Ok(Saved::written(r, false))
}

impl Saved {
    /// A feature output written as `r` says (`streamed`: as it arrived).
    pub(crate) fn written(r: gp_features::SaveReport, streamed: bool) -> Saved {
        Saved::Features {
            path: r.path,
            layer: r.layer,
            features: r.features,
            streamed,
            exceeded_transfer_limit: r.exceeded_transfer_limit,
            warnings: r.warnings,
        }
    }
}
