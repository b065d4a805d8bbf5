//! The rules an input value must follow, used by the client before it sends a run and
//! by the server when it receives one: the value's own checks, the choice list
//! (case-insensitive, with did-you-mean), range, feature class and field filters, and
//! which value a run gets when an input is left out (a default that is only a schema
//! does not count as a value).

use crate::featureset::FeatureSet;
use crate::task::{Filter, ParameterInfo};
use crate::value::GpValue;

/// The closest candidate to `name` by edit distance (case-insensitive), if close
/// enough to be a likely typo.
///
/// ```
/// let c = ["Input_Features", "Distance", "Dissolve"];
/// assert_eq!(gp_model::did_you_mean("Distanse", c).as_deref(), Some("Distance"));
/// assert_eq!(gp_model::did_you_mean("zzz", c), None);
/// ```
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let n = name.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (levenshtein(&n, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len().max(3) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string())
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The choice `s` stands for (exact, then case-insensitive), or why not, with
/// did-you-mean.
pub fn choice<'a>(choices: &'a [String], s: &str) -> Result<&'a String, String> {
    choices
        .iter()
        .find(|c| c.as_str() == s)
        .or_else(|| choices.iter().find(|c| c.eq_ignore_ascii_case(s)))
        .ok_or_else(|| {
            let hint = did_you_mean(s, choices.iter().map(String::as_str))
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            format!("`{s}` is not one of {}{hint}", choices.join(", "))
        })
}

fn schema_only(v: &GpValue) -> bool {
    matches!(v, GpValue::FeatureSet(fs) | GpValue::RecordSet(fs) if fs.features.is_empty())
}

/// Fills what a feature set left out (geometry type, spatial reference, fields) from
/// the schema the default carries.
fn fill_schema(fs: &mut FeatureSet, schema: &FeatureSet) {
    if fs.geometry_type.is_none() {
        fs.geometry_type = schema.geometry_type.clone();
    }
    if fs.spatial_reference.is_none() {
        fs.spatial_reference = schema.spatial_reference.clone();
    }
    if fs.fields.as_ref().is_none_or(|f| f.is_empty()) {
        fs.fields = schema.fields.clone();
    }
}

impl ParameterInfo {
    /// Checks a value given for this input: the value's own rules
    /// ([`GpValue::validate`]), the choice list (the value is replaced by the choice
    /// as published, so `all` becomes `ALL`), and the range, feature class and field
    /// filters. `Err` says what is wrong, without the parameter's name.
    ///
    /// ```
    /// use gp_model::{DataType, Direction, Filter, GpValue, ParameterInfo};
    /// let p = ParameterInfo::new("Dissolve", DataType::String, Direction::Input)
    ///     .with_choices(["NONE", "ALL"]);
    /// let mut v = GpValue::String("all".into());
    /// p.check(&mut v).unwrap();
    /// assert_eq!(v, GpValue::String("ALL".into()));
    /// let e = p.check(&mut GpValue::String("NOEN".into())).unwrap_err();
    /// assert!(e.contains("did you mean `NONE`"), "{e}");
    ///
    /// let n = ParameterInfo::new("Z", DataType::Double, Direction::Input)
    ///     .with_filter(Filter::Range { minimum: Some(0.0), maximum: Some(10.0) });
    /// assert!(n.check(&mut GpValue::Double(11.0)).unwrap_err().contains("0 to 10"));
    /// ```
    pub fn check(&self, v: &mut GpValue) -> Result<(), String> {
        v.validate().map_err(|e| e.to_string())?;
        if let (Some(choices), GpValue::String(s)) = (self.choices(), &*v) {
            let c = choice(choices, s)?;
            *v = GpValue::String(c.clone());
        }
        match (&self.filter, &*v) {
            (Some(Filter::Range { minimum, maximum }), GpValue::Long(_) | GpValue::Double(_)) => {
                let x = match v {
                    GpValue::Long(i) => *i as f64,
                    GpValue::Double(d) => *d,
                    _ => return Ok(()),
                };
                let below = minimum.is_some_and(|m| x < m);
                let above = maximum.is_some_and(|m| x > m);
                if below || above {
                    return Err(match (minimum, maximum) {
                        (Some(lo), Some(hi)) => format!("{x} is outside the range {lo} to {hi}"),
                        (Some(lo), None) => format!("{x} is below the minimum {lo}"),
                        (None, Some(hi)) => format!("{x} is above the maximum {hi}"),
                        (None, None) => String::new(),
                    });
                }
            }
            (Some(Filter::FeatureClass { list }), GpValue::FeatureSet(fs)) if !list.is_empty() => {
                let gt = fs.geometry_type.clone().or_else(|| {
                    fs.features
                        .iter()
                        .find_map(|f| f.geometry.as_ref().map(|g| g.geometry_type()))
                });
                if let Some(gt) = gt
                    && !list.contains(&gt)
                {
                    let names: Vec<String> = list.iter().map(|g| g.to_string()).collect();
                    return Err(format!(
                        "the features are {gt}; this input takes {}",
                        names.join(", ")
                    ));
                }
            }
            (Some(Filter::Field { list }), GpValue::Field(f))
                if !list.is_empty() && !list.contains(&f.field_type) =>
            {
                return Err(format!("field type {} is not accepted", f.field_type));
            }
            _ => {}
        }
        Ok(())
    }

    /// True when a run that leaves this input out still has a value for it: a
    /// default that is more than a schema (an empty feature or record set).
    pub fn has_usable_default(&self) -> bool {
        self.default()
            .is_some_and(|d| !schema_only(d) && !matches!(d, GpValue::Null))
    }

    /// The value a run uses for this input: the given value (a feature set's missing
    /// schema filled from the default's), else the default; checked with
    /// [`ParameterInfo::check`]. `Err` when the input is required and has no value
    /// (a schema-only default does not count).
    ///
    /// ```
    /// use gp_model::{DataType, Direction, FeatureSet, GpValue, ParameterInfo};
    /// let schema = GpValue::FeatureSet(FeatureSet::default());
    /// let p = ParameterInfo::new("Input_Features", DataType::FeatureRecordSetLayer, Direction::Input)
    ///     .required()
    ///     .with_default(schema);
    /// assert_eq!(p.input_value(None).unwrap_err(), "a value is required");
    /// ```
    pub fn input_value(&self, given: Option<GpValue>) -> Result<GpValue, String> {
        let mut v = match given {
            Some(GpValue::Null) | None => {
                if self.is_required() && !self.has_usable_default() {
                    return Err("a value is required".into());
                }
                self.default().cloned().unwrap_or(GpValue::Null)
            }
            Some(mut v) => {
                if let (
                    GpValue::FeatureSet(fs) | GpValue::RecordSet(fs),
                    Some(GpValue::FeatureSet(schema) | GpValue::RecordSet(schema)),
                ) = (&mut v, self.default())
                {
                    fill_schema(fs, schema);
                }
                v
            }
        };
        self.check(&mut v)?;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DataType;
    use crate::task::Direction;

    #[test]
    fn choices_with_did_you_mean() {
        let c = vec!["NONE".to_string(), "ALL".to_string(), "LIST".to_string()];
        assert_eq!(choice(&c, "all").unwrap(), "ALL");
        let e = choice(&c, "NOEN").unwrap_err();
        assert!(e.contains("did you mean `NONE`"), "{e}");
        let e = choice(&c, "everything").unwrap_err();
        assert!(!e.contains("did you mean"), "{e}");
    }

    #[test]
    fn did_you_mean_finds_typos_only() {
        let c = ["Input_Features", "Distance", "Dissolve"];
        assert_eq!(did_you_mean("Distanse", c).as_deref(), Some("Distance"));
        assert_eq!(
            did_you_mean("input_feature", c).as_deref(),
            Some("Input_Features")
        );
        assert_eq!(did_you_mean("zzz", c), None);
    }

    #[track_caller]
    fn check(p: &ParameterInfo, given: Option<GpValue>, want: Result<GpValue, &str>) {
        let got = p.input_value(given);
        match (got, want) {
            (Ok(g), Ok(w)) => assert_eq!(g, w),
            (Err(g), Err(w)) => assert!(g.contains(w), "{g} does not say {w}"),
            (g, w) => panic!("got {g:?}, want {w:?}"),
        }
    }

    #[test]
    fn input_values_follow_the_rules() {
        let s = |t: &str| GpValue::String(t.into());
        let dissolve = ParameterInfo::new("Dissolve", DataType::String, Direction::Input)
            .with_default(s("NONE"))
            .with_choices(["NONE", "ALL"]);
        check(&dissolve, None, Ok(s("NONE")));
        check(&dissolve, Some(s("all")), Ok(s("ALL")));
        check(&dissolve, Some(s("some")), Err("is not one of NONE, ALL"));

        let seconds = ParameterInfo::new("Seconds", DataType::Double, Direction::Input)
            .required()
            .with_filter(Filter::Range {
                minimum: Some(0.0),
                maximum: None,
            });
        check(&seconds, None, Err("a value is required"));
        check(&seconds, Some(GpValue::Null), Err("a value is required"));
        check(
            &seconds,
            Some(GpValue::Double(-1.0)),
            Err("below the minimum 0"),
        );
        check(&seconds, Some(GpValue::Double(f64::NAN)), Err("not finite"));
        check(&seconds, Some(GpValue::Long(3)), Ok(GpValue::Long(3)));

        let schema = FeatureSet {
            geometry_type: Some(crate::GeometryType::Point),
            spatial_reference: Some(crate::SpatialReference::from_wkid(4326)),
            ..Default::default()
        };
        let points = ParameterInfo::new(
            "Input_Features",
            DataType::FeatureRecordSetLayer,
            Direction::Input,
        )
        .required()
        .with_default(GpValue::FeatureSet(schema.clone()))
        .with_filter(Filter::FeatureClass {
            list: vec![crate::GeometryType::Point],
        });
        check(&points, None, Err("a value is required"));
        // A given feature set gets the schema's geometry type and spatial reference.
        check(
            &points,
            Some(GpValue::FeatureSet(FeatureSet::default())),
            Ok(GpValue::FeatureSet(schema.clone())),
        );
        let lines = FeatureSet {
            geometry_type: Some(crate::GeometryType::Polyline),
            ..Default::default()
        };
        check(
            &points,
            Some(GpValue::FeatureSet(lines)),
            Err("the features are esriGeometryPolyline"),
        );
        let optional = ParameterInfo::new(
            "Barriers",
            DataType::FeatureRecordSetLayer,
            Direction::Input,
        )
        .with_default(GpValue::FeatureSet(schema.clone()));
        check(&optional, None, Ok(GpValue::FeatureSet(schema)));
    }
}
