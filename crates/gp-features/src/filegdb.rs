//! Esri File Geodatabase through GDAL's OpenFileGDB driver (`gdal` feature), by
//! running `ogr2ogr` with a GeoPackage in between.

use std::path::Path;

use gp_model::FeatureSet;

use crate::error::{Error, Result};

#[cfg(not(feature = "gdal"))]
pub(crate) fn read(path: &Path, _layer: Option<&str>) -> Result<FeatureSet> {
    Err(Error::FeatureDisabled {
        path: path.to_path_buf(),
        format: "File Geodatabase",
        feature: "gdal",
    })
}

#[cfg(not(feature = "gdal"))]
pub(crate) fn write(_fs: &FeatureSet, path: &Path, _layer: &str, _overwrite: bool) -> Result<()> {
    Err(Error::FeatureDisabled {
        path: path.to_path_buf(),
        format: "File Geodatabase",
        feature: "gdal",
    })
}

#[cfg(feature = "gdal")]
fn ogr2ogr(args: &[&std::ffi::OsStr], path: &Path) -> Result<()> {
    let out = std::process::Command::new("ogr2ogr")
        .args(args)
        .output()
        .map_err(crate::error::io("running ogr2ogr (install GDAL) for", path))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Format {
            path: path.to_path_buf(),
            format: "File Geodatabase",
            message: format!(
                "ogr2ogr failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        })
    }
}

#[cfg(feature = "gdal")]
pub(crate) fn read(path: &Path, layer: Option<&str>) -> Result<FeatureSet> {
    let dir =
        tempfile::tempdir().map_err(crate::error::io("creating a temporary folder for", path))?;
    let tmp = dir.path().join("layer.gpkg");
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "-f".as_ref(),
        "GPKG".as_ref(),
        tmp.as_os_str(),
        path.as_os_str(),
    ];
    if let Some(l) = layer {
        args.push(l.as_ref());
    }
    ogr2ogr(&args, path)?;
    let layers = crate::gpkg::layers(&tmp)?;
    crate::gpkg::read(&tmp, layer.or(layers.first().map(String::as_str)))
}

#[cfg(feature = "gdal")]
pub(crate) fn write(fs: &FeatureSet, path: &Path, layer: &str, overwrite: bool) -> Result<()> {
    let dir =
        tempfile::tempdir().map_err(crate::error::io("creating a temporary folder for", path))?;
    let tmp = dir.path().join("layer.gpkg");
    crate::gpkg_write::write(fs, &tmp, layer, true)?;
    let mut args: Vec<&std::ffi::OsStr> = vec!["-f".as_ref(), "OpenFileGDB".as_ref()];
    if path.exists() {
        args.push("-update".as_ref());
        if overwrite {
            args.push("-overwrite".as_ref());
        }
    }
    args.extend([
        path.as_os_str(),
        tmp.as_os_str(),
        layer.as_ref(),
        "-nln".as_ref(),
        layer.as_ref(),
    ]);
    ogr2ogr(&args, path)
}
