//! Where an output is written: the writer for its format, its temporary files
//! (renamed into place together when it is complete), and the repairs made to its
//! geometries (warnings of the save).

use std::path::PathBuf;

use gp_model::FeatureSet;

use crate::error::{self, Error, Result};
use crate::repair::Fixes;
use crate::sink::Sink;
use crate::target::{Format, Target};
use crate::{
    SaveOptions, SaveReport, csvfile, esri, fgb_sink, filegdb, geojson, gpkg_write, shp_write,
};
use gp_fs::{AtomicPath, Flush, Flusher};

/// An output written through a [`Sink`] into temporary files.
pub(crate) struct Output {
    pub(crate) files: Files,
    pub(crate) sink: Sink,
    pub(crate) layer: Option<String>,
    /// The geometry repairs made while writing.
    pub(crate) fixes: Fixes,
}

/// The temporary files of an output: `tmps` are renamed into place in order (the
/// main file last), `optional` only when the sink wrote something into it (a
/// Shapefile's `.prj`).
pub(crate) struct Files {
    tmps: Vec<AtomicPath>,
    optional: Option<(AtomicPath, PathBuf)>,
    /// With [`SaveOptions::sync`]: flushes `tmps` to disk while they are written.
    flusher: Option<Flusher>,
}

/// The flush policy of an output: with [`SaveOptions::sync`], durable (data and
/// rename on disk when the save returns); else none forced.
fn policy(opts: &SaveOptions, overwrite: bool) -> gp_fs::Options {
    gp_fs::Options::new(
        overwrite,
        if opts.sync {
            Flush::Durable
        } else {
            Flush::Never
        },
    )
}

impl Files {
    fn new(tmps: Vec<AtomicPath>, optional: Option<(AtomicPath, PathBuf)>, sync: bool) -> Files {
        let flusher =
            sync.then(|| Flusher::start(tmps.iter().map(|t| t.path().to_path_buf()).collect()));
        Files {
            tmps,
            optional,
            flusher,
        }
    }

    pub(crate) fn commit(mut self) -> Result<()> {
        drop(self.flusher.take());
        for t in self.tmps {
            t.commit()?;
        }
        if let Some((t, target)) = self.optional {
            if std::fs::metadata(t.path()).is_ok_and(|m| m.len() > 0) {
                t.commit()?;
            } else {
                // No spatial reference: no .prj, and not a stale one from before.
                let _ = std::fs::remove_file(target);
            }
        }
        Ok(())
    }
}

/// The sink for a target.
pub(crate) fn output_for(t: &Target, opts: &SaveOptions) -> Result<Output> {
    let p = t.path.as_path();
    let stem = p
        .file_stem()
        .map_or_else(|| "layer".to_string(), |s| s.to_string_lossy().into_owned());
    let layer = opts.layer.clone().or(t.layer.clone());
    Ok(match t.format {
        Format::EsriJson
        | Format::GeoJson
        | Format::GeoJsonSeq
        | Format::FlatGeobuf
        | Format::Csv => {
            let tmp = AtomicPath::new(p, policy(opts, opts.overwrite))?;
            let sink = match t.format {
                Format::EsriJson => Sink::Features(Box::new(esri::EsriSink::create(tmp.path())?)),
                Format::GeoJson => {
                    Sink::Batches(Box::new(geojson::GeoJsonSink::create(tmp.path(), false)?))
                }
                Format::GeoJsonSeq => {
                    Sink::Batches(Box::new(geojson::GeoJsonSink::create(tmp.path(), true)?))
                }
                Format::FlatGeobuf => {
                    Sink::Batches(Box::new(fgb_sink::FgbSink::create(tmp.path(), &stem)))
                }
                _ => Sink::Features(Box::new(csvfile::CsvSink::create(tmp.path())?)),
            };
            Output {
                files: Files::new(vec![tmp], None, opts.sync),
                sink,
                layer,
                fixes: Fixes::default(),
            }
        }
        Format::Shapefile => {
            if !opts.overwrite && p.exists() {
                return Err(Error::Exists {
                    path: p.to_path_buf(),
                });
            }
            let tmp = |e: &str| AtomicPath::new(&p.with_extension(e), policy(opts, true));
            let (shp, shx, dbf, cpg, prj) = (
                tmp("shp")?,
                tmp("shx")?,
                tmp("dbf")?,
                tmp("cpg")?,
                tmp("prj")?,
            );
            let sink = Sink::Features(Box::new(shp_write::ShpSink::create(
                shp.path(),
                shx.path(),
                dbf.path(),
                cpg.path(),
                prj.path(),
            )));
            // The table and index first, the .shp last.
            Output {
                files: Files::new(
                    vec![dbf, cpg, shx, shp],
                    Some((prj, p.with_extension("prj"))),
                    opts.sync,
                ),
                sink,
                layer: None,
                fixes: Fixes::default(),
            }
        }
        Format::GeoPackage => {
            let layer_name = layer.unwrap_or(stem);
            let named = t.layer.is_some() || opts.layer.is_some();
            let existing = p.exists();
            if existing && !named && !opts.overwrite {
                return Err(Error::Exists {
                    path: p.to_path_buf(),
                });
            }
            let tmp = AtomicPath::new(p, policy(opts, true))?;
            if existing && named {
                std::fs::copy(p, tmp.path()).map_err(error::io("copying", p))?;
            } else {
                std::fs::remove_file(tmp.path()).map_err(error::io("preparing", tmp.path()))?;
            }
            let sink = Sink::Batches(Box::new(gpkg_write::GpkgSink::create(
                tmp.path(),
                &layer_name,
                opts.overwrite,
            )));
            Output {
                files: Files::new(vec![tmp], None, opts.sync),
                sink,
                layer: Some(layer_name),
                fixes: Fixes::default(),
            }
        }
        Format::FileGdb => {
            // A layer named by the caller must be valid as given; one made from the
            // file name is made valid.
            let layer_name = layer.unwrap_or_else(|| filegdb::layer_name_from(&stem));
            // The layer's files and the system tables' new versions are temporary
            // files that the sink renames into place itself, the catalog last.
            let sink = Sink::Batches(Box::new(filegdb::GdbSink::create(
                p,
                &layer_name,
                opts.overwrite,
                opts.sync,
            )?));
            Output {
                files: Files::new(Vec::new(), None, false),
                sink,
                layer: Some(layer_name),
                fixes: Fixes::default(),
            }
        }
    })
}

pub(crate) fn output_error(e: Error, t: &Target, layer: Option<&str>) -> Error {
    match (e, layer) {
        (Error::Exists { .. }, Some(l)) if t.format == Format::GeoPackage => Error::Exists {
            path: t.path.join(l),
        },
        (other, _) => other.at(&t.path),
    }
}

/// Completes a streamed output of `n` features and renames it into place.
pub(crate) fn finish_streamed(
    out: Output,
    tout: &Target,
    n: usize,
    schema: &FeatureSet,
) -> Result<SaveReport> {
    let layer = out.layer.clone();
    out.sink
        .finish()
        .map_err(|e| output_error(e, tout, layer.as_deref()))?;
    out.files.commit()?;
    Ok(SaveReport {
        path: tout.path.clone(),
        format: tout.format,
        layer,
        features: n,
        renamed_fields: match tout.format {
            Format::Shapefile => shp_write::renames(schema),
            Format::FileGdb => filegdb::renames(schema),
            _ => Vec::new(),
        },
        exceeded_transfer_limit: schema.exceeded_transfer_limit == Some(true),
        warnings: out.fixes.warnings(),
    })
}
