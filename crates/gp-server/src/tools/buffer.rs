//! `BufferPoints`: buffer point features by a linear distance.
//!
//! Geographic inputs get geodesic circles (each vertex is the WGS 84 geodesic
//! destination at the distance, geographiclib through `geo`); projected inputs get
//! planar circles in the system's linear unit. `Dissolve=ALL` is a real polygon
//! union (`geo`'s `unary_union` on i_overlay).

use std::path::PathBuf;

use geo::Polygon as GeoPolygon;
use gp_model::geometry::{Geometry, GeometryType, Polygon};
use gp_model::{
    AttrValue, Attributes, Coord, Feature, FeatureSet, Field, FieldType, GpValue, LinearUnit,
    SpatialReference,
};

use super::circles::{geodesic_circle, planar_circle, split_at_antimeridian};
use super::{
    BadParam, HOSTED_OUTPUT_PARAM, HostedTarget, Inputs, LayerInput, Output, PrepareLimits,
    Resolver, ToolCtx, ToolError, required,
};
use crate::project::{Crs, project_feature_set};
use crate::remote_layer::RemoteLayer;
use crate::shapes::{from_geo, split_polygons, to_geo};

/// A checked buffer request.
#[derive(Debug)]
pub(crate) struct BufferJob {
    features: FeatureSet,
    distance: LinearUnit,
    meters: f64,
    dissolve: bool,
    sr: SpatialReference,
    /// Where the output goes when asked for as a hosted layer.
    hosted: Option<HostedTarget>,
    /// Another server's layer to read when the job runs (then `features` is empty).
    remote: Option<RemoteLayer>,
    /// Most points buffered.
    max_vertices: usize,
}

/// The points of `Input_Features`: here, or to be read from another server.
enum Loaded {
    Features(Box<FeatureSet>),
    Remote(RemoteLayer),
}

/// The default input schema: points in WGS 84 with OBJECTID and Name.
pub(crate) fn default_schema() -> FeatureSet {
    FeatureSet::with_schema(
        Some(GeometryType::Point),
        Some(SpatialReference::from_wkid(4326)),
        vec![
            Field::new("OBJECTID", FieldType::Oid).with_alias("OBJECTID"),
            Field::new("Name", FieldType::String)
                .with_alias("Name")
                .with_length(50),
        ],
    )
}

fn load_features(v: &GpValue, resolver: &dyn Resolver, param: &str) -> Result<Loaded, BadParam> {
    match v {
        GpValue::FeatureSet(fs) | GpValue::RecordSet(fs) => {
            Ok(Loaded::Features(Box::new(fs.clone())))
        }
        GpValue::FeatureCollection(c) => Ok(Loaded::Features(Box::new(c.feature_set.clone()))),
        GpValue::DataRef(r) => {
            match resolver.layer(param, r)? {
                Some(LayerInput::Features(fs)) => return Ok(Loaded::Features(fs)),
                Some(LayerInput::Remote(l)) => return Ok(Loaded::Remote(l)),
                None => {}
            }
            let path: PathBuf = resolver.resolve(param, v)?;
            gp_features::load(&path)
                .map(|fs| Loaded::Features(Box::new(fs)))
                .map_err(|e| {
                    BadParam::new(
                        param,
                        format!("the referenced file is not a feature file: {e}"),
                    )
                })
        }
        other => Err(BadParam::new(
            param,
            format!("expected a feature set, got {}", kind_name(other)),
        )),
    }
}

pub(crate) fn kind_name(v: &GpValue) -> &'static str {
    match v {
        GpValue::Null => "null",
        GpValue::String(_) | GpValue::HiddenString(_) => "a string",
        GpValue::Long(_) | GpValue::Double(_) => "a number",
        GpValue::Boolean(_) => "a boolean",
        GpValue::DataRef(_) => "a data reference",
        GpValue::FeatureSet(_) => "a feature set",
        GpValue::RecordSet(_) => "a record set",
        _ => "another kind of value",
    }
}

/// The parameter buffered points come from.
const FEATURES: &str = "Input_Features";

/// Checks that `features` are valid points, at most `max_vertices` of them, in a
/// spatial reference this server projects; returns that spatial reference.
fn check_points(features: &FeatureSet, max_vertices: usize) -> Result<SpatialReference, BadParam> {
    if let Some(gt) = &features.geometry_type
        && !matches!(gt, GeometryType::Point | GeometryType::Multipoint)
    {
        return Err(BadParam::new(
            FEATURES,
            format!("expected point features (esriGeometryPoint), got {gt}"),
        ));
    }
    let mut vertices = 0usize;
    for (i, f) in features.features.iter().enumerate() {
        match &f.geometry {
            None | Some(Geometry::Point(_)) => vertices += 1,
            Some(Geometry::Multipoint(m)) => vertices += m.points.len(),
            Some(g) => {
                return Err(BadParam::new(
                    FEATURES,
                    format!(
                        "feature {i} is {}; expected point features (esriGeometryPoint)",
                        g.geometry_type()
                    ),
                ));
            }
        }
        if vertices > max_vertices {
            return Err(BadParam::new(
                FEATURES,
                format!(
                    "more than {} points; this server buffers at most that many per request",
                    max_vertices
                ),
            ));
        }
        if let Some(g) = &f.geometry {
            g.validate()
                .map_err(|e| BadParam::new(FEATURES, format!("feature {i}: {e}")))?;
        }
    }
    let sr = features
        .spatial_reference
        .clone()
        .unwrap_or_else(|| SpatialReference::from_wkid(4326));
    Crs::from_sr(&sr).map_err(|e| BadParam::new(FEATURES, e))?;
    Ok(sr)
}

/// Checks the inputs of `BufferPoints`.
pub(crate) fn prepare(
    inputs: &Inputs,
    resolver: &dyn Resolver,
    limits: PrepareLimits,
) -> Result<BufferJob, BadParam> {
    const DISTANCE: &str = "Distance";
    let (features, remote, sr) =
        match load_features(required(inputs, FEATURES)?, resolver, FEATURES)? {
            Loaded::Features(fs) => {
                let sr = check_points(&fs, limits.max_vertices)?;
                (*fs, None, sr)
            }
            // Checked once read, when the job runs.
            Loaded::Remote(l) => (default_schema(), Some(l), SpatialReference::from_wkid(4326)),
        };
    let distance = match required(inputs, DISTANCE)? {
        GpValue::LinearUnit(u) => u.clone(),
        GpValue::Double(d) => LinearUnit::new(*d, gp_model::LinearUnitKind::Meters),
        GpValue::Long(d) => LinearUnit::new(*d as f64, gp_model::LinearUnitKind::Meters),
        other => {
            return Err(BadParam::new(
                DISTANCE,
                format!("expected a linear unit, got {}", kind_name(other)),
            ));
        }
    };
    if !distance.distance.is_finite() || distance.distance <= 0.0 {
        return Err(BadParam::new(
            DISTANCE,
            format!(
                "the distance must be a positive number, got {}",
                distance.distance
            ),
        ));
    }
    let meters = distance.to_meters().ok_or_else(|| {
        BadParam::new(
            DISTANCE,
            format!(
                "{} is not a linear unit that converts to metres; use e.g. esriMeters or esriFeet",
                distance.units
            ),
        )
    })?;
    let dissolve = match inputs.get("Dissolve") {
        None | Some(GpValue::Null) => false,
        Some(GpValue::String(s)) if s.eq_ignore_ascii_case("NONE") => false,
        Some(GpValue::String(s)) if s.eq_ignore_ascii_case("ALL") => true,
        Some(other) => {
            return Err(BadParam::new(
                "Dissolve",
                format!("expected NONE or ALL, got {}", other.to_form_text()),
            ));
        }
    };
    let hosted = match inputs.get(HOSTED_OUTPUT_PARAM) {
        Some(GpValue::String(name)) => Some(resolver.hosted(name)?),
        _ => None,
    };
    Ok(BufferJob {
        features,
        distance,
        meters,
        dissolve,
        sr,
        hosted,
        remote,
        max_vertices: limits.max_vertices,
    })
}

/// Runs the buffer.
pub(crate) fn run(mut job: BufferJob, ctx: &ToolCtx) -> Result<Vec<(String, Output)>, ToolError> {
    if let Some(layer) = job.remote.take() {
        ctx.info(format!("Reading {FEATURES} from {}.", layer.url));
        let fs = tokio::runtime::Handle::current()
            .block_on(layer.fetch())
            .map_err(|m| ToolError::Failed(format!("{FEATURES}: {m}")))?;
        ctx.check()?;
        job.sr = check_points(&fs, job.max_vertices)
            .map_err(|b| ToolError::Failed(format!("{}: {}", b.param, b.reason)))?;
        ctx.info(format!("{} feature(s) read.", fs.features.len()));
        job.features = fs;
    }
    // The buffer is computed in the processing spatial reference when one is given.
    let work_sr = ctx.env.process_sr.clone().unwrap_or_else(|| job.sr.clone());
    if ctx.env.process_sr.is_some() {
        project_feature_set(&mut job.features, &work_sr, &job.sr).map_err(ToolError::Failed)?;
    }
    let crs = Crs::from_sr(&work_sr).map_err(ToolError::Failed)?;
    // The processing extent: points outside it are not buffered.
    let extent = match &ctx.env.extent {
        Some(e) => {
            let b = e
                .bounds()
                .ok_or_else(|| ToolError::Failed("the processing extent is empty".into()))?;
            let esr = e
                .spatial_reference
                .as_deref()
                .cloned()
                .unwrap_or_else(|| job.sr.clone());
            Some((b, Crs::from_sr(&esr).map_err(ToolError::Failed)?))
        }
        None => None,
    };
    let inside = |c: &Coord| -> bool {
        let Some((b, ecrs)) = &extent else {
            return true;
        };
        let (x, y) = if ecrs.code == crs.code {
            (c.x, c.y)
        } else {
            match crs.transform_xy(ecrs, c.x, c.y) {
                Ok(p) => p,
                Err(_) => return false,
            }
        };
        x >= b[0] && x <= b[2] && y >= b[1] && y <= b[3]
    };
    let mut outside = 0usize;
    let geographic = crs.is_geographic();
    if geographic {
        ctx.info(format!(
            "Buffering by {} {} ({} m) along the WGS 84 ellipsoid (geodesic).",
            job.distance.distance, job.distance.units, job.meters
        ));
    } else {
        ctx.info(format!(
            "Buffering by {} {} ({} m) in the plane of EPSG:{}.",
            job.distance.distance, job.distance.units, job.meters, crs.code
        ));
    }
    let radius = if geographic {
        job.meters
    } else {
        job.meters / crs.meters_per_unit()
    };
    let circle = |c: &Coord| {
        if geographic {
            geodesic_circle(c.x, c.y, radius)
        } else {
            planar_circle(c.x, c.y, radius)
        }
    };
    let total = job.features.features.len().max(1);
    let mut out_features: Vec<Feature> = Vec::with_capacity(job.features.features.len());
    let keep_fields: Vec<Field> = job
        .features
        .fields
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|f| {
            f.field_type != FieldType::Oid
                && f.field_type != FieldType::Geometry
                && !f.name.eq_ignore_ascii_case("BUFF_DIST")
                && !f.name.eq_ignore_ascii_case("ORIG_FID")
        })
        .collect();
    let mut skipped = 0usize;
    for (i, f) in job.features.features.iter().enumerate() {
        if i.is_multiple_of(256) {
            ctx.check()?;
            ctx.progress(
                Some(100.0 * i as f64 / total as f64),
                format!("Buffering feature {} of {}", i + 1, total),
            );
        }
        let all: Vec<Coord> = match &f.geometry {
            Some(Geometry::Point(p)) => p.coord.iter().copied().collect(),
            Some(Geometry::Multipoint(m)) => m.points.clone(),
            _ => Vec::new(),
        };
        if all.is_empty() {
            skipped += 1;
            continue;
        }
        let points: Vec<Coord> = all.into_iter().filter(|c| inside(c)).collect();
        if points.is_empty() {
            outside += 1;
            continue;
        }
        let mut rings: Vec<Vec<Coord>> = points.iter().map(circle).collect();
        if rings.len() > 1 {
            let polys: Vec<GeoPolygon<f64>> = rings
                .iter()
                .filter_map(|r| to_geo(std::slice::from_ref(r)))
                .collect();
            rings = from_geo(&geo::unary_union(&polys));
        }
        if geographic {
            rings = split_at_antimeridian(rings);
        }
        let mut attributes = Attributes::default();
        attributes.insert(
            "OBJECTID".to_string(),
            AttrValue::Int(out_features.len() as i64 + 1),
        );
        for field in &keep_fields {
            let v = f
                .attributes
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&field.name))
                .map(|(_, v)| v.clone())
                .unwrap_or(AttrValue::Null);
            attributes.insert(field.name.clone(), v);
        }
        attributes.insert(
            "BUFF_DIST".to_string(),
            AttrValue::Float(job.distance.distance),
        );
        let orig = oid_of(&job.features, f).unwrap_or(i as i64 + 1);
        attributes.insert("ORIG_FID".to_string(), AttrValue::Int(orig));
        out_features.push(Feature {
            attributes,
            geometry: Some(Geometry::Polygon(Polygon {
                rings,
                ..Default::default()
            })),
        });
    }
    if outside > 0 {
        ctx.info(format!(
            "{outside} feature(s) outside the processing extent were not buffered."
        ));
    }
    if skipped > 0 {
        ctx.warn(format!(
            "{skipped} feature(s) without a geometry were skipped."
        ));
    }
    let mut fields = vec![Field::new("OBJECTID", FieldType::Oid).with_alias("OBJECTID")];
    if job.dissolve {
        ctx.check()?;
        ctx.progress(Some(95.0), "Dissolving buffers");
        let polys: Vec<GeoPolygon<f64>> = out_features
            .iter()
            .filter_map(|f| match &f.geometry {
                Some(Geometry::Polygon(p)) => Some(p),
                _ => None,
            })
            .flat_map(|p| split_polygons(&p.rings))
            .collect();
        let union = geo::unary_union(&polys);
        let mut attributes = Attributes::default();
        attributes.insert("OBJECTID".to_string(), AttrValue::Int(1));
        attributes.insert(
            "BUFF_DIST".to_string(),
            AttrValue::Float(job.distance.distance),
        );
        out_features = if union.0.is_empty() {
            Vec::new()
        } else {
            vec![Feature {
                attributes,
                geometry: Some(Geometry::Polygon(Polygon {
                    rings: from_geo(&union),
                    ..Default::default()
                })),
            }]
        };
        fields.push(Field::new("BUFF_DIST", FieldType::Double).with_alias("BUFF_DIST"));
    } else {
        fields.extend(keep_fields);
        fields.push(Field::new("BUFF_DIST", FieldType::Double).with_alias("BUFF_DIST"));
        fields.push(Field::new("ORIG_FID", FieldType::Integer).with_alias("ORIG_FID"));
    }
    let mut out = FeatureSet {
        display_field_name: Some(String::new()),
        object_id_field_name: Some("OBJECTID".into()),
        geometry_type: Some(GeometryType::Polygon),
        spatial_reference: Some(work_sr.clone()),
        fields: Some(fields),
        features: out_features,
        ..Default::default()
    };
    // Outputs are in outSR, else in the input's spatial reference.
    let final_sr = ctx.env.out_sr.clone().unwrap_or_else(|| job.sr.clone());
    if Crs::from_sr(&final_sr).map(|c| c.code) != Ok(crs.code) {
        ctx.check()?;
        project_feature_set(&mut out, &final_sr, &work_sr).map_err(ToolError::Failed)?;
    } else {
        out.spatial_reference = Some(final_sr);
    }
    ctx.info(format!("{} buffer polygon(s) written.", out.features.len()));
    let value = match job.hosted {
        None => Output::Value(Box::new(GpValue::FeatureSet(out))),
        Some(t) => {
            t.store
                .publish(&t.name, t.owner.as_deref(), out)
                .map_err(|m| ToolError::Failed(format!("publishing the hosted layer: {m}")))?;
            ctx.info(format!(
                "Output_Polygons published as the hosted layer {}/{}.",
                crate::hosted::FOLDER,
                t.name
            ));
            Output::Hosted { service: t.name }
        }
    };
    Ok(vec![("Output_Polygons".to_string(), value)])
}

fn oid_of(fs: &FeatureSet, f: &Feature) -> Option<i64> {
    let name = fs.object_id_field_name.clone().or_else(|| {
        fs.fields.as_ref().and_then(|fields| {
            fields
                .iter()
                .find(|x| x.field_type == FieldType::Oid)
                .map(|x| x.name.clone())
        })
    })?;
    f.attributes
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(&name))
        .and_then(|(_, v)| v.as_i64())
}
