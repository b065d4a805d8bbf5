//! Map images of job results (the result map service's `export`), drawn with
//! tiny-skia (anti-aliased) and encoded as PNG or JPEG with `image`.

use std::path::PathBuf;

use gp_model::geometry::Geometry;
use gp_model::{FeatureSet, SpatialReference};
use gp_raster::{DecodeLimits, read_tiff};
use tiny_skia::{FillRule, Paint, PathBuilder, Pixmap, Stroke, Transform};

use crate::project::{Crs, map_geometry};

/// Largest image side accepted by `export`.
pub(crate) const MAX_SIDE: u32 = 4096;

/// Colour of the sea under the base layer.
pub(crate) const SEA: [u8; 3] = [214, 232, 244];
/// Colour of land in the base layer.
pub(crate) const LAND: [u8; 3] = [240, 234, 214];

/// How features are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// A result: translucent blue, red points.
    Result,
    /// The base layer: land in sand, thin grey borders.
    Base,
}

/// One drawable layer.
#[derive(Debug, Clone)]
pub(crate) enum Layer {
    /// Features in their spatial reference.
    Features(Box<FeatureSet>),
    /// The base layer (shared, drawn first, on a sea-blue background).
    Base(std::sync::Arc<FeatureSet>),
    /// A GeoTIFF on disk.
    Raster(PathBuf),
}

/// Image formats of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// PNG with alpha (png, png8, png24, png32).
    Png,
    /// JPEG (jpg, jpeg).
    Jpg,
}

impl Format {
    /// Parses `format`.
    pub(crate) fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "" | "png" | "png8" | "png24" | "png32" => Some(Format::Png),
            "jpg" | "jpeg" => Some(Format::Jpg),
            _ => None,
        }
    }

    /// File extension.
    pub(crate) fn extension(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Jpg => "jpg",
        }
    }

    /// MIME type.
    pub(crate) fn mime(self) -> &'static str {
        match self {
            Format::Png => "image/png",
            Format::Jpg => "image/jpeg",
        }
    }
}

/// What to draw.
#[derive(Debug, Clone)]
pub(crate) struct MapRequest {
    /// Extent in `sr`: xmin, ymin, xmax, ymax.
    pub(crate) bbox: [f64; 4],
    /// Spatial reference of the image.
    pub(crate) sr: SpatialReference,
    /// Width and height in pixels.
    pub(crate) size: (u32, u32),
    /// Transparent background (PNG only).
    pub(crate) transparent: bool,
    /// Encoding.
    pub(crate) format: Format,
}

fn to_px(req: &MapRequest, x: f64, y: f64) -> (f32, f32) {
    let [x0, y0, x1, y1] = req.bbox;
    let (w, h) = (req.size.0 as f64, req.size.1 as f64);
    (
        ((x - x0) / (x1 - x0) * w) as f32,
        ((y1 - y) / (y1 - y0) * h) as f32,
    )
}

fn draw_features(
    pixmap: &mut Pixmap,
    req: &MapRequest,
    fs: &FeatureSet,
    target: &Crs,
    style: Style,
) -> Result<(), String> {
    let from = Crs::from_sr(
        fs.spatial_reference
            .as_ref()
            .unwrap_or(&SpatialReference::from_wkid(4326)),
    )?;
    let mut fill = Paint::default();
    fill.set_color_rgba8(0, 112, 255, 90);
    fill.anti_alias = true;
    let mut line = Paint::default();
    line.set_color_rgba8(0, 60, 150, 255);
    line.anti_alias = true;
    let mut point = Paint::default();
    point.set_color_rgba8(220, 40, 30, 255);
    point.anti_alias = true;
    let mut stroke = Stroke {
        width: 1.5,
        ..Default::default()
    };
    if style == Style::Base {
        fill.set_color_rgba8(LAND[0], LAND[1], LAND[2], 255);
        line.set_color_rgba8(160, 160, 160, 255);
        stroke.width = 0.6;
    }
    for feat in &fs.features {
        let Some(g) = &feat.geometry else { continue };
        let mut g = g.clone();
        if from.code != target.code {
            let projected = map_geometry(&mut g, &mut |x, y| from.transform_xy(target, x, y));
            match projected {
                Ok(()) => {}
                // A base feature the map's projection cannot reach is left out.
                Err(_) if style == Style::Base => continue,
                Err(e) => return Err(e),
            }
        } else {
            crate::project::linearize(&mut g);
        }
        let mut pb = PathBuilder::new();
        let mut points: Vec<(f32, f32)> = Vec::new();
        let mut closed = false;
        match &g {
            Geometry::Point(p) => points.extend(p.coord.iter().map(|c| to_px(req, c.x, c.y))),
            Geometry::Multipoint(m) => points.extend(m.points.iter().map(|c| to_px(req, c.x, c.y))),
            Geometry::Polyline(p) => {
                for path in &p.paths {
                    for (i, c) in path.iter().enumerate() {
                        let (x, y) = to_px(req, c.x, c.y);
                        if i == 0 {
                            pb.move_to(x, y)
                        } else {
                            pb.line_to(x, y)
                        }
                    }
                }
            }
            Geometry::Polygon(p) => {
                closed = true;
                for ring in &p.rings {
                    for (i, c) in ring.iter().enumerate() {
                        let (x, y) = to_px(req, c.x, c.y);
                        if i == 0 {
                            pb.move_to(x, y)
                        } else {
                            pb.line_to(x, y)
                        }
                    }
                    pb.close();
                }
            }
            Geometry::Envelope(e) => {
                if let Some([a, b, c, d]) = e.bounds() {
                    closed = true;
                    let (x0, y0) = to_px(req, a, b);
                    let (x1, y1) = to_px(req, c, d);
                    pb.move_to(x0, y0);
                    pb.line_to(x1, y0);
                    pb.line_to(x1, y1);
                    pb.line_to(x0, y1);
                    pb.close();
                }
            }
            _ => {}
        }
        for (x, y) in points {
            if let Some(c) = PathBuilder::from_circle(x, y, 4.0) {
                pixmap.fill_path(&c, &point, FillRule::Winding, Transform::identity(), None);
                pixmap.stroke_path(
                    &c,
                    &line,
                    &Stroke {
                        width: 1.0,
                        ..Default::default()
                    },
                    Transform::identity(),
                    None,
                );
            }
        }
        if let Some(path) = pb.finish() {
            if closed {
                // Esri rings: even-odd fill keeps holes open whatever their orientation.
                pixmap.fill_path(&path, &fill, FillRule::EvenOdd, Transform::identity(), None);
            }
            pixmap.stroke_path(&path, &line, &stroke, Transform::identity(), None);
        }
    }
    Ok(())
}

/// A colour ramp for rasters: green (low) through yellow to brown and white (high).
fn ramp(t: f64) -> [u8; 3] {
    const STOPS: [(f64, [f64; 3]); 5] = [
        (0.0, [56.0, 128.0, 62.0]),
        (0.35, [166.0, 206.0, 93.0]),
        (0.6, [240.0, 220.0, 120.0]),
        (0.85, [168.0, 110.0, 60.0]),
        (1.0, [250.0, 250.0, 250.0]),
    ];
    let t = t.clamp(0.0, 1.0);
    for w in STOPS.windows(2) {
        let (a, ca) = w[0];
        let (b, cb) = w[1];
        if t <= b {
            let f = (t - a) / (b - a);
            return [0, 1, 2].map(|i| (ca[i] + f * (cb[i] - ca[i])).round() as u8);
        }
    }
    [250, 250, 250]
}

fn draw_raster(
    pixmap: &mut Pixmap,
    req: &MapRequest,
    path: &PathBuf,
    target: &Crs,
) -> Result<(), String> {
    let r = read_tiff(path, &DecodeLimits::default()).map_err(|e| e.to_string())?;
    let Some(gt) = r.georef.geotransform else {
        return Err("the raster has no georeferencing".into());
    };
    let src = Crs::from_wkid(r.georef.epsg.map(|e| e as i32).unwrap_or(4326))?;
    let stats = r.stats(0).ok_or("the raster has no valid cell")?;
    let span = (stats.max - stats.min).max(f64::EPSILON);
    let (w, h) = req.size;
    let [x0, y0, x1, y1] = req.bbox;
    let data = pixmap.data_mut();
    for py in 0..h {
        for px in 0..w {
            let x = x0 + (px as f64 + 0.5) / w as f64 * (x1 - x0);
            let y = y1 - (py as f64 + 0.5) / h as f64 * (y1 - y0);
            let (sx, sy) = if src.code == target.code {
                (x, y)
            } else {
                match target.transform_xy(&src, x, y) {
                    Ok(p) => p,
                    Err(_) => continue,
                }
            };
            let col = ((sx - gt[0]) / gt[1]).floor();
            let row = ((sy - gt[3]) / gt[5]).floor();
            if col < 0.0 || row < 0.0 || col >= r.width as f64 || row >= r.height as f64 {
                continue;
            }
            let Some(v) = r.value(0, col as u32, row as u32) else {
                continue;
            };
            if v.is_nan() || r.nodata.is_some_and(|n| n == v) {
                continue;
            }
            let [cr, cg, cb] = ramp((v - stats.min) / span);
            let i = (py as usize * w as usize + px as usize) * 4;
            // Opaque pixels: premultiplied RGBA equals straight RGBA.
            data[i..i + 4].copy_from_slice(&[cr, cg, cb, 255]);
        }
    }
    Ok(())
}

/// Draws `layers` and encodes the image.
pub(crate) fn render(layers: &[Layer], req: &MapRequest) -> Result<Vec<u8>, String> {
    let (w, h) = req.size;
    if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
        return Err(format!(
            "size must be between 1 and {MAX_SIDE} pixels on each side"
        ));
    }
    let [x0, y0, x1, y1] = req.bbox;
    if !(x1 > x0 && y1 > y0 && [x0, y0, x1, y1].iter().all(|v| v.is_finite())) {
        return Err("bbox must be xmin,ymin,xmax,ymax with xmin < xmax and ymin < ymax".into());
    }
    let target = Crs::from_sr(&req.sr)?;
    let mut pixmap = Pixmap::new(w, h).ok_or("cannot allocate the image")?;
    if !(req.transparent && req.format == Format::Png) {
        pixmap.fill(tiny_skia::Color::WHITE);
    }
    for layer in layers {
        match layer {
            Layer::Raster(p) => draw_raster(&mut pixmap, req, p, &target)?,
            Layer::Features(fs) => draw_features(&mut pixmap, req, fs, &target, Style::Result)?,
            Layer::Base(fs) => {
                pixmap.fill(tiny_skia::Color::from_rgba8(SEA[0], SEA[1], SEA[2], 255));
                if let Some(view) = base_in_view(fs, req, &target) {
                    draw_features(&mut pixmap, req, &view, &target, Style::Base)?
                }
            }
        }
    }
    encode(&pixmap, req.format)
}

/// The part of the (WGS 84) base layer inside the map's view, cut to it with a margin,
/// so a map in a local projection (UTM, a state plane) projects only what it shows.
/// `None` when the view cannot be expressed in WGS 84.
fn base_in_view(fs: &FeatureSet, req: &MapRequest, target: &Crs) -> Option<FeatureSet> {
    use geo::{BooleanOps, BoundingRect, Intersects};
    let wgs84 = Crs::from_wkid(4326).ok()?;
    let [x0, y0, x1, y1] = req.bbox;
    let mut lon = (f64::INFINITY, f64::NEG_INFINITY);
    let mut lat = (f64::INFINITY, f64::NEG_INFINITY);
    for i in 0..=8 {
        for j in 0..=8 {
            let x = x0 + (x1 - x0) * f64::from(i) / 8.0;
            let y = y0 + (y1 - y0) * f64::from(j) / 8.0;
            let (a, b) = if target.code == wgs84.code {
                (x, y)
            } else {
                target.transform_xy(&wgs84, x, y).ok()?
            };
            lon = (lon.0.min(a), lon.1.max(a));
            lat = (lat.0.min(b), lat.1.max(b));
        }
    }
    let (mx, my) = ((lon.1 - lon.0) * 0.1 + 0.5, (lat.1 - lat.0) * 0.1 + 0.5);
    let view = geo::Rect::new(
        ((lon.0 - mx).max(-180.0), (lat.0 - my).max(-85.05)),
        ((lon.1 + mx).min(180.0), (lat.1 + my).min(85.05)),
    );
    let whole = view.width() >= 359.0 && view.height() >= 170.0;
    let mut out = fs.schema_only();
    for f in &fs.features {
        let Some(Geometry::Polygon(p)) = &f.geometry else {
            continue;
        };
        let polys = crate::shapes::split_polygons(&p.rings);
        let mp = geo::MultiPolygon::new(polys);
        if !mp.bounding_rect().is_some_and(|b| b.intersects(&view)) {
            continue;
        }
        let cut = if whole {
            mp
        } else {
            mp.intersection(&view.to_polygon())
        };
        let rings = crate::shapes::from_geo(&cut);
        if rings.is_empty() {
            continue;
        }
        out.features.push(gp_model::Feature {
            attributes: Default::default(),
            geometry: Some(Geometry::Polygon(gp_model::Polygon {
                rings,
                ..Default::default()
            })),
        });
    }
    Some(out)
}

fn encode(pixmap: &Pixmap, format: Format) -> Result<Vec<u8>, String> {
    let (w, h) = (pixmap.width(), pixmap.height());
    // Demultiply into straight RGBA.
    let mut rgba = Vec::with_capacity((w * h * 4) as usize);
    for p in pixmap.pixels() {
        let c = p.demultiply();
        rgba.extend_from_slice(&[c.red(), c.green(), c.blue(), c.alpha()]);
    }
    let mut out = std::io::Cursor::new(Vec::new());
    match format {
        Format::Png => {
            let img = image::RgbaImage::from_raw(w, h, rgba).ok_or("image buffer size")?;
            img.write_to(&mut out, image::ImageFormat::Png)
                .map_err(|e| e.to_string())?;
        }
        Format::Jpg => {
            let rgb: Vec<u8> = rgba
                .chunks_exact(4)
                .flat_map(|c| {
                    let a = c[3] as f32 / 255.0;
                    [0, 1, 2].map(|i| (c[i] as f32 * a + 255.0 * (1.0 - a)).round() as u8)
                })
                .collect();
            let img = image::RgbImage::from_raw(w, h, rgb).ok_or("image buffer size")?;
            img.write_to(&mut out, image::ImageFormat::Jpeg)
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(out.into_inner())
}

/// Extent of a feature set in `target`, or `None` when it has no vertex.
pub(crate) fn feature_extent(fs: &FeatureSet, target: &SpatialReference) -> Option<[f64; 4]> {
    let from = Crs::from_sr(
        fs.spatial_reference
            .as_ref()
            .unwrap_or(&SpatialReference::from_wkid(4326)),
    )
    .ok()?;
    let to = Crs::from_sr(target).ok()?;
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for f in &fs.features {
        let Some(g) = &f.geometry else { continue };
        let mut g = g.clone();
        let ok = map_geometry(&mut g, &mut |x, y| {
            if from.code == to.code {
                Ok((x, y))
            } else {
                from.transform_xy(&to, x, y)
            }
        });
        if ok.is_err() {
            continue;
        }
        g.for_each_coord_pub(&mut |c| {
            b[0] = b[0].min(c.x);
            b[1] = b[1].min(c.y);
            b[2] = b[2].max(c.x);
            b[3] = b[3].max(c.y);
        });
    }
    b.iter().all(|v| v.is_finite()).then_some(b)
}

/// Extent of a GeoTIFF (in its own system) and its EPSG code.
pub(crate) fn raster_extent(path: &PathBuf) -> Option<([f64; 4], i32)> {
    let info = gp_raster::read_tiff_info(path).ok()?;
    let gt = info.georef.geotransform?;
    let xa = gt[0];
    let xb = gt[0] + gt[1] * info.width as f64;
    let ya = gt[3];
    let yb = gt[3] + gt[5] * info.height as f64;
    Some((
        [xa.min(xb), ya.min(yb), xa.max(xb), ya.max(yb)],
        info.georef.epsg.map(|e| e as i32).unwrap_or(4326),
    ))
}

/// Pads `b` by 5% and widens it to the aspect ratio of `size`.
pub(crate) fn fit_extent(b: [f64; 4], size: (u32, u32)) -> [f64; 4] {
    let [x0, y0, x1, y1] = b;
    let mut w = (x1 - x0).max(1e-9) * 1.1;
    let mut h = (y1 - y0).max(1e-9) * 1.1;
    let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    let aspect = size.0 as f64 / size.1.max(1) as f64;
    if w / h < aspect {
        w = h * aspect;
    } else {
        h = w / aspect;
    }
    [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0]
}

/// The map scale of an extent drawn at `width` pixels and `dpi`.
pub(crate) fn scale(bbox: [f64; 4], width: u32, dpi: f64, sr: &SpatialReference) -> f64 {
    let meters_per_unit = match Crs::from_sr(sr) {
        Ok(c) if c.is_geographic() => 111_319.490_793,
        Ok(c) => c.meters_per_unit(),
        Err(_) => 1.0,
    };
    (bbox[2] - bbox[0]) * meters_per_unit / width.max(1) as f64 * dpi / 0.0254
}

#[cfg(test)]
mod tests {
    use super::*;
    use gp_model::geometry::Polygon;
    use gp_model::{Coord, Feature};

    #[test]
    fn draws_a_polygon_inside_its_extent() {
        let ring = vec![
            Coord::xy(0.0, 0.0),
            Coord::xy(0.0, 10.0),
            Coord::xy(10.0, 10.0),
            Coord::xy(10.0, 0.0),
            Coord::xy(0.0, 0.0),
        ];
        let fs = FeatureSet {
            spatial_reference: Some(SpatialReference::from_wkid(4326)),
            features: vec![Feature {
                attributes: Default::default(),
                geometry: Some(Geometry::Polygon(Polygon {
                    rings: vec![ring],
                    ..Default::default()
                })),
            }],
            ..Default::default()
        };
        let req = MapRequest {
            bbox: [-10.0, -10.0, 20.0, 20.0],
            sr: SpatialReference::from_wkid(4326),
            size: (60, 60),
            transparent: true,
            format: Format::Png,
        };
        let png = render(&[Layer::Features(Box::new(fs))], &req).unwrap();
        let img = image::load_from_memory(&png).unwrap().to_rgba8();
        // Inside the square (pixel 30,30 = (5, 5)) is blue-ish and partly opaque;
        // outside (pixel 5,5 = (-7.5, 17.5)) is transparent.
        let inside = img.get_pixel(30, 30);
        assert!(inside[3] > 0 && inside[2] > inside[0], "{inside:?}");
        assert_eq!(img.get_pixel(5, 5)[3], 0);
        let jpg = render(
            &[],
            &MapRequest {
                format: Format::Jpg,
                ..req.clone()
            },
        )
        .unwrap();
        assert_eq!(&jpg[..2], &[0xFF, 0xD8]);
        assert!(
            render(
                &[],
                &MapRequest {
                    size: (0, 10),
                    ..req
                }
            )
            .is_err()
        );
    }

    #[test]
    fn fit_extent_keeps_aspect() {
        let b = fit_extent([0.0, 0.0, 10.0, 5.0], (200, 200));
        assert!(((b[2] - b[0]) - (b[3] - b[1])).abs() < 1e-9);
        assert!(b[0] < 0.0 && b[2] > 10.0);
    }
}
