//! Encoding features as FlatGeobuf flatbuffers ([`FgbEncoder`]), in parallel batches,
//! with the `flatgeobuf` crate's generated types; the column types of a schema.

use flatgeobuf::{ColumnType, GeometryType as FgbType};
use gp_model::FieldType;
use gp_model::esrijson::column_value;

use crate::error::{Result, fmt_err};
use crate::flat::{FlatBatch, FlatGeom, Kind};
use crate::sink::{Encoded, Encoder};

pub(crate) fn column_type(t: &FieldType) -> ColumnType {
    match t {
        FieldType::SmallInteger => ColumnType::Short,
        FieldType::Integer => ColumnType::Int,
        FieldType::Oid | FieldType::BigInteger => ColumnType::Long,
        FieldType::Single => ColumnType::Float,
        FieldType::Double => ColumnType::Double,
        FieldType::Date => ColumnType::DateTime,
        _ => ColumnType::String,
    }
}

/// Coordinates of one geometry (or part) as FlatGeobuf arrays.
#[derive(Default)]
pub(crate) struct Arrays {
    xy: Vec<f64>,
    z: Vec<f64>,
    m: Vec<f64>,
    ends: Vec<u32>,
}

impl Arrays {
    /// Empties the arrays, keeping their room (one `Arrays` serves every feature of a
    /// batch).
    fn clear(&mut self) {
        self.xy.clear();
        self.z.clear();
        self.m.clear();
        self.ends.clear();
    }

    /// Appends coordinates in the order given, widening `bbox` to them.
    fn extend<'c>(
        &mut self,
        cs: impl ExactSizeIterator<Item = &'c gp_model::Coord>,
        z: bool,
        m: bool,
        bbox: &mut [f64; 4],
    ) {
        self.xy.reserve(2 * cs.len());
        let [mut x0, mut y0, mut x1, mut y1] = *bbox;
        for c in cs {
            self.xy.extend_from_slice(&[c.x, c.y]);
            if z {
                self.z.push(c.z.unwrap_or(0.0));
            }
            if m {
                self.m.push(c.m.unwrap_or(f64::NAN));
            }
            x0 = x0.min(c.x);
            y0 = y0.min(c.y);
            x1 = x1.max(c.x);
            y1 = y1.max(c.y);
        }
        *bbox = [x0, y0, x1, y1];
    }

    fn end(&mut self) {
        self.ends.push((self.xy.len() / 2) as u32);
    }

    fn build<'a>(
        &self,
        fbb: &mut flatbuffers::FlatBufferBuilder<'a>,
        type_: FgbType,
        keep_ends: bool,
    ) -> flatbuffers::WIPOffset<flatgeobuf::Geometry<'a>> {
        let xy = Some(fbb.create_vector(&self.xy));
        let z = (!self.z.is_empty()).then(|| fbb.create_vector(&self.z));
        let m = (!self.m.is_empty()).then(|| fbb.create_vector(&self.m));
        let ends = (keep_ends && self.ends.len() > 1).then(|| fbb.create_vector(&self.ends));
        flatgeobuf::Geometry::create(
            fbb,
            &flatgeobuf::GeometryArgs {
                xy,
                z,
                m,
                ends,
                type_,
                ..Default::default()
            },
        )
    }
}

pub(crate) fn put_props(
    out: &mut Vec<u8>,
    fields: &[(usize, gp_model::Field)],
    f: &crate::flat::FlatFeature<'_>,
    scratch: &mut gp_model::AttrValue,
) {
    use geozero::ColumnValue as C;
    out.clear();
    let mut text = String::new();
    for (ci, (slot, field)) in fields.iter().enumerate() {
        let Some(v) = f.attr(*slot, scratch) else {
            continue;
        };
        let Some(cv) = column_value(v, Some(&field.field_type), &mut text) else {
            continue;
        };
        // The value must have the column's declared type.
        let cv = match (column_type(&field.field_type), cv) {
            (ColumnType::Long, C::Short(x)) => C::Long(x.into()),
            (ColumnType::Long, C::Int(x)) => C::Long(x.into()),
            (ColumnType::Double, C::Float(x)) => C::Double(x.into()),
            (_, other) => other,
        };
        out.extend_from_slice(&(ci as u16).to_le_bytes());
        match cv {
            C::Bool(x) => out.push(u8::from(x)),
            C::Byte(x) => out.push(x as u8),
            C::UByte(x) => out.push(x),
            C::Short(x) => out.extend_from_slice(&x.to_le_bytes()),
            C::UShort(x) => out.extend_from_slice(&x.to_le_bytes()),
            C::Int(x) => out.extend_from_slice(&x.to_le_bytes()),
            C::UInt(x) => out.extend_from_slice(&x.to_le_bytes()),
            C::Long(x) => out.extend_from_slice(&x.to_le_bytes()),
            C::ULong(x) => out.extend_from_slice(&x.to_le_bytes()),
            C::Float(x) => out.extend_from_slice(&x.to_le_bytes()),
            C::Double(x) => out.extend_from_slice(&x.to_le_bytes()),
            C::String(x) | C::Json(x) | C::DateTime(x) => {
                out.extend_from_slice(&(x.len() as u32).to_le_bytes());
                out.extend_from_slice(x.as_bytes());
            }
            C::Binary(x) => {
                out.extend_from_slice(&(x.len() as u32).to_le_bytes());
                out.extend_from_slice(x);
            }
        }
    }
}

/// The per-feature half of the FlatGeobuf writer: one size-prefixed flatbuffer per
/// feature.
pub(crate) struct FgbEncoder {
    pub(crate) path: std::path::PathBuf,
    /// Each column's slot in the batch and field.
    pub(crate) fields: Vec<(usize, gp_model::Field)>,
    pub(crate) gt: FgbType,
    pub(crate) has_z: bool,
    pub(crate) has_m: bool,
}

impl FgbEncoder {
    fn geometry<'b>(
        &self,
        fbb: &mut flatbuffers::FlatBufferBuilder<'b>,
        g: &FlatGeom<'_>,
        a: &mut Arrays,
        bbox: &mut [f64; 4],
    ) -> Option<flatbuffers::WIPOffset<flatgeobuf::Geometry<'b>>> {
        let (z, m) = (self.has_z, self.has_m);
        a.clear();
        Some(match (g.kind, self.gt) {
            (Kind::Point, FgbType::Point) | (Kind::Multipoint, FgbType::MultiPoint) => {
                a.extend(g.coords().iter(), z, m, bbox);
                a.build(fbb, FgbType::Unknown, false)
            }
            (Kind::Polyline, FgbType::MultiLineString) => {
                for path in g.parts() {
                    a.extend(path.iter(), z, m, bbox);
                    a.end();
                }
                a.build(fbb, FgbType::Unknown, true)
            }
            (Kind::Polygon, FgbType::MultiPolygon) => {
                // Ring `k` of a polygon into `a`, in OGC orientation: exterior
                // counter-clockwise, holes clockwise.
                let ring =
                    |a: &mut Arrays, bbox: &mut [f64; 4], k: usize, r: &[gp_model::Coord]| {
                        let ccw = gp_model::geometry::ring_signed_area(r) > 0.0;
                        if (k == 0) == ccw {
                            a.extend(r.iter(), z, m, bbox);
                        } else {
                            a.extend(r.iter().rev(), z, m, bbox);
                        }
                        a.end();
                    };
                let mut parts = Vec::new();
                let mut rings = g.parts();
                if let (Some(r), None) = (rings.next(), rings.next()) {
                    // One ring (the common case): no grouping of rings into polygons.
                    ring(a, bbox, 0, r);
                    parts.push(a.build(fbb, FgbType::Polygon, true));
                } else {
                    for poly in g.polygons() {
                        a.clear();
                        for (k, r) in poly.iter().enumerate() {
                            ring(a, bbox, k, r);
                        }
                        parts.push(a.build(fbb, FgbType::Polygon, true));
                    }
                }
                let parts = Some(fbb.create_vector(&parts));
                flatgeobuf::Geometry::create(
                    fbb,
                    &flatgeobuf::GeometryArgs {
                        parts,
                        ..Default::default()
                    },
                )
            }
            _ => return None,
        })
    }
}

impl Encoder for FgbEncoder {
    fn encode(&self, batch: &FlatBatch, out: &mut Encoded) -> Result<()> {
        let mut fbb = flatbuffers::FlatBufferBuilder::with_capacity(4096);
        let mut props = Vec::new();
        let mut scratch = gp_model::AttrValue::Null;
        let mut arrays = Arrays::default();
        for i in 0..batch.len() {
            let f = batch.get(i);
            let n = batch.first + i;
            let mut bbox = [
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ];
            // A null or empty geometry is stored as none, its box marked NaN (see
            // `FgbSink::unindexed`).
            let geometry = match f.geometry.filter(|g| !g.is_empty()) {
                None => {
                    bbox = [f64::NAN; 4];
                    None
                }
                Some(g) => Some(
                    self.geometry(&mut fbb, &g, &mut arrays, &mut bbox)
                        .ok_or_else(|| {
                            fmt_err(&self.path, "FlatGeobuf")(format!(
                                "feature {n} is a {} in a layer of another geometry type",
                                g.kind.name()
                            ))
                        })?,
                ),
            };
            put_props(&mut props, &self.fields, &f, &mut scratch);
            let properties = Some(fbb.create_vector(&props));
            let feature = flatgeobuf::Feature::create(
                &mut fbb,
                &flatgeobuf::FeatureArgs {
                    geometry,
                    properties,
                    columns: None,
                },
            );
            fbb.finish_size_prefixed(feature, None);
            out.bytes.extend_from_slice(fbb.finished_data());
            out.close(bbox);
            fbb.reset();
        }
        Ok(())
    }
}
