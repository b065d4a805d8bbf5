//! The run environment sent with `execute` / `submitJob`: `context` (ArcGIS 10.6.1+:
//! `{"outSR", "processSR", "extent"}`) or, for older servers, `env:outSR` and
//! `env:processSR`. The client writes it with [`RunContext::to_form`]; the server reads
//! it with [`RunContext::from_form`]: one set of rules for both.

use serde::{Deserialize, Serialize};

use crate::geometry::sr::SpatialReference;
use crate::geometry::{Envelope, Geometry};

/// Output and processing settings of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunContext {
    /// Output spatial reference (`outSR`).
    #[serde(rename = "outSR", default, skip_serializing_if = "Option::is_none")]
    pub out_sr: Option<SpatialReference>,
    /// Processing spatial reference (`processSR`).
    #[serde(rename = "processSR", default, skip_serializing_if = "Option::is_none")]
    pub process_sr: Option<SpatialReference>,
    /// Processing extent (`extent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extent: Option<Envelope>,
}

/// A bad `context` / `env:` field: which one, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextError {
    /// `context`, `context.outSR`, `env:processSR`, ...
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

fn bad(field: &str, reason: impl Into<String>) -> ContextError {
    ContextError {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// A spatial reference as a form field or `context` member: a wkid (`3857`) or Esri
/// JSON (`{"wkid": 3857}`, `{"wkt": "…"}`).
pub fn parse_sr_text(text: &str) -> Result<SpatialReference, String> {
    let t = text.trim();
    match t.parse::<i32>() {
        Ok(w) => Ok(SpatialReference::from_wkid(w)),
        Err(_) => serde_json::from_str::<SpatialReference>(t)
            .map_err(|e| format!("expected a wkid or {{\"wkid\": …}}: {e}")),
    }
}

fn sr_member(field: &str, v: &serde_json::Value) -> Result<SpatialReference, ContextError> {
    match v {
        serde_json::Value::Number(n) => parse_sr_text(&n.to_string()),
        other => serde_json::from_value::<SpatialReference>(other.clone())
            .map_err(|e| format!("expected a wkid or {{\"wkid\": …}}: {e}")),
    }
    .map_err(|r| bad(field, r))
}

fn extent_member(field: &str, v: &serde_json::Value) -> Result<Envelope, ContextError> {
    let g = Geometry::from_json(&v.to_string()).map_err(|e| {
        bad(
            field,
            format!("expected {{xmin, ymin, xmax, ymax, spatialReference}}: {e}"),
        )
    })?;
    let Geometry::Envelope(e) = g else {
        return Err(bad(field, "expected an envelope {xmin, ymin, xmax, ymax}"));
    };
    match e.bounds() {
        Some([a, b, c, d]) if a <= c && b <= d => Ok(e),
        _ => Err(bad(field, "expected xmin <= xmax and ymin <= ymax")),
    }
}

impl RunContext {
    /// True when nothing is set.
    pub fn is_empty(&self) -> bool {
        self.out_sr.is_none() && self.process_sr.is_none() && self.extent.is_none()
    }

    /// The form fields: `context` as JSON when `modern` (10.6.1 and later), else
    /// `env:outSR` / `env:processSR` (wkid, or JSON without one); the extent has no
    /// `env:` form. Nothing when empty.
    ///
    /// ```
    /// use gp_model::{RunContext, SpatialReference};
    /// let c = RunContext { out_sr: Some(SpatialReference::from_wkid(3857)), ..Default::default() };
    /// assert_eq!(c.to_form(true), vec![("context".to_string(), r#"{"outSR":{"wkid":3857}}"#.to_string())]);
    /// assert_eq!(c.to_form(false), vec![("env:outSR".to_string(), "3857".to_string())]);
    /// ```
    pub fn to_form(&self, modern: bool) -> Vec<(String, String)> {
        if self.is_empty() {
            return Vec::new();
        }
        if modern {
            #[derive(Serialize)]
            #[serde(rename_all = "camelCase")]
            struct Wire<'a> {
                #[serde(rename = "outSR", skip_serializing_if = "Option::is_none")]
                out_sr: Option<&'a SpatialReference>,
                #[serde(rename = "processSR", skip_serializing_if = "Option::is_none")]
                process_sr: Option<&'a SpatialReference>,
                #[serde(skip_serializing_if = "Option::is_none")]
                extent: Option<Geometry>,
            }
            let w = Wire {
                out_sr: self.out_sr.as_ref(),
                process_sr: self.process_sr.as_ref(),
                extent: self.extent.clone().map(Geometry::Envelope),
            };
            return vec![(
                "context".into(),
                serde_json::to_string(&w).unwrap_or_default(),
            )];
        }
        let sr_text = |sr: &SpatialReference| match sr.wkid {
            Some(w) => w.to_string(),
            None => serde_json::to_string(sr).unwrap_or_default(),
        };
        let mut form = Vec::new();
        if let Some(sr) = &self.out_sr {
            form.push(("env:outSR".into(), sr_text(sr)));
        }
        if let Some(sr) = &self.process_sr {
            form.push(("env:processSR".into(), sr_text(sr)));
        }
        form
    }

    /// Reads `context` (which wins) and `env:outSR` / `env:processSR` through `get`,
    /// which returns a form field by name. Empty fields count as absent.
    ///
    /// ```
    /// use gp_model::RunContext;
    /// let form = [("context", r#"{"outSR": 3857, "extent": {"xmin": 0, "ymin": 0, "xmax": 1, "ymax": 1}}"#)];
    /// let get = |k: &str| form.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
    /// let c = RunContext::from_form(get).unwrap();
    /// assert_eq!(c.out_sr.and_then(|s| s.wkid), Some(3857));
    /// assert!(c.extent.is_some());
    /// let bad = [("env:outSR", "web mercator")];
    /// let e = RunContext::from_form(|k| bad.iter().find(|(n, _)| *n == k).map(|(_, v)| *v)).unwrap_err();
    /// assert_eq!(e.field, "env:outSR");
    /// ```
    pub fn from_form<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<Self, ContextError> {
        let mut c = RunContext::default();
        let field = |name: &str| get(name).filter(|t| !t.trim().is_empty());
        if let Some(text) = field("context") {
            let v: serde_json::Value =
                serde_json::from_str(text).map_err(|e| bad("context", format!("not JSON: {e}")))?;
            let Some(o) = v.as_object() else {
                return Err(bad("context", "expected a JSON object"));
            };
            let member = |k: &str| o.get(k).filter(|v| !v.is_null());
            if let Some(s) = member("outSR") {
                c.out_sr = Some(sr_member("context.outSR", s)?);
            }
            if let Some(s) = member("processSR") {
                c.process_sr = Some(sr_member("context.processSR", s)?);
            }
            if let Some(e) = member("extent") {
                c.extent = Some(extent_member("context.extent", e)?);
            }
        }
        if c.out_sr.is_none()
            && let Some(s) = field("env:outSR")
        {
            c.out_sr = Some(parse_sr_text(s).map_err(|r| bad("env:outSR", r))?);
        }
        if c.process_sr.is_none()
            && let Some(s) = field("env:processSR")
        {
            c.process_sr = Some(parse_sr_text(s).map_err(|r| bad("env:processSR", r))?);
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<RunContext, ContextError> {
        RunContext::from_form(|k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| *v))
    }

    #[track_caller]
    fn check(pairs: &[(&str, &str)], want: Result<(Option<i32>, Option<i32>, bool), &str>) {
        match (read(pairs), want) {
            (Ok(c), Ok((o, p, e))) => {
                assert_eq!(c.out_sr.and_then(|s| s.wkid), o);
                assert_eq!(c.process_sr.and_then(|s| s.wkid), p);
                assert_eq!(c.extent.is_some(), e);
            }
            (Err(g), Err(field)) => assert_eq!(g.field, field, "{g:?}"),
            (g, w) => panic!("got {g:?}, want {w:?}"),
        }
    }

    #[test]
    fn context_and_env_fields() {
        check(&[], Ok((None, None, false)));
        check(&[("context", "  ")], Ok((None, None, false)));
        check(
            &[(
                "context",
                r#"{"outSR": {"wkid": 3857}, "processSR": 32633}"#,
            )],
            Ok((Some(3857), Some(32633), false)),
        );
        // context wins over env:, env: fills what context left out.
        check(
            &[
                ("context", r#"{"outSR": 3857}"#),
                ("env:outSR", "4326"),
                ("env:processSR", "3857"),
            ],
            Ok((Some(3857), Some(3857), false)),
        );
        check(
            &[("env:outSR", r#"{"wkid": 102100}"#)],
            Ok((Some(102100), None, false)),
        );
        check(
            &[(
                "context",
                r#"{"extent": {"xmin": 0, "ymin": 0, "xmax": 1, "ymax": 1}}"#,
            )],
            Ok((None, None, true)),
        );
        check(&[("context", "[1]")], Err("context"));
        check(&[("context", "{")], Err("context"));
        check(&[("context", r#"{"outSR": "x"}"#)], Err("context.outSR"));
        check(
            &[(
                "context",
                r#"{"extent": {"xmin": 2, "ymin": 0, "xmax": 1, "ymax": 1}}"#,
            )],
            Err("context.extent"),
        );
        check(
            &[("context", r#"{"extent": {"x": 2, "y": 0}}"#)],
            Err("context.extent"),
        );
        check(&[("env:processSR", "abc")], Err("env:processSR"));
    }

    #[test]
    fn what_is_written_reads_back() {
        let c = RunContext {
            out_sr: Some(SpatialReference::from_wkid(3857)),
            process_sr: Some(SpatialReference::from_wkid(32633)),
            extent: None,
        };
        for modern in [true, false] {
            let form = c.to_form(modern);
            let back = RunContext::from_form(|k| {
                form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
            })
            .unwrap();
            assert_eq!(back, c);
        }
    }
}
