//! The layers of a job's result map: one per drawable output (feature sets and
//! rasters), their extents and metadata as the result map service describes them.

use gp_model::geometry::GeometryType;
use gp_model::{
    DataType, Envelope, Field, GpValue, LayerInfo, MapLayerEntry, MapServiceInfo, SpatialReference,
};
use serde_json::json;

use crate::catalog::ServiceDef;
use crate::project::Crs;
use crate::record::{JobRecord, StoredOutput};
use crate::render::{Layer, feature_extent, raster_extent};
use crate::state::{App, CURRENT_VERSION};

/// A drawable output of a job.
pub(crate) struct JobLayer {
    pub(crate) id: usize,
    pub(crate) name: String,
    pub(crate) layer: Layer,
    pub(crate) sr: SpatialReference,
    pub(crate) geometry_type: Option<GeometryType>,
    pub(crate) fields: Option<Vec<Field>>,
}

pub(crate) fn job_dir(app: &App, svc: &ServiceDef, rec: &JobRecord) -> std::path::PathBuf {
    app.jobs
        .jobs_root()
        .join(svc.jobs_dir_name())
        .join(&rec.job_id)
}

pub(crate) fn job_layers(app: &App, svc: &ServiceDef, rec: &JobRecord) -> Vec<JobLayer> {
    let mut out = Vec::new();
    for o in rec.results.iter() {
        match o {
            StoredOutput::Value(r) => {
                let GpValue::FeatureSet(fs) = &r.value else {
                    continue;
                };
                let sr = fs
                    .spatial_reference
                    .clone()
                    .unwrap_or_else(|| SpatialReference::from_wkid(4326));
                out.push(JobLayer {
                    id: out.len(),
                    name: r.param_name.to_string(),
                    geometry_type: fs.geometry_type.clone(),
                    fields: fs.fields.clone(),
                    layer: Layer::Features(Box::new(fs.clone())),
                    sr,
                });
            }
            StoredOutput::File {
                param_name,
                data_type: DataType::RasterDataLayer,
                name: file,
                ..
            } => {
                let path = job_dir(app, svc, rec).join("scratch").join(file);
                let epsg = raster_extent(&path).map(|(_, e)| e).unwrap_or(4326);
                out.push(JobLayer {
                    id: out.len(),
                    name: param_name.clone(),
                    geometry_type: None,
                    layer: Layer::Raster(path),
                    sr: SpatialReference::from_wkid(epsg),
                    fields: None,
                });
            }
            StoredOutput::File { .. } | StoredOutput::Hosted { .. } => {}
        }
    }
    out
}

pub(crate) fn layer_extent(l: &JobLayer, target: &SpatialReference) -> Option<[f64; 4]> {
    match &l.layer {
        Layer::Features(fs) => feature_extent(fs, target),
        Layer::Base(_) => None,
        Layer::Raster(p) => {
            let (b, epsg) = raster_extent(p)?;
            let from = Crs::from_wkid(epsg).ok()?;
            let to = Crs::from_sr(target).ok()?;
            if from.code == to.code {
                return Some(b);
            }
            let corners = [(b[0], b[1]), (b[0], b[3]), (b[2], b[1]), (b[2], b[3])];
            let pts: Vec<(f64, f64)> = corners
                .iter()
                .filter_map(|(x, y)| from.transform_xy(&to, *x, *y).ok())
                .collect();
            if pts.len() < 4 {
                return None;
            }
            Some([
                pts.iter().map(|p| p.0).fold(f64::INFINITY, f64::min),
                pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min),
                pts.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max),
                pts.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max),
            ])
        }
    }
}

pub(crate) fn union(a: Option<[f64; 4]>, b: Option<[f64; 4]>) -> Option<[f64; 4]> {
    match (a, b) {
        (Some(a), Some(b)) => Some([
            a[0].min(b[0]),
            a[1].min(b[1]),
            a[2].max(b[2]),
            a[3].max(b[3]),
        ]),
        (x, None) | (None, x) => x,
    }
}

pub(crate) fn envelope(b: [f64; 4], sr: &SpatialReference) -> Envelope {
    let mut e = Envelope::new(b[0], b[1], b[2], b[3]);
    e.spatial_reference = Some(Box::new(sr.clone()));
    e
}

pub(crate) fn units_of(sr: &SpatialReference) -> &'static str {
    match Crs::from_sr(sr) {
        Ok(c) if c.is_geographic() => "esriDecimalDegrees",
        _ => "esriMeters",
    }
}

pub(crate) fn layer_type(l: &JobLayer) -> &'static str {
    if matches!(l.layer, Layer::Raster(_)) {
        "Raster Layer"
    } else {
        "Feature Layer"
    }
}

pub(crate) fn map_info(svc: &ServiceDef, layers: &[JobLayer]) -> MapServiceInfo {
    let sr = layers
        .first()
        .map(|l| l.sr.clone())
        .unwrap_or_else(|| SpatialReference::from_wkid(4326));
    let ext = layers
        .iter()
        .fold(None, |acc, l| union(acc, layer_extent(l, &sr)))
        .map(|b| envelope(b, &sr));
    let mut extra = serde_json::Map::new();
    extra.insert("description".into(), "".into());
    extra.insert("copyrightText".into(), "".into());
    extra.insert("supportsDynamicLayers".into(), false.into());
    extra.insert("singleFusedMapCache".into(), false.into());
    extra.insert("supportedQueryFormats".into(), "JSON".into());
    extra.insert("exportTilesAllowed".into(), false.into());
    MapServiceInfo {
        current_version: Some(CURRENT_VERSION),
        service_description: Some(format!("Results of {}", svc.qualified_name())),
        map_name: Some("Layers".into()),
        layers: layers
            .iter()
            .map(|l| MapLayerEntry {
                id: l.id as i64,
                name: l.name.clone(),
                parent_layer_id: -1,
                default_visibility: true,
                sub_layer_ids: None,
                min_scale: 0.0,
                max_scale: 0.0,
                layer_type: Some(layer_type(l).into()),
                geometry_type: l.geometry_type.clone(),
            })
            .collect(),
        tables: Vec::new(),
        spatial_reference: Some(sr.clone()),
        initial_extent: ext.clone(),
        full_extent: ext,
        units: Some(units_of(&sr).into()),
        supported_image_format_types: Some("PNG32,PNG24,PNG,JPG".into()),
        capabilities: Some("Map".into()),
        max_image_height: Some(crate::render::MAX_SIDE),
        max_image_width: Some(crate::render::MAX_SIDE),
        max_record_count: Some(1000),
        extra,
    }
}

pub(crate) fn layer_info(l: &JobLayer, max_records: u64) -> LayerInfo {
    let raster = matches!(l.layer, Layer::Raster(_));
    let query = match &l.layer {
        Layer::Features(fs) => crate::featureserver::queryable(&job_oid(fs), max_records),
        _ => LayerInfo::default(),
    };
    LayerInfo {
        current_version: Some(CURRENT_VERSION),
        id: l.id as i64,
        name: l.name.clone(),
        layer_type: Some(layer_type(l).into()),
        description: Some(String::new()),
        geometry_type: l.geometry_type.clone(),
        extent: layer_extent(l, &l.sr).map(|b| envelope(b, &l.sr)),
        display_field: Some(String::new()),
        fields: l.fields.clone(),
        drawing_info: (!raster).then(drawing_info),
        min_scale: Some(0.0),
        max_scale: Some(0.0),
        ..query
    }
}

/// How feature outputs are drawn: a simple renderer, kept as JSON in the model
/// (drawing info is not modelled).
pub(crate) fn drawing_info() -> serde_json::Value {
    json!({"renderer": {"type": "simple", "symbol": {
        "type": "esriSFS", "style": "esriSFSSolid", "color": [0, 112, 255, 90],
        "outline": {"type": "esriSLS", "style": "esriSLSSolid", "color": [0, 60, 150, 255], "width": 1.1}
    }}})
}

/// The object id field of a job's feature output.
pub(crate) fn job_oid(fs: &gp_model::FeatureSet) -> String {
    fs.fields
        .iter()
        .flatten()
        .find(|f| f.field_type == gp_model::FieldType::Oid)
        .map_or_else(|| "OBJECTID".to_string(), |f| f.name.clone())
}
