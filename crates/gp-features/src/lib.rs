//! # gp-features
//!
//! Local feature files into and out of Esri JSON [`FeatureSet`]s: Shapefile, GeoJSON
//! (and newline-delimited GeoJSON), GeoPackage, FlatGeobuf, CSV (WKT or x/y columns)
//! and Esri JSON (a bare feature set or a GP result). The arcpy calls
//! `FeatureSet.load(path)` and `FeatureSet.save(path)` map to [`FeatureSetExt`].
//!
//! ```
//! use gp_features::{FeatureSetExt, SaveOptions};
//! use gp_model::{FeatureSet, Field, FieldType, GeometryType, SpatialReference};
//! # let dir = tempfile::tempdir()?;
//!
//! // A tool's default value: an empty point feature set with its schema.
//! let schema = FeatureSet::with_schema(
//!     Some(GeometryType::Point),
//!     Some(SpatialReference::from_wkid(4326)),
//!     vec![Field::new("OBJECTID", FieldType::Oid), Field::new("Name", FieldType::String)],
//! );
//! // Some local points...
//! let towers = dir.path().join("towers.geojson");
//! std::fs::write(&towers, r#"{"type": "FeatureCollection", "features": [
//!   {"type": "Feature", "properties": {"name": "North"}, "geometry": {"type": "Point", "coordinates": [-117.2, 34.1]}}]}"#)?;
//! // ...loaded into it (fields matched case-insensitively, OBJECTID numbered)...
//! let mut input = schema.clone();
//! input.load(&towers)?;
//! assert_eq!(input.features[0].attributes["Name"].as_str(), Some("North"));
//! // ...and saved as a layer of a GeoPackage.
//! let report = input.save(dir.path().join("base.gpkg/towers"))?;
//! assert_eq!(report.features, 1);
//! let back = gp_features::load(dir.path().join("base.gpkg/towers"))?;
//! assert_eq!(back.features.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Which crate does what
//! - [geozero]: the conversion backbone (GeoJSON, WKT, GeoPackage WKB reading), with
//!   gp-model's Esri JSON processors.
//! - [flatgeobuf]: FlatGeobuf reading, its flatbuffers types and its packed R-tree;
//!   the writer that spools, sorts and copies features is here ([flatbuffers] builds
//!   them), because the crate's own writer re-reads each feature from its spool with
//!   a separate buffered read.
//! - [shapefile]: reading `.shp`; [dbase] (with [encoding_rs] code pages): the `.dbf`
//!   table. The `.shp`/`.shx` writer is here (null shapes, Z and M), and so are the
//!   `.dbf` numbers `dbase` would round through `f64` (integers beyond 2^53, reals too
//!   long for their field), read and written exactly.
//! - [rusqlite] (SQLite bundled): GeoPackage; the GeoPackage geometry blobs are
//!   written here.
//! - [csv]: CSV. [crs-definitions](crs_definitions): WKT for EPSG codes (`.prj`, GeoPackage).
//! - arrow-array and arrow-schema (arrow-rs, feature `arrow`): record batches; the
//!   GeoArrow WKB geometries are written here by the GeoPackage writer's WKB code and
//!   read back through geozero.
//! - The Esri File Geodatabase (`base.gdb/layer`) is read and written here
//!   (`filegdb`), from the publicly documented format: tables, row indexes, the
//!   system catalog and item definitions, geometry blobs; [base64] carries binary
//!   fields as text, [getrandom] makes the items' UUIDs.
//! - [gp_fs]: every file is written under a temporary name and renamed into place;
//!   with [`SaveOptions::sync`] flushed to disk, rename included (by a thread that
//!   flushes while the file is written, then once more).
//! - The streaming [`convert`] of Esri JSON is written here, in three stages on their
//!   own threads: a cutter splits the features array into feature texts (whole read
//!   buffers are handed on, not copied), 64 bytes at a time where it can (bit masks
//!   of quotes and braces, the quotes' running XOR marking strings); [rayon] parses
//!   them in parallel, with a strict byte-level reader for plain features (2-D
//!   coordinates, scalar attributes; string ends found eight bytes at a time; floats
//!   by Clinger's exact fast path, else the standard parser) and gp-model's complete
//!   serde reader for everything else, into flat batches (attribute slots, one text
//!   buffer and one coordinate array per batch, reused when the writer does not keep
//!   them); the GeoJSON, FlatGeobuf and GeoPackage writers encode those batches on
//!   the same threads ([ryu] and [itoa] write GeoJSON numbers), and the last stage
//!   only appends bytes or inserts rows. [memchr] finds the end of strings longer
//!   than 64 bytes and, in the cutter, of long runs without quotes or braces.
//!
//! ## Features
//! - `arrow`: the `arrow` module: feature sets to and from Arrow record batches
//!   (GeoArrow WKB geometry), and an Esri JSON stream parsed straight into them.

#![deny(rustdoc::broken_intra_doc_links)]

#[cfg(feature = "arrow")]
pub mod arrow;
mod csvfile;
mod cut;
mod dbf_write;
mod error;
mod esri;
mod fgb;
mod fgb_check;
mod fgb_encode;
mod fgb_index;
mod fgb_sink;
mod fgb_spool;
mod filegdb;
mod flat;
mod flat_number;
mod flat_parse;
mod geojson;
mod gpkg;
mod gpkg_write;
mod layout;
mod output;
mod parts;
mod repair;
mod rtree;
mod schema;
mod shp;
mod shp_check;
mod shp_write;
mod sink;
mod srs;
mod stream;
mod target;
mod walk;
mod wkb;

use std::path::{Path, PathBuf};

use gp_model::FeatureSet;

pub use error::{Error, Result};
pub use parts::PartsWriter;
pub use schema::conform;
pub use srs::{epsg_of_wkt, sr_from_wkt, wkt_for};
pub use target::{Format, Target};

use output::{Output, finish_streamed, output_error, output_for};

/// Options of [`load_with`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// The layer of a GeoPackage (or File Geodatabase); also given as `file.gpkg/layer`.
    pub layer: Option<String>,
}

/// Options of [`save_with`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SaveOptions {
    /// Replace an existing file (or layer).
    pub overwrite: bool,
    /// The layer inside a GeoPackage (default: the file name's stem).
    pub layer: Option<String>,
    /// Flush the files to disk (`fsync`) before renaming them into place, so that
    /// they survive a power cut or system crash right after: the write then waits
    /// for the disk. Off by default, as in GDAL: without it the files still appear
    /// only whole (written under a temporary name, renamed when complete), but a
    /// system crash soon after may lose what the disk had not received yet. (A File
    /// Geodatabase, written by GDAL, is not flushed.)
    pub sync: bool,
}

/// What [`save_with`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveReport {
    /// The file (or `.gdb` folder) written.
    pub path: PathBuf,
    /// Its format.
    pub format: Format,
    /// The layer, for containers.
    pub layer: Option<String>,
    /// Number of features written.
    pub features: usize,
    /// Fields renamed to fit the format (Shapefile: 10 characters), `(from, to)`.
    pub renamed_fields: Vec<(String, String)>,
    /// True when the input said `exceededTransferLimit: true`: the server sent fewer
    /// features than the result holds.
    pub exceeded_transfer_limit: bool,
    /// What was repaired while writing, one sentence per kind: polygon rings closed
    /// or dropped, geometries declaring Z without Z values written as 2-D.
    pub warnings: Vec<String>,
}

/// Loads a feature file (format from extension or content; `file.gpkg/layer` names a
/// layer).
pub fn load(path: impl AsRef<Path>) -> Result<FeatureSet> {
    load_with(path, &LoadOptions::default())
}

/// Loads a feature file with options.
pub fn load_with(path: impl AsRef<Path>, opts: &LoadOptions) -> Result<FeatureSet> {
    let t = Target::parse(path, true)?;
    let layer = opts.layer.as_deref().or(t.layer.as_deref());
    let p = t.path.as_path();
    match t.format {
        Format::EsriJson => esri::read(p, layer),
        Format::GeoJson => geojson::read(p, false),
        Format::GeoJsonSeq => geojson::read(p, true),
        Format::Shapefile => shp::read(p),
        Format::GeoPackage => gpkg::read(p, layer),
        Format::FlatGeobuf => fgb::read(p),
        Format::Csv => csvfile::read(p),
        Format::FileGdb => filegdb::read(p, layer),
    }
}

/// Loads a file into a tool's schema (see [`conform`]).
pub fn load_into(path: impl AsRef<Path>, schema: &FeatureSet) -> Result<FeatureSet> {
    conform(load(path)?, schema)
}

/// The feature layers of a GeoPackage or a File Geodatabase (its tables too).
pub fn layers(path: impl AsRef<Path>) -> Result<Vec<String>> {
    let p = path.as_ref();
    let gdb = p.extension().is_some_and(|e| e.eq_ignore_ascii_case("gdb"));
    if gdb {
        filegdb::layers(p)
    } else {
        gpkg::layers(p)
    }
}

/// Saves without overwriting (see [`save_with`]).
pub fn save(fs: &FeatureSet, path: impl AsRef<Path>) -> Result<SaveReport> {
    save_with(fs, path, &SaveOptions::default())
}

/// Saves a feature set; the format comes from the extension, `file.gpkg/layer` writes
/// a layer into a (new or existing) GeoPackage. Files are written under temporary
/// names and renamed into place: an error leaves nothing behind and never damages an
/// existing file.
pub fn save_with(
    fs: &FeatureSet,
    path: impl AsRef<Path>,
    opts: &SaveOptions,
) -> Result<SaveReport> {
    let t = Target::parse(path, false)?;
    let p = t.path.as_path();
    let report = |layer: Option<String>, renamed_fields, warnings| SaveReport {
        path: p.to_path_buf(),
        format: t.format,
        layer,
        features: fs.features.len(),
        renamed_fields,
        exceeded_transfer_limit: fs.exceeded_transfer_limit == Some(true),
        warnings,
    };
    let renamed = match t.format {
        Format::Shapefile => shp_write::renames(fs),
        Format::FileGdb => filegdb::renames(fs),
        _ => Vec::new(),
    };
    let Output {
        files,
        sink,
        layer,
        fixes,
    } = output_for(&t, opts)?;
    sink::write_all(sink, fs, &fixes).map_err(|e| output_error(e, &t, layer.as_deref()))?;
    files.commit()?;
    Ok(report(layer, renamed, fixes.warnings()))
}

/// What [`convert`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertReport {
    /// The output written.
    pub output: SaveReport,
    /// True when the features were streamed (see [`convert`]), false when the input
    /// was loaded whole first.
    pub streamed: bool,
}

/// Converts a feature file to another format. Every input but a single GeoJSON
/// feature streams into every output:
/// features are read (Esri JSON parsed in parallel batches) and written as they come,
/// so memory stays bounded whatever the file size. GeoJSON and CSV are read twice:
/// their field types are known only after the last feature.
pub fn convert(
    input: impl AsRef<Path>,
    output: impl AsRef<Path>,
    opts: &SaveOptions,
) -> Result<ConvertReport> {
    let tin = Target::parse(input.as_ref(), true)?;
    let tout = Target::parse(output.as_ref(), false)?;
    let shape = match tin.format {
        Format::EsriJson => Some(esri::shape(&tin.path)?),
        _ => None,
    };
    let streams = match tin.format {
        // An execute response's features are inside `results`: read whole.
        Format::EsriJson => shape != Some(esri::Shape::ExecuteResponse),
        Format::GeoPackage | Format::Shapefile | Format::FlatGeobuf | Format::FileGdb => true,
        Format::GeoJson => geojson::streamable(&tin.path)?,
        Format::GeoJsonSeq | Format::Csv => true,
    };
    if streams {
        let mut out = output_for(&tout, opts)?;
        let layer = out.layer.clone();
        let streamed = match tin.format {
            // A saved result parameter is read through to its value, as an HTTP body.
            Format::EsriJson if shape == Some(esri::Shape::ResultParameter) => {
                let f = std::fs::File::open(&tin.path).map_err(error::io("opening", &tin.path))?;
                stream::read_esri_json_reader(
                    std::io::BufReader::new(f),
                    &tin.path,
                    &mut out.sink,
                    &out.fixes,
                )
            }
            Format::EsriJson => stream::read_esri_json(&tin.path, &mut out.sink, &out.fixes),
            _ => {
                let mut feed = sink::Feed::new(&mut out.sink, &out.fixes);
                match tin.format {
                    Format::Shapefile => shp::read_each(&tin.path, &mut feed),
                    Format::FlatGeobuf => fgb::read_each(&tin.path, &mut feed),
                    Format::GeoJson => geojson::read_each(&tin.path, false, &mut feed),
                    Format::GeoJsonSeq => geojson::read_each(&tin.path, true, &mut feed),
                    Format::Csv => csvfile::read_each(&tin.path, &mut feed),
                    Format::FileGdb => {
                        filegdb::read_each(&tin.path, tin.layer.as_deref(), &mut feed)
                    }
                    _ => gpkg::read_each(&tin.path, tin.layer.as_deref(), &mut feed),
                }
                .and_then(|()| feed.end())
                .map(Some)
            }
        }
        .map_err(|e| output_error(e, &tout, layer.as_deref()))?;
        // Not streamable (schema keys after the features): the temporary output is
        // dropped unused and the file is converted whole below.
        if let Some((n, schema)) = streamed {
            return Ok(ConvertReport {
                output: finish_streamed(out, &tout, n, &schema)?,
                streamed: true,
            });
        }
    }
    let fs = load(input)?;
    Ok(ConvertReport {
        output: save_with(&fs, output, opts)?,
        streamed: false,
    })
}

/// Converts an Esri JSON feature set (or a GP result parameter whose value is one)
/// read once from `reader` (an HTTP body as it arrives, a pipe) into `output`, as
/// [`convert`] does from a file: parsed in parallel batches and written as it comes,
/// in bounded memory, to a temporary file renamed into place. `source` names the
/// input in errors (a URL).
///
/// `Ok(None)` when the stream cannot be converted in one pass, and nothing was
/// written: it is not a feature set (no `features`: a layer reference), `geometryType`
/// and `fields` do not both come before the features (ArcGIS
/// servers write them first), a schema key follows the features, or the output is
/// Esri JSON (whose keys after the features must be known first). Read the whole feature set and use [`save_with`] then.
pub fn convert_esri_json_from<R: std::io::Read + Send>(
    reader: R,
    source: &str,
    output: impl AsRef<Path>,
    opts: &SaveOptions,
) -> Result<Option<SaveReport>> {
    let tout = Target::parse(output.as_ref(), false)?;
    let mut out = output_for(&tout, opts)?;
    let layer = out.layer.clone();
    let label = Path::new(source);
    let streamed = stream::read_esri_json_reader(reader, label, &mut out.sink, &out.fixes)
        .map_err(|e| output_error(e, &tout, layer.as_deref()))?;
    let Some((n, schema)) = streamed else {
        // Dropped unused: the temporary files go with it.
        return Ok(None);
    };
    finish_streamed(out, &tout, n, &schema).map(Some)
}

/// arcpy's `FeatureSet.load` and `FeatureSet.save` on gp-model's [`FeatureSet`].
pub trait FeatureSetExt {
    /// Loads a file into this feature set's schema, replacing its features.
    fn load(&mut self, path: impl AsRef<Path>) -> Result<()>;
    /// Saves to a file, or a layer inside a GeoPackage (`out.gpkg/layer`); refuses to
    /// overwrite.
    fn save(&self, path: impl AsRef<Path>) -> Result<SaveReport>;
}

impl FeatureSetExt for FeatureSet {
    fn load(&mut self, path: impl AsRef<Path>) -> Result<()> {
        *self = load_into(path, self)?;
        Ok(())
    }

    fn save(&self, path: impl AsRef<Path>) -> Result<SaveReport> {
        save(self, path)
    }
}
