//! GP parameter data types (`dataType`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A parameter's `dataType`. `GPMultiValue:<T>` nests; unseen types are kept in `Unknown`.
///
/// ```
/// use gp_model::DataType;
/// let t: DataType = "GPMultiValue:GPLinearUnit".parse().unwrap();
/// assert_eq!(t, DataType::MultiValue(Box::new(DataType::LinearUnit)));
/// assert_eq!(t.to_string(), "GPMultiValue:GPLinearUnit");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DataType {
    /// `GPString`.
    String,
    /// `GPLong`.
    Long,
    /// `GPDouble`.
    Double,
    /// `GPBoolean`.
    Boolean,
    /// `GPDate`.
    Date,
    /// `GPLinearUnit`.
    LinearUnit,
    /// `GPArealUnit` (11.3+).
    ArealUnit,
    /// `GPTimeUnit` (12.0+).
    TimeUnit,
    /// `GPFeatureRecordSetLayer`.
    FeatureRecordSetLayer,
    /// `GPRecordSet`.
    RecordSet,
    /// `GPRasterDataLayer`.
    RasterDataLayer,
    /// `GPRasterData` (legacy).
    RasterData,
    /// `GPDataFile`.
    DataFile,
    /// `Field` (also spelled `GPField`).
    Field,
    /// `GPMultiValue:<T>`.
    MultiValue(Box<DataType>),
    /// `GPValueTable` (11.0+).
    ValueTable,
    /// `GPComposite` (11.2+).
    Composite,
    /// `GPSpatialReference` (also `GPCoordinateSystem`).
    SpatialReference,
    /// `GPExtent` (also `GPEnvelope`).
    Extent,
    /// `GPStringHidden` (11.4+).
    StringHidden,
    /// `GPSQLExpression` (11.4+).
    SqlExpression,
    /// A type this crate does not know, kept as written.
    Unknown(String),
}

impl DataType {
    /// Parses a `dataType` string. Never fails: unknown types become `Unknown`.
    pub fn parse(s: &str) -> DataType {
        let t = s.trim();
        if let Some(rest) = strip_prefix_ci(t, "GPMultiValue:") {
            return DataType::MultiValue(Box::new(DataType::parse(rest)));
        }
        let known = [
            ("GPString", DataType::String),
            ("GPLong", DataType::Long),
            ("GPDouble", DataType::Double),
            ("GPBoolean", DataType::Boolean),
            ("GPDate", DataType::Date),
            ("GPLinearUnit", DataType::LinearUnit),
            ("GPArealUnit", DataType::ArealUnit),
            ("GPTimeUnit", DataType::TimeUnit),
            ("GPFeatureRecordSetLayer", DataType::FeatureRecordSetLayer),
            ("GPRecordSet", DataType::RecordSet),
            ("GPRasterDataLayer", DataType::RasterDataLayer),
            ("GPRasterData", DataType::RasterData),
            ("GPDataFile", DataType::DataFile),
            ("Field", DataType::Field),
            ("GPField", DataType::Field),
            ("GPValueTable", DataType::ValueTable),
            ("GPComposite", DataType::Composite),
            ("GPSpatialReference", DataType::SpatialReference),
            ("GPCoordinateSystem", DataType::SpatialReference),
            ("GPExtent", DataType::Extent),
            ("GPEnvelope", DataType::Extent),
            ("GPStringHidden", DataType::StringHidden),
            ("GPSQLExpression", DataType::SqlExpression),
        ];
        known
            .into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(t))
            .map_or_else(|| DataType::Unknown(t.to_string()), |(_, d)| d)
    }

    /// The canonical type string.
    pub fn name(&self) -> std::borrow::Cow<'static, str> {
        use std::borrow::Cow::{Borrowed, Owned};
        match self {
            DataType::String => Borrowed("GPString"),
            DataType::Long => Borrowed("GPLong"),
            DataType::Double => Borrowed("GPDouble"),
            DataType::Boolean => Borrowed("GPBoolean"),
            DataType::Date => Borrowed("GPDate"),
            DataType::LinearUnit => Borrowed("GPLinearUnit"),
            DataType::ArealUnit => Borrowed("GPArealUnit"),
            DataType::TimeUnit => Borrowed("GPTimeUnit"),
            DataType::FeatureRecordSetLayer => Borrowed("GPFeatureRecordSetLayer"),
            DataType::RecordSet => Borrowed("GPRecordSet"),
            DataType::RasterDataLayer => Borrowed("GPRasterDataLayer"),
            DataType::RasterData => Borrowed("GPRasterData"),
            DataType::DataFile => Borrowed("GPDataFile"),
            DataType::Field => Borrowed("Field"),
            DataType::MultiValue(t) => Owned(format!("GPMultiValue:{}", t.name())),
            DataType::ValueTable => Borrowed("GPValueTable"),
            DataType::Composite => Borrowed("GPComposite"),
            DataType::SpatialReference => Borrowed("GPSpatialReference"),
            DataType::Extent => Borrowed("GPExtent"),
            DataType::StringHidden => Borrowed("GPStringHidden"),
            DataType::SqlExpression => Borrowed("GPSQLExpression"),
            DataType::Unknown(s) => Owned(s.clone()),
        }
    }

    /// True for types whose values are feature or record sets.
    pub fn is_features(&self) -> bool {
        matches!(self, DataType::FeatureRecordSetLayer | DataType::RecordSet)
    }

    /// True for raster types.
    pub fn is_raster(&self) -> bool {
        matches!(self, DataType::RasterDataLayer | DataType::RasterData)
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

impl FromStr for DataType {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(DataType::parse(s))
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl Serialize for DataType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for DataType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(DataType::parse(&s))
    }
}
