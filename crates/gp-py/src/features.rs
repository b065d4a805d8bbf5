//! `FeatureSet`: arcpy's feature set (the default value of a feature input carries
//! the schema; `load` fills it from a local file; `save` writes one), and the bridge
//! to the Python data world: `__geo_interface__`, and the Arrow PyCapsule stream
//! interface with GeoArrow WKB geometry in both directions.

use std::path::PathBuf;

use arrow_array::{RecordBatchIterator, RecordBatchReader};
use gp_features::FeatureSetExt;
use pyo3::prelude::*;
use pyo3::types::{IntoPyDict, PyBytes, PyCapsule};
use pyo3_arrow::PyRecordBatchReader;
use pyo3_arrow::ffi::{ArrayIterator, to_schema_pycapsule, to_stream_pycapsule};

use gp_features::arrow::ArrowFeatures;

use crate::errors::{DataError, features};

/// A set of features with a schema (fields, geometry type, spatial reference), as
/// arcpy's `FeatureSet`.
///
/// To the Python data world without a Python object per feature:
/// `geopandas.GeoDataFrame.from_arrow(fs)`, `pyarrow.table(fs)`, `polars.DataFrame(fs)`,
/// DuckDB and anything else that reads the Arrow PyCapsule stream
/// (`__arrow_c_stream__`; geometry as GeoArrow WKB). Back with
/// `FeatureSet.from_geopandas(gdf)` or `FeatureSet.from_arrow(table)`.
#[pyclass(module = "gp_rs", name = "FeatureSet")]
#[derive(Debug, Clone)]
pub(crate) struct FeatureSet {
    repr: Repr,
}

/// What a feature set holds: the model's features (loaded from a file, made for
/// an input), or Arrow batches (an output read from a job, a table from Python)
/// with the schema beside them. Each turns into the other when a method needs it.
#[derive(Debug, Clone)]
enum Repr {
    Model(gp_model::FeatureSet),
    Arrow(gp_model::FeatureSet, ArrowFeatures),
}

impl Default for FeatureSet {
    fn default() -> Self {
        FeatureSet::from_model(gp_model::FeatureSet::default())
    }
}

impl FeatureSet {
    /// A feature set holding the model's features.
    pub(crate) fn from_model(fs: gp_model::FeatureSet) -> Self {
        FeatureSet {
            repr: Repr::Model(fs),
        }
    }

    /// A feature set holding Arrow batches, with `header` (no features) as schema.
    pub(crate) fn from_table(header: gp_model::FeatureSet, table: ArrowFeatures) -> Self {
        FeatureSet {
            repr: Repr::Arrow(header, table),
        }
    }

    /// The schema (and, for the model, the features).
    fn header(&self) -> &gp_model::FeatureSet {
        match &self.repr {
            Repr::Model(fs) | Repr::Arrow(fs, _) => fs,
        }
    }

    /// The model's feature set (converted from Arrow when that is what is held).
    pub(crate) fn model(&self, py: Python<'_>) -> PyResult<gp_model::FeatureSet> {
        match &self.repr {
            Repr::Model(fs) => Ok(fs.clone()),
            Repr::Arrow(header, table) => {
                let rows = py
                    .detach(|| {
                        gp_features::arrow::from_arrow(
                            &table.schema,
                            table.batches.iter().cloned().map(Ok),
                        )
                    })
                    .map_err(features)?;
                Ok(gp_model::FeatureSet {
                    features: rows.features,
                    ..header.clone()
                })
            }
        }
    }

    /// The model's feature set, in place.
    fn model_mut(&mut self, py: Python<'_>) -> PyResult<&mut gp_model::FeatureSet> {
        if let Repr::Arrow(..) = self.repr {
            self.repr = Repr::Model(self.model(py)?);
        }
        match &mut self.repr {
            Repr::Model(fs) => Ok(fs),
            Repr::Arrow(..) => Err(DataError::new_err("internal error: no feature set")),
        }
    }

    /// True for a GeoPandas GeoDataFrame (without importing GeoPandas).
    pub(crate) fn is_geodataframe(v: &Bound<'_, PyAny>) -> PyResult<bool> {
        for c in v.get_type().mro().iter() {
            if c.getattr("__name__")?.extract::<String>()? == "GeoDataFrame" {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A feature set from a GeoDataFrame or any object with `__arrow_c_stream__`.
    pub(crate) fn from_any(v: &Bound<'_, PyAny>) -> PyResult<FeatureSet> {
        if Self::is_geodataframe(v)? {
            let table = v.call_method(
                "to_arrow",
                (),
                Some(&[("geometry_encoding", "WKB")].into_py_dict(v.py())?),
            )?;
            return Self::from_stream(&table);
        }
        Self::from_stream(v)
    }

    fn from_stream(v: &Bound<'_, PyAny>) -> PyResult<FeatureSet> {
        let reader: PyRecordBatchReader = v.extract()?;
        let reader = reader.into_reader()?;
        let schema = reader.schema();
        let fs = v
            .py()
            .detach(|| gp_features::arrow::from_arrow(&schema, reader))
            .map_err(features)?;
        Ok(FeatureSet::from_model(fs))
    }

    fn arrow(&self, py: Python<'_>) -> PyResult<ArrowFeatures> {
        match &self.repr {
            Repr::Arrow(_, table) => Ok(table.clone()),
            Repr::Model(fs) => py
                .detach(|| gp_features::arrow::to_arrow(fs))
                .map_err(features),
        }
    }
}

/// A feature set, or the feature set value of a result parameter: parsed straight
/// into Arrow batches when it can be read in one pass, else decoded whole.
fn decode(bytes: &[u8]) -> gp_features::Result<FeatureSet> {
    if let Some((header, table)) = gp_features::arrow::esri_json_to_arrow(bytes, "the JSON given")?
    {
        return Ok(FeatureSet::from_table(header, table));
    }
    let head = &bytes[..bytes.len().min(512)];
    if head.windows(11).any(|w| w == b"\"paramName\"") {
        let r: gp_model::ResultParameter = gp_model::from_json_slice("result parameter", bytes)?;
        if let gp_model::GpValue::FeatureSet(fs) | gp_model::GpValue::RecordSet(fs) = r.value {
            return Ok(FeatureSet::from_model(fs));
        }
    }
    Ok(FeatureSet::from_model(gp_model::from_json_slice(
        "feature set",
        bytes,
    )?))
}

#[pymethods]
impl FeatureSet {
    /// An empty feature set, or one decoded from Esri JSON text.
    #[new]
    #[pyo3(signature = (json=None))]
    fn new(json: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        match json {
            None => Ok(FeatureSet::default()),
            Some(j) => Self::from_json(j),
        }
    }

    /// A feature set from Esri JSON (`str` or `bytes`) as a GP service writes it:
    /// a feature set, or a result parameter whose value is one (the body of
    /// `…/jobs/<id>/results/<name>?f=json`).
    #[staticmethod]
    fn from_json(json: &Bound<'_, PyAny>) -> PyResult<Self> {
        let py = json.py();
        let owned;
        let bytes: &[u8] = if let Ok(b) = json.cast::<PyBytes>() {
            b.as_bytes()
        } else {
            owned = json.extract::<String>()?;
            owned.as_bytes()
        };
        py.detach(|| decode(bytes)).map_err(features)
    }

    /// A feature set from any Arrow stream (`pyarrow.Table`, a polars or DuckDB
    /// result...) with a WKB geometry column (`geoarrow.wkb`, or a binary column
    /// named `geometry`).
    #[staticmethod]
    fn from_arrow(data: &Bound<'_, PyAny>) -> PyResult<Self> {
        Self::from_stream(data)
    }

    /// A feature set from a GeoPandas GeoDataFrame (through its Arrow export,
    /// `to_arrow(geometry_encoding="WKB")`).
    #[staticmethod]
    fn from_geopandas(gdf: &Bound<'_, PyAny>) -> PyResult<Self> {
        if !Self::is_geodataframe(gdf)? {
            return Err(DataError::new_err(format!(
                "from_geopandas takes a GeoDataFrame, not a {}",
                gdf.get_type().name()?
            )));
        }
        Self::from_any(gdf)
    }

    /// This feature set as a GeoPandas GeoDataFrame (`GeoDataFrame.from_arrow`).
    fn to_geopandas<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        slf.py()
            .import("geopandas")?
            .getattr("GeoDataFrame")?
            .call_method1("from_arrow", (slf,))
    }

    /// Esri JSON text of the feature set.
    fn to_json(&self, py: Python<'_>) -> PyResult<String> {
        let fs = self.model(py)?;
        py.detach(|| serde_json::to_string(&fs))
            .map_err(|e| DataError::new_err(e.to_string()))
    }

    /// Replaces the features with those of a local file (Shapefile, GeoJSON,
    /// GeoPackage `file.gpkg/layer`, File Geodatabase `base.gdb/layer`, FlatGeobuf,
    /// CSV, Esri JSON), loaded into this feature set's schema (arcpy
    /// `FeatureSet.load`).
    fn load(&mut self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let fs = self.model_mut(py)?;
        py.detach(|| fs.load(&path)).map_err(features)
    }

    /// Saves to a local file (format from the extension; `base.gdb/layer` for a
    /// File Geodatabase layer, as arcpy's `save`, `file.gpkg/layer` for a GeoPackage
    /// layer) and returns its path. An existing file or layer is replaced only with
    /// `overwrite=True`; the file appears whole or not at all.
    #[pyo3(signature = (path, overwrite=false))]
    fn save(&self, py: Python<'_>, path: PathBuf, overwrite: bool) -> PyResult<PathBuf> {
        let opts = gp_features::SaveOptions {
            overwrite,
            ..Default::default()
        };
        let fs = self.model(py)?;
        py.detach(|| gp_features::save_with(&fs, &path, &opts))
            .map(|r| r.path)
            .map_err(features)
    }

    /// Number of features.
    fn __len__(&self) -> usize {
        match &self.repr {
            Repr::Model(fs) => fs.features.len(),
            Repr::Arrow(_, t) => t.num_rows(),
        }
    }

    /// The geometry type (`esriGeometryPolygon`...), `None` for a table.
    #[getter]
    fn geometry_type(&self) -> Option<String> {
        self.header().geometry_type.as_ref().map(|g| g.to_string())
    }

    /// The spatial reference's well-known id (latest), `None` when unknown or WKT.
    #[getter]
    fn wkid(&self) -> Option<i32> {
        self.header()
            .spatial_reference
            .as_ref()
            .and_then(|s| s.latest_wkid.or(s.wkid))
    }

    /// The fields as `(name, esri_type)` pairs.
    #[getter]
    fn fields(&self) -> Vec<(String, String)> {
        self.header()
            .fields
            .iter()
            .flatten()
            .map(|f| (f.name.clone(), f.field_type.to_string()))
            .collect()
    }

    /// True when the server cut the features at its `maximumRecords`.
    #[getter]
    fn exceeded_transfer_limit(&self) -> bool {
        self.header().exceeded_transfer_limit == Some(true)
    }

    /// The GeoJSON FeatureCollection (`__geo_interface__`), coordinates in the
    /// feature set's spatial reference.
    #[getter]
    fn __geo_interface__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let fs = self.model(py)?;
        let text = py
            .detach(|| fs.to_geojson())
            .map_err(|e| DataError::new_err(e.to_string()))?;
        Ok(py.import("json")?.call_method1("loads", (text,))?.unbind())
    }

    /// The Arrow schema (Arrow PyCapsule interface).
    fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        let schema = match &self.repr {
            Repr::Arrow(_, table) => table.schema.clone(),
            Repr::Model(fs) => gp_features::arrow::schema(fs),
        };
        Ok(to_schema_pycapsule(py, schema.as_ref())?)
    }

    /// The features as an Arrow C stream (Arrow PyCapsule interface), geometry as
    /// GeoArrow WKB.
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyCapsule>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let a = self.arrow(py)?;
        let schema = a.schema.clone();
        let reader = RecordBatchIterator::new(a.batches.into_iter().map(Ok), schema.clone());
        let arrays = reader.map(|b| {
            b.map(|b| {
                std::sync::Arc::new(arrow_array::StructArray::from(b)) as arrow_array::ArrayRef
            })
        });
        let field = arrow_schema::Field::new_struct("", schema.fields().clone(), false)
            .with_metadata(schema.metadata.clone());
        let stream = Box::new(ArrayIterator::new(arrays, field.into()));
        Ok(to_stream_pycapsule(py, stream, requested_schema)?)
    }

    fn __repr__(&self) -> String {
        format!(
            "<FeatureSet {} features, {}{}>",
            self.__len__(),
            self.header()
                .geometry_type
                .as_ref()
                .map(|g| g.to_string())
                .unwrap_or_else(|| "no geometry".into()),
            self.wkid()
                .map(|w| format!(", wkid {w}"))
                .unwrap_or_default()
        )
    }
}
