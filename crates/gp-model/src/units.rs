//! Linear, areal and time units (`GPLinearUnit`, `GPArealUnit`, `GPTimeUnit`), parsed
//! from the strings arcpy users write ("5 feet", "5.5 esriFeet", "2 SquareKilometers").

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

crate::vocab::vocab! {
    /// Linear units of `GPLinearUnit`. Following Esri's enumeration, the plain imperial
    /// units are US survey units and the `Int*` ones international units.
    pub enum LinearUnitKind {
        /// `esriUnknownUnits`.
        UnknownUnits = "esriUnknownUnits",
        /// `esriInches`.
        Inches = "esriInches",
        /// `esriPoints` (1/72 inch).
        Points = "esriPoints",
        /// `esriFeet` (US survey foot).
        Feet = "esriFeet",
        /// `esriYards`.
        Yards = "esriYards",
        /// `esriMiles`.
        Miles = "esriMiles",
        /// `esriNauticalMiles`.
        NauticalMiles = "esriNauticalMiles",
        /// `esriMillimeters`.
        Millimeters = "esriMillimeters",
        /// `esriCentimeters`.
        Centimeters = "esriCentimeters",
        /// `esriMeters`.
        Meters = "esriMeters",
        /// `esriKilometers`.
        Kilometers = "esriKilometers",
        /// `esriDecimalDegrees` (angular).
        DecimalDegrees = "esriDecimalDegrees",
        /// `esriDecimeters`.
        Decimeters = "esriDecimeters",
        /// `esriIntInches` (international inch).
        IntInches = "esriIntInches",
        /// `esriIntFeet` (international foot, 0.3048 m).
        IntFeet = "esriIntFeet",
        /// `esriIntYards`.
        IntYards = "esriIntYards",
        /// `esriIntMiles`.
        IntMiles = "esriIntMiles",
        /// `esriIntNauticalMiles`.
        IntNauticalMiles = "esriIntNauticalMiles",
    }
}

const US_FOOT: f64 = 1200.0 / 3937.0;

impl LinearUnitKind {
    /// Metres per unit; `None` for angular and unknown units.
    pub fn meters_per_unit(&self) -> Option<f64> {
        use LinearUnitKind as K;
        Some(match self {
            K::Inches => US_FOOT / 12.0,
            K::Points => 0.0254 / 72.0,
            K::Feet => US_FOOT,
            K::Yards => US_FOOT * 3.0,
            K::Miles => US_FOOT * 5280.0,
            K::NauticalMiles | K::IntNauticalMiles => 1852.0,
            K::Millimeters => 0.001,
            K::Centimeters => 0.01,
            K::Decimeters => 0.1,
            K::Meters => 1.0,
            K::Kilometers => 1000.0,
            K::IntInches => 0.0254,
            K::IntFeet => 0.3048,
            K::IntYards => 0.9144,
            K::IntMiles => 1609.344,
            K::DecimalDegrees | K::UnknownUnits | K::Unknown(_) => return None,
        })
    }

    fn from_loose(s: &str) -> Option<Self> {
        use LinearUnitKind as K;
        let n = normalise(s);
        Some(match n.as_str() {
            "unknown" | "unknownunits" => K::UnknownUnits,
            "in" | "inch" | "inches" | "usinches" | "inchesus" => K::Inches,
            "pt" | "point" | "points" => K::Points,
            "ft" | "foot" | "feet" | "usfeet" | "ussurveyfeet" | "ussurveyfoot" | "feetus" => {
                K::Feet
            }
            "yd" | "yard" | "yards" | "usyards" | "yardsus" => K::Yards,
            "mi" | "mile" | "miles" | "statutemiles" | "usmiles" | "milesus" => K::Miles,
            "nmi" | "nauticalmile" | "nauticalmiles" | "usnauticalmiles" => K::NauticalMiles,
            "mm" | "millimeter" | "millimeters" | "millimetre" | "millimetres" => K::Millimeters,
            "cm" | "centimeter" | "centimeters" | "centimetre" | "centimetres" => K::Centimeters,
            "dm" | "decimeter" | "decimeters" | "decimetre" | "decimetres" => K::Decimeters,
            "m" | "meter" | "meters" | "metre" | "metres" => K::Meters,
            "km" | "kilometer" | "kilometers" | "kilometre" | "kilometres" => K::Kilometers,
            "dd" | "deg" | "degree" | "degrees" | "decimaldegree" | "decimaldegrees" => {
                K::DecimalDegrees
            }
            "intinches" | "inchesint" | "internationalinches" | "internationalinch" => K::IntInches,
            "intfeet" | "feetint" | "internationalfeet" | "internationalfoot" => K::IntFeet,
            "intyards" | "yardsint" | "internationalyards" => K::IntYards,
            "intmiles" | "milesint" | "internationalmiles" => K::IntMiles,
            "intnauticalmiles" | "nauticalmilesint" | "internationalnauticalmiles" => {
                K::IntNauticalMiles
            }
            _ => return None,
        })
    }

    fn arcpy_name(&self) -> &str {
        self.as_str().strip_prefix("esri").unwrap_or(self.as_str())
    }
}

crate::vocab::vocab! {
    /// Areal units of `GPArealUnit`. Here the plain units are international and the
    /// `*Us` ones US survey units, as in Esri's enumeration.
    pub enum ArealUnitKind {
        /// `esriUnknownAreaUnits`.
        UnknownAreaUnits = "esriUnknownAreaUnits",
        /// `esriSquareInches`.
        SquareInches = "esriSquareInches",
        /// `esriSquareFeet`.
        SquareFeet = "esriSquareFeet",
        /// `esriSquareYards`.
        SquareYards = "esriSquareYards",
        /// `esriAcres`.
        Acres = "esriAcres",
        /// `esriSquareMiles`.
        SquareMiles = "esriSquareMiles",
        /// `esriSquareMillimeters`.
        SquareMillimeters = "esriSquareMillimeters",
        /// `esriSquareCentimeters`.
        SquareCentimeters = "esriSquareCentimeters",
        /// `esriSquareDecimeters`.
        SquareDecimeters = "esriSquareDecimeters",
        /// `esriSquareMeters`.
        SquareMeters = "esriSquareMeters",
        /// `esriAres`.
        Ares = "esriAres",
        /// `esriHectares`.
        Hectares = "esriHectares",
        /// `esriSquareKilometers`.
        SquareKilometers = "esriSquareKilometers",
        /// `esriSquareInchesUS`.
        SquareInchesUs = "esriSquareInchesUS",
        /// `esriSquareFeetUS`.
        SquareFeetUs = "esriSquareFeetUS",
        /// `esriSquareYardsUS`.
        SquareYardsUs = "esriSquareYardsUS",
        /// `esriAcresUS`.
        AcresUs = "esriAcresUS",
        /// `esriSquareMilesUS`.
        SquareMilesUs = "esriSquareMilesUS",
    }
}

impl ArealUnitKind {
    /// Square metres per unit; `None` for unknown units.
    pub fn square_meters_per_unit(&self) -> Option<f64> {
        use ArealUnitKind as K;
        let sq = |m: f64| m * m;
        Some(match self {
            K::SquareInches => sq(0.0254),
            K::SquareFeet => sq(0.3048),
            K::SquareYards => sq(0.9144),
            K::Acres => 4_046.856_422_4,
            K::SquareMiles => sq(1609.344),
            K::SquareMillimeters => 1e-6,
            K::SquareCentimeters => 1e-4,
            K::SquareDecimeters => 1e-2,
            K::SquareMeters => 1.0,
            K::Ares => 100.0,
            K::Hectares => 10_000.0,
            K::SquareKilometers => 1e6,
            K::SquareInchesUs => sq(US_FOOT / 12.0),
            K::SquareFeetUs => sq(US_FOOT),
            K::SquareYardsUs => sq(US_FOOT * 3.0),
            K::AcresUs => sq(US_FOOT) * 43_560.0,
            K::SquareMilesUs => sq(US_FOOT * 5280.0),
            K::UnknownAreaUnits | K::Unknown(_) => return None,
        })
    }

    fn from_loose(s: &str) -> Option<Self> {
        use ArealUnitKind as K;
        let n = normalise(s);
        let n = n.replace("sq", "square").replace("squareuare", "square");
        Some(match n.as_str() {
            "unknown" | "unknownareaunits" => K::UnknownAreaUnits,
            "squareinches" | "squareinch" | "squarein" | "in2" => K::SquareInches,
            "squarefeet" | "squarefoot" | "squareft" | "ft2" => K::SquareFeet,
            "squareyards" | "squareyard" | "squareyd" | "yd2" => K::SquareYards,
            "acres" | "acre" | "ac" => K::Acres,
            "squaremiles" | "squaremile" | "squaremi" | "mi2" => K::SquareMiles,
            "squaremillimeters" | "squaremillimetres" | "squaremm" | "mm2" => K::SquareMillimeters,
            "squarecentimeters" | "squarecentimetres" | "squarecm" | "cm2" => K::SquareCentimeters,
            "squaredecimeters" | "squaredecimetres" | "squaredm" | "dm2" => K::SquareDecimeters,
            "squaremeters" | "squaremetres" | "squaremeter" | "squaremetre" | "squarem" | "m2" => {
                K::SquareMeters
            }
            "ares" | "are" => K::Ares,
            "hectares" | "hectare" | "ha" => K::Hectares,
            "squarekilometers" | "squarekilometres" | "squarekilometer" | "squarekilometre"
            | "squarekm" | "km2" => K::SquareKilometers,
            "squareinchesus" | "ussquareinches" => K::SquareInchesUs,
            "squarefeetus" | "ussquarefeet" => K::SquareFeetUs,
            "squareyardsus" | "ussquareyards" => K::SquareYardsUs,
            "acresus" | "usacres" => K::AcresUs,
            "squaremilesus" | "ussquaremiles" => K::SquareMilesUs,
            _ => return None,
        })
    }

    fn arcpy_name(&self) -> &str {
        self.as_str().strip_prefix("esri").unwrap_or(self.as_str())
    }
}

crate::vocab::vocab! {
    /// Time units of `GPTimeUnit`.
    pub enum TimeUnitKind {
        /// `esriTimeUnitsUnknown`.
        UnknownTimeUnits = "esriTimeUnitsUnknown",
        /// Milliseconds.
        Milliseconds = "esriTimeUnitsMilliseconds",
        /// Seconds.
        Seconds = "esriTimeUnitsSeconds",
        /// Minutes.
        Minutes = "esriTimeUnitsMinutes",
        /// Hours.
        Hours = "esriTimeUnitsHours",
        /// Days.
        Days = "esriTimeUnitsDays",
        /// Weeks.
        Weeks = "esriTimeUnitsWeeks",
        /// Months.
        Months = "esriTimeUnitsMonths",
        /// Years.
        Years = "esriTimeUnitsYears",
        /// Decades.
        Decades = "esriTimeUnitsDecades",
        /// Centuries.
        Centuries = "esriTimeUnitsCenturies",
    }
}

impl TimeUnitKind {
    fn from_loose(s: &str) -> Option<Self> {
        use TimeUnitKind as K;
        let n = normalise(s);
        let n = n.strip_prefix("timeunits").unwrap_or(&n);
        Some(match n {
            "unknown" => K::UnknownTimeUnits,
            "ms" | "millisecond" | "milliseconds" => K::Milliseconds,
            "s" | "sec" | "second" | "seconds" => K::Seconds,
            "min" | "minute" | "minutes" => K::Minutes,
            "h" | "hr" | "hour" | "hours" => K::Hours,
            "d" | "day" | "days" => K::Days,
            "wk" | "week" | "weeks" => K::Weeks,
            "month" | "months" => K::Months,
            "y" | "yr" | "year" | "years" => K::Years,
            "decade" | "decades" => K::Decades,
            "century" | "centuries" => K::Centuries,
            _ => return None,
        })
    }

    fn arcpy_name(&self) -> &str {
        self.as_str()
            .strip_prefix("esriTimeUnits")
            .unwrap_or(self.as_str())
    }
}

fn normalise(s: &str) -> String {
    let lower: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-' && *c != '.')
        .flat_map(char::to_lowercase)
        .collect();
    match lower.strip_prefix("esri") {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => lower,
    }
}

/// Splits "5.5 esriFeet" / "5feet" into the number and the unit text.
fn split_quantity<'a>(
    kind: &'static str,
    s: &'a str,
    accepted: &dyn Fn() -> String,
) -> Result<(f64, &'a str)> {
    let t = s.trim();
    let end = t
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_digit()
                || c == '.'
                || ((c == '-' || c == '+') && (i == 0 || t[..i].ends_with(['e', 'E'])))
                || ((c == 'e' || c == 'E')
                    && i > 0
                    && t[i + 1..]
                        .starts_with(|d: char| d.is_ascii_digit() || d == '-' || d == '+')))
        })
        .map_or(t.len(), |(i, _)| i);
    let (num, unit) = t.split_at(end);
    let err = |reason: String| Error::Unit {
        kind,
        input: s.to_string(),
        reason,
        accepted: accepted(),
    };
    if num.is_empty() {
        return Err(err("it does not start with a number".into()));
    }
    let v: f64 = num
        .parse()
        .map_err(|_| err(format!("`{num}` is not a number")))?;
    if !v.is_finite() {
        return Err(err("the number is not finite".into()));
    }
    let unit = unit.trim();
    if unit.is_empty() {
        return Err(err("the unit is missing".into()));
    }
    Ok((v, unit))
}

macro_rules! quantity {
    ($name:ident, $kind:ident, $field:ident, $label:literal, $json:literal, $default:expr) => {
        impl $name {
            fn accepted() -> String {
                $kind::KNOWN
                    .iter()
                    .map(|k| k.arcpy_name().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        }

        impl FromStr for $name {
            type Err = Error;
            /// Parses arcpy-style text: a number, then a unit name (any case, with or
            /// without the `esri` prefix, spaces allowed, common abbreviations).
            fn from_str(s: &str) -> Result<Self> {
                let (v, unit) = split_quantity($label, s, &Self::accepted)?;
                let units = $kind::from_loose(unit).ok_or_else(|| Error::Unit {
                    kind: $label,
                    input: s.to_string(),
                    reason: format!("unknown unit `{unit}`"),
                    accepted: Self::accepted(),
                })?;
                Ok($name { $field: v, units })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{} {}", self.$field, self.units.arcpy_name())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry($json, &self.$field)?;
                m.serialize_entry("units", &self.units)?;
                m.end()
            }
        }

        impl<'de> Deserialize<'de> for $name {
            /// Accepts the JSON object form, or the arcpy string form.
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                use serde::de::Error as _;
                match serde_json::Value::deserialize(d)? {
                    serde_json::Value::String(t) => t.parse().map_err(D::Error::custom),
                    serde_json::Value::Object(o) => {
                        let v = match o.get($json) {
                            Some(n) => n.as_f64().filter(|f| f.is_finite()).ok_or_else(|| {
                                D::Error::custom(format!(
                                    "`{}` must be a finite number, got {n}",
                                    $json
                                ))
                            })?,
                            None => {
                                return Err(D::Error::custom(format!(
                                    "{} object is missing `{}`",
                                    $label, $json
                                )));
                            }
                        };
                        let units = match o.get("units") {
                            None | Some(serde_json::Value::Null) => $default,
                            Some(serde_json::Value::String(u)) => $kind::parse_lenient(u),
                            Some(other) => {
                                return Err(D::Error::custom(format!(
                                    "`units` must be a string, got {other}"
                                )));
                            }
                        };
                        Ok($name { $field: v, units })
                    }
                    other => Err(D::Error::custom(format!(
                        "expected a {} object or text like \"5 feet\", got {other}",
                        $label
                    ))),
                }
            }
        }
    };
}

/// A distance with a unit: `{"distance": 5, "units": "esriFeet"}`.
///
/// ```
/// use gp_model::{LinearUnit, LinearUnitKind};
/// let d: LinearUnit = "5 feet".parse().unwrap();
/// assert_eq!(d.units, LinearUnitKind::Feet);
/// assert_eq!("5.5 esriFeet".parse::<LinearUnit>().unwrap().distance, 5.5);
/// assert!("5 furlongs".parse::<LinearUnit>().unwrap_err().to_string().contains("Kilometers"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LinearUnit {
    /// The distance.
    pub distance: f64,
    /// The unit.
    pub units: LinearUnitKind,
}

impl LinearUnit {
    /// A distance in a unit.
    pub fn new(distance: f64, units: LinearUnitKind) -> Self {
        LinearUnit { distance, units }
    }

    /// The distance in metres, when the unit is linear.
    pub fn to_meters(&self) -> Option<f64> {
        self.units.meters_per_unit().map(|f| f * self.distance)
    }
}
quantity!(
    LinearUnit,
    LinearUnitKind,
    distance,
    "linear unit",
    "distance",
    LinearUnitKind::Meters
);

/// An area with a unit: `{"area": 2, "units": "esriSquareKilometers"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ArealUnit {
    /// The area.
    pub area: f64,
    /// The unit.
    pub units: ArealUnitKind,
}

impl ArealUnit {
    /// The area in square metres, when the unit is known.
    pub fn to_square_meters(&self) -> Option<f64> {
        self.units.square_meters_per_unit().map(|f| f * self.area)
    }
}
quantity!(
    ArealUnit,
    ArealUnitKind,
    area,
    "areal unit",
    "area",
    ArealUnitKind::SquareMeters
);

/// A duration with a unit: `{"time": 3, "units": "esriTimeUnitsYears"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeUnit {
    /// The amount of time.
    pub time: f64,
    /// The unit.
    pub units: TimeUnitKind,
}
quantity!(
    TimeUnit,
    TimeUnitKind,
    time,
    "time unit",
    "time",
    TimeUnitKind::UnknownTimeUnits
);
