//! The decoded raster value.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The type of one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SampleType {
    /// Unsigned 8-bit.
    U8,
    /// Unsigned 16-bit.
    U16,
    /// Unsigned 32-bit.
    U32,
    /// Unsigned 64-bit.
    U64,
    /// Signed 8-bit.
    I8,
    /// Signed 16-bit.
    I16,
    /// Signed 32-bit.
    I32,
    /// Signed 64-bit.
    I64,
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
}

impl SampleType {
    /// Bytes per sample.
    pub fn size(self) -> usize {
        match self {
            SampleType::U8 | SampleType::I8 => 1,
            SampleType::U16 | SampleType::I16 => 2,
            SampleType::U32 | SampleType::I32 | SampleType::F32 => 4,
            SampleType::U64 | SampleType::I64 | SampleType::F64 => 8,
        }
    }

    /// True for floating-point types.
    pub fn is_float(self) -> bool {
        matches!(self, SampleType::F32 | SampleType::F64)
    }

    /// True for signed integer types.
    pub fn is_signed_int(self) -> bool {
        matches!(
            self,
            SampleType::I8 | SampleType::I16 | SampleType::I32 | SampleType::I64
        )
    }
}

/// Pixel values, band after band (band-sequential), rows top to bottom.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
#[allow(missing_docs)] // reason: one variant per sample type, named by it
pub enum RasterData {
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    I8(Vec<i8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// Calls `$body` with `$v` bound to the typed vector of a [`RasterData`].
macro_rules! with_data {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            $crate::raster::RasterData::U8($v) => $body,
            $crate::raster::RasterData::U16($v) => $body,
            $crate::raster::RasterData::U32($v) => $body,
            $crate::raster::RasterData::U64($v) => $body,
            $crate::raster::RasterData::I8($v) => $body,
            $crate::raster::RasterData::I16($v) => $body,
            $crate::raster::RasterData::I32($v) => $body,
            $crate::raster::RasterData::I64($v) => $body,
            $crate::raster::RasterData::F32($v) => $body,
            $crate::raster::RasterData::F64($v) => $body,
        }
    };
}
pub(crate) use with_data;

impl RasterData {
    /// The sample type.
    pub fn sample_type(&self) -> SampleType {
        match self {
            RasterData::U8(_) => SampleType::U8,
            RasterData::U16(_) => SampleType::U16,
            RasterData::U32(_) => SampleType::U32,
            RasterData::U64(_) => SampleType::U64,
            RasterData::I8(_) => SampleType::I8,
            RasterData::I16(_) => SampleType::I16,
            RasterData::I32(_) => SampleType::I32,
            RasterData::I64(_) => SampleType::I64,
            RasterData::F32(_) => SampleType::F32,
            RasterData::F64(_) => SampleType::F64,
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        with_data!(self, v => v.len())
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The samples as native-endian bytes.
    pub fn as_bytes(&self) -> &[u8] {
        with_data!(self, v => bytemuck::cast_slice(v.as_slice()))
    }

    /// Sample `i` as `f64` (64-bit integers beyond 2^53 lose precision).
    #[allow(clippy::unnecessary_cast)] // reason: the macro covers the f64 variant too
    pub fn get_f64(&self, i: usize) -> Option<f64> {
        with_data!(self, v => v.get(i).map(|x| *x as f64))
    }

    /// A zeroed buffer of `len` samples, allocated fallibly.
    pub(crate) fn zeroed(t: SampleType, len: usize) -> Result<RasterData> {
        fn alloc<T: Clone + Default>(len: usize) -> Result<Vec<T>> {
            let mut v = Vec::new();
            v.try_reserve_exact(len).map_err(|e| Error::Raster {
                message: format!("cannot allocate {len} samples: {e}"),
            })?;
            v.resize(len, T::default());
            Ok(v)
        }
        Ok(match t {
            SampleType::U8 => RasterData::U8(alloc(len)?),
            SampleType::U16 => RasterData::U16(alloc(len)?),
            SampleType::U32 => RasterData::U32(alloc(len)?),
            SampleType::U64 => RasterData::U64(alloc(len)?),
            SampleType::I8 => RasterData::I8(alloc(len)?),
            SampleType::I16 => RasterData::I16(alloc(len)?),
            SampleType::I32 => RasterData::I32(alloc(len)?),
            SampleType::I64 => RasterData::I64(alloc(len)?),
            SampleType::F32 => RasterData::F32(alloc(len)?),
            SampleType::F64 => RasterData::F64(alloc(len)?),
        })
    }
}

/// `GTRasterTypeGeoKey`: whether a pixel's coordinates name its area or its centre.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RasterType {
    /// PixelIsArea (the default).
    #[default]
    Area,
    /// PixelIsPoint.
    Point,
}

/// `GTModelTypeGeoKey`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelType {
    /// A projected coordinate system.
    Projected,
    /// A geographic (latitude/longitude) coordinate system.
    Geographic,
    /// Geocentric.
    Geocentric,
}

/// Georeferencing of a raster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GeoReference {
    /// GDAL-style geotransform `[x0, dx, rx, y0, ry, dy]` in the pixel-is-area
    /// convention: pixel (col, row)'s corner is `(x0 + col*dx + row*rx, y0 + col*ry + row*dy)`.
    pub geotransform: Option<[f64; 6]>,
    /// EPSG code of the projected or geographic coordinate system.
    pub epsg: Option<u32>,
    /// Projected or geographic.
    pub model_type: Option<ModelType>,
    /// Area or point.
    pub raster_type: RasterType,
}

impl GeoReference {
    /// A north-up georeference: top-left corner, pixel size, EPSG code.
    pub fn north_up(x0: f64, y0: f64, pixel: f64, epsg: u32) -> Self {
        GeoReference {
            geotransform: Some([x0, pixel, 0.0, y0, 0.0, -pixel]),
            epsg: Some(epsg),
            model_type: Some(guess_model(epsg)),
            raster_type: RasterType::Area,
        }
    }
}

/// Geographic for EPSG codes of the 4000 range (4326, 4269, 4258, ...), else projected.
pub(crate) fn guess_model(epsg: u32) -> ModelType {
    if (4000..5000).contains(&epsg) {
        ModelType::Geographic
    } else {
        ModelType::Projected
    }
}

/// Statistics of one band, ignoring nodata and NaN.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BandStats {
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
    /// Mean.
    pub mean: f64,
    /// Population standard deviation (as GDAL reports it).
    pub stddev: f64,
    /// Number of valid samples.
    pub valid_count: u64,
}

/// A decoded raster: size, bands, samples and georeferencing.
#[derive(Debug, Clone, PartialEq)]
pub struct Raster {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Number of bands.
    pub bands: u32,
    /// The samples, band-sequential.
    pub data: RasterData,
    /// Georeferencing.
    pub georef: GeoReference,
    /// Nodata value (`GDAL_NODATA`).
    pub nodata: Option<f64>,
    /// `GDAL_METADATA` XML, as written.
    pub metadata: Option<String>,
}

impl Raster {
    /// A raster from its parts; fails when the buffer size does not match.
    pub fn new(width: u32, height: u32, bands: u32, data: RasterData) -> Result<Raster> {
        let want = u64::from(width) * u64::from(height) * u64::from(bands);
        if data.len() as u64 != want || bands == 0 {
            return Err(Error::Raster {
                message: format!(
                    "{width}x{height}x{bands} needs {want} samples, the buffer has {}",
                    data.len()
                ),
            });
        }
        Ok(Raster {
            width,
            height,
            bands,
            data,
            georef: GeoReference::default(),
            nodata: None,
            metadata: None,
        })
    }

    /// Samples per band.
    pub fn band_len(&self) -> usize {
        self.width as usize * self.height as usize
    }

    /// Sample type.
    pub fn sample_type(&self) -> SampleType {
        self.data.sample_type()
    }

    /// Value at (band, col, row) as `f64`.
    pub fn value(&self, band: u32, col: u32, row: u32) -> Option<f64> {
        if band >= self.bands || col >= self.width || row >= self.height {
            return None;
        }
        let i = band as usize * self.band_len() + row as usize * self.width as usize + col as usize;
        self.data.get_f64(i)
    }

    /// Statistics of band `band` (0-based), ignoring nodata and NaN; `None` when the
    /// band has no valid sample.
    #[allow(clippy::unnecessary_cast)] // reason: the macro covers the f64 variant too
    pub fn stats(&self, band: u32) -> Option<BandStats> {
        if band >= self.bands {
            return None;
        }
        let n = self.band_len();
        let start = band as usize * n;
        let nodata = crate::stats::band_nodata(self.sample_type(), self.nodata);
        let mut acc = crate::stats::Acc::default();
        with_data!(&self.data, v => {
            for x in &v[start..start + n] {
                let x = *x as f64;
                if x.is_nan() || nodata.is_some_and(|nd| nd == x) {
                    continue;
                }
                acc.push(x);
            }
        });
        acc.finish()
    }
}
