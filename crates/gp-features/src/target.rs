//! Which format a path is, and where its layer is.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A feature file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// Esri JSON: a FeatureSet, or a GP result `{paramName, dataType, value}`.
    EsriJson,
    /// GeoJSON FeatureCollection.
    GeoJson,
    /// Newline-delimited GeoJSON (one Feature per line).
    GeoJsonSeq,
    /// ESRI Shapefile (.shp with .shx, .dbf, .prj, .cpg).
    Shapefile,
    /// OGC GeoPackage (a layer inside a SQLite file).
    GeoPackage,
    /// FlatGeobuf.
    FlatGeobuf,
    /// CSV with a WKT column or x/y columns.
    Csv,
    /// Esri File Geodatabase (a layer inside a `.gdb` folder).
    FileGdb,
}

impl Format {
    /// The format's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::EsriJson => "Esri JSON",
            Format::GeoJson => "GeoJSON",
            Format::GeoJsonSeq => "GeoJSON sequence",
            Format::Shapefile => "Shapefile",
            Format::GeoPackage => "GeoPackage",
            Format::FlatGeobuf => "FlatGeobuf",
            Format::Csv => "CSV",
            Format::FileGdb => "File Geodatabase",
        }
    }

    /// The usual file extension (`gpkg`, `geojson`, ...).
    pub fn extension(self) -> &'static str {
        match self {
            Format::EsriJson => "json",
            Format::GeoJson => "geojson",
            Format::GeoJsonSeq => "geojsonl",
            Format::Shapefile => "shp",
            Format::GeoPackage => "gpkg",
            Format::FlatGeobuf => "fgb",
            Format::Csv => "csv",
            Format::FileGdb => "gdb",
        }
    }

    /// The format for a file extension.
    pub fn from_extension(ext: &str) -> Option<Format> {
        Some(match ext.to_ascii_lowercase().as_str() {
            "geojson" => Format::GeoJson,
            "geojsonl" | "geojsons" | "ndjson" | "geojsonseq" => Format::GeoJsonSeq,
            "shp" => Format::Shapefile,
            "gpkg" => Format::GeoPackage,
            "fgb" => Format::FlatGeobuf,
            "csv" => Format::Csv,
            "gdb" => Format::FileGdb,
            "json" | "esrijson" => Format::EsriJson,
            _ => return None,
        })
    }
}

/// A parsed destination or source: the file, its format, and a layer inside a
/// container (`out.gpkg/towers_buffer`, `out.gdb/towers_buffer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The file (or `.gdb` folder).
    pub path: PathBuf,
    /// Its format.
    pub format: Format,
    /// The layer inside a container.
    pub layer: Option<String>,
}

impl Target {
    /// Parses a path: a container followed by a layer name is split
    /// (`base.gpkg/towers_buffer`), and the format comes from the extension, or for
    /// reading, from the content when the extension says nothing.
    pub fn parse(path: impl AsRef<Path>, reading: bool) -> Result<Target> {
        let path = path.as_ref();
        if let (Some(parent), Some(name)) = (path.parent(), path.file_name()) {
            // `response.json/Output_Polygons`: one result of a saved execute response.
            if reading
                && parent
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("json"))
                && parent.is_file()
            {
                return Ok(Target {
                    path: parent.to_path_buf(),
                    format: Format::EsriJson,
                    layer: Some(name.to_string_lossy().into_owned()),
                });
            }
            let container = parent
                .extension()
                .and_then(|e| e.to_str())
                .and_then(Format::from_extension)
                .filter(|f| matches!(f, Format::GeoPackage | Format::FileGdb));
            if let Some(format) = container
                && !(format == Format::GeoPackage && parent.is_dir())
            {
                return Ok(Target {
                    path: parent.to_path_buf(),
                    format,
                    layer: Some(name.to_string_lossy().into_owned()),
                });
            }
        }
        let by_ext = path
            .extension()
            .and_then(|e| e.to_str())
            .and_then(Format::from_extension);
        let format = match by_ext {
            Some(Format::EsriJson) if reading => sniff_json(path)?,
            Some(f) => f,
            None if reading => sniff(path)?,
            None => {
                return Err(Error::UnknownFormat {
                    path: path.to_path_buf(),
                    hint: "no known extension".into(),
                });
            }
        };
        Ok(Target {
            path: path.to_path_buf(),
            format,
            layer: None,
        })
    }
}

fn head(path: &Path, n: usize) -> Result<Vec<u8>> {
    let mut f = std::fs::File::open(path).map_err(crate::error::io("opening", path))?;
    let mut buf = vec![0u8; n];
    let mut got = 0;
    while got < n {
        match f.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) => return Err(crate::error::io("reading", path)(e)),
        }
    }
    buf.truncate(got);
    Ok(buf)
}

fn sniff(path: &Path) -> Result<Format> {
    let h = head(path, 4096)?;
    if h.starts_with(b"SQLite format 3\0") {
        return Ok(Format::GeoPackage);
    }
    if h.starts_with(b"fgb\x03") {
        return Ok(Format::FlatGeobuf);
    }
    if h.len() >= 4 && h[..4] == [0, 0, 0x27, 0x0a] {
        return Ok(Format::Shapefile);
    }
    if h.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return sniff_json(path);
    }
    Err(Error::UnknownFormat {
        path: path.to_path_buf(),
        hint: "the content is not recognised".into(),
    })
}

/// `.json` may hold Esri JSON or GeoJSON: look at the keys near the start.
fn sniff_json(path: &Path) -> Result<Format> {
    let h = head(path, 64 * 1024)?;
    let text = String::from_utf8_lossy(&h);
    let geojson = text.contains("\"FeatureCollection\"") || text.contains("\"Feature\"");
    let esri = [
        "\"geometryType\"",
        "\"attributes\"",
        "\"paramName\"",
        "\"results\"",
        "\"spatialReference\"",
        "\"fields\"",
    ]
    .iter()
    .any(|k| text.contains(k));
    Ok(if geojson && !esri {
        if text
            .trim_start()
            .lines()
            .nth(1)
            .is_some_and(|l| l.trim_start().starts_with("{\"type\""))
        {
            Format::GeoJsonSeq
        } else {
            Format::GeoJson
        }
    } else {
        Format::EsriJson
    })
}
