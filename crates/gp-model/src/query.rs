//! Feature layer queries (`…/FeatureServer/<n>/query`, `…/MapServer/<n>/query`): the
//! request's parameters as one typed value that the client writes and the server
//! reads, the answers that are not feature sets, and the layer metadata a paging
//! reader needs.

use serde::{Deserialize, Serialize};

use crate::geometry::Envelope;
use crate::geometry::sr::SpatialReference;
use crate::where_clause::Where;

/// The most object ids accepted in one `objectIds` parameter.
pub const MAX_OBJECT_IDS: usize = 100_000;

/// A bad query parameter: which and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{param}: {reason}")]
pub struct QueryError {
    /// The parameter (`where`, `resultOffset`, ...).
    pub param: String,
    /// What is wrong.
    pub reason: String,
}

fn bad(param: &str, reason: impl Into<String>) -> QueryError {
    QueryError {
        param: param.into(),
        reason: reason.into(),
    }
}

/// One `orderByFields` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBy {
    /// The field.
    pub field: String,
    /// `DESC` (else `ASC`).
    pub descending: bool,
}

/// The answer format of a query (`f`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueryFormat {
    /// Esri JSON (`json`, `pjson`).
    #[default]
    Json,
    /// GeoJSON (`geojson`), coordinates in WGS 84 unless `outSR` says otherwise.
    GeoJson,
}

/// The parameters of a layer query.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LayerQuery {
    /// `where` (`None`: every feature).
    pub where_clause: Option<String>,
    /// `objectIds`.
    pub object_ids: Option<Vec<i64>>,
    /// `outFields` (`None` or `*`: every field).
    pub out_fields: Option<Vec<String>>,
    /// `returnGeometry` (default true).
    pub return_geometry: Option<bool>,
    /// `geometry` as an envelope (`geometryType=esriGeometryEnvelope`), in `inSR`.
    pub geometry: Option<Envelope>,
    /// `inSR`: the spatial reference of `geometry`.
    pub in_sr: Option<SpatialReference>,
    /// `outSR`.
    pub out_sr: Option<SpatialReference>,
    /// `resultOffset`.
    pub result_offset: Option<u64>,
    /// `resultRecordCount`.
    pub result_record_count: Option<u64>,
    /// `orderByFields`.
    pub order_by: Vec<OrderBy>,
    /// `returnCountOnly`.
    pub return_count_only: bool,
    /// `returnIdsOnly`.
    pub return_ids_only: bool,
    /// `f`.
    pub format: QueryFormat,
}

fn parse_bool(param: &str, v: &str) -> Result<bool, QueryError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" | "" => Ok(false),
        other => Err(bad(param, format!("expected true or false, got `{other}`"))),
    }
}

fn parse_u64(param: &str, v: &str) -> Result<u64, QueryError> {
    v.trim().parse::<u64>().map_err(|_| {
        bad(
            param,
            format!("expected a whole number ≥ 0, got `{}`", v.trim()),
        )
    })
}

fn parse_envelope(v: &str) -> Result<Envelope, QueryError> {
    let t = v.trim();
    if t.starts_with('{') {
        let e: Envelope = serde_json::from_str(t)
            .map_err(|e| bad("geometry", format!("expected an envelope: {e}")))?;
        if e.bounds().is_none() {
            return Err(bad(
                "geometry",
                "the envelope needs xmin, ymin, xmax and ymax",
            ));
        }
        return Ok(e);
    }
    let n: Vec<f64> = t
        .split(',')
        .map(|s| s.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            bad(
                "geometry",
                format!("expected xmin,ymin,xmax,ymax, got `{t}`"),
            )
        })?;
    match n[..] {
        [a, b, c, d] if [a, b, c, d].iter().all(|x| x.is_finite()) => {
            Ok(Envelope::new(a.min(c), b.min(d), a.max(c), b.max(d)))
        }
        _ => Err(bad(
            "geometry",
            format!("expected four numbers xmin,ymin,xmax,ymax, got `{t}`"),
        )),
    }
}

fn parse_sr(param: &str, v: &str) -> Result<Option<SpatialReference>, QueryError> {
    if v.trim().is_empty() {
        return Ok(None);
    }
    crate::parse_sr_text(v).map(Some).map_err(|e| bad(param, e))
}

impl LayerQuery {
    /// Reads a query from request parameters (`get` looks one up by name). Every
    /// value is checked; the `where` clause is parsed (see [`Where`]).
    pub fn from_form<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<LayerQuery, QueryError> {
        let mut q = LayerQuery::default();
        let text = |k: &str| get(k).map(str::trim).filter(|s| !s.is_empty());
        if let Some(w) = text("where") {
            Where::parse(w).map_err(|e| bad("where", e.to_string()))?;
            q.where_clause = Some(w.to_string());
        }
        if let Some(ids) = text("objectIds") {
            let list: Vec<i64> = ids
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| {
                    s.trim().parse::<i64>().map_err(|_| {
                        bad("objectIds", format!("`{}` is not an object id", s.trim()))
                    })
                })
                .collect::<Result<_, _>>()?;
            if list.len() > MAX_OBJECT_IDS {
                return Err(bad(
                    "objectIds",
                    format!("more than {MAX_OBJECT_IDS} ids; page with resultOffset instead"),
                ));
            }
            q.object_ids = Some(list);
        }
        if let Some(f) = text("outFields") {
            let list: Vec<String> = f
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            if !list.iter().any(|s| s == "*") {
                q.out_fields = Some(list);
            }
        }
        if let Some(v) = text("returnGeometry") {
            q.return_geometry = Some(parse_bool("returnGeometry", v)?);
        }
        if let Some(g) = text("geometry") {
            let gt = text("geometryType").unwrap_or("esriGeometryEnvelope");
            if !gt.eq_ignore_ascii_case("esriGeometryEnvelope") {
                return Err(bad(
                    "geometryType",
                    format!("only esriGeometryEnvelope is supported, got `{gt}`"),
                ));
            }
            q.geometry = Some(parse_envelope(g)?);
        }
        if let Some(rel) = text("spatialRel")
            && !rel.eq_ignore_ascii_case("esriSpatialRelIntersects")
            && !rel.eq_ignore_ascii_case("esriSpatialRelEnvelopeIntersects")
        {
            return Err(bad(
                "spatialRel",
                format!(
                    "only esriSpatialRelIntersects and esriSpatialRelEnvelopeIntersects are supported, got `{rel}`"
                ),
            ));
        }
        q.in_sr = parse_sr("inSR", get("inSR").unwrap_or(""))?;
        q.out_sr = parse_sr("outSR", get("outSR").unwrap_or(""))?;
        if let Some(v) = text("resultOffset") {
            q.result_offset = Some(parse_u64("resultOffset", v)?);
        }
        if let Some(v) = text("resultRecordCount") {
            q.result_record_count = Some(parse_u64("resultRecordCount", v)?);
        }
        if let Some(v) = text("orderByFields") {
            for part in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let mut words = part.split_whitespace();
                let field = words.next().unwrap_or_default().to_string();
                let descending = match words.next().map(str::to_ascii_uppercase).as_deref() {
                    None | Some("ASC") => false,
                    Some("DESC") => true,
                    Some(other) => {
                        return Err(bad(
                            "orderByFields",
                            format!("expected ASC or DESC after {field}, got `{other}`"),
                        ));
                    }
                };
                if words.next().is_some() {
                    return Err(bad(
                        "orderByFields",
                        format!("`{part}` is not FIELD [ASC|DESC]"),
                    ));
                }
                q.order_by.push(OrderBy { field, descending });
            }
        }
        if let Some(v) = text("returnCountOnly") {
            q.return_count_only = parse_bool("returnCountOnly", v)?;
        }
        if let Some(v) = text("returnIdsOnly") {
            q.return_ids_only = parse_bool("returnIdsOnly", v)?;
        }
        q.format = match text("f").map(str::to_ascii_lowercase).as_deref() {
            Some("geojson") => QueryFormat::GeoJson,
            _ => QueryFormat::Json,
        };
        Ok(q)
    }

    /// The request parameters of this query, `f` included.
    pub fn to_form(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut push = |k: &str, v: String| out.push((k.to_string(), v));
        push(
            "where",
            self.where_clause.clone().unwrap_or_else(|| "1=1".into()),
        );
        if let Some(ids) = &self.object_ids {
            push(
                "objectIds",
                ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","),
            );
        }
        push(
            "outFields",
            self.out_fields
                .as_ref()
                .map_or_else(|| "*".to_string(), |f| f.join(",")),
        );
        if let Some(g) = self.return_geometry {
            push("returnGeometry", g.to_string());
        }
        if let Some(e) = &self.geometry {
            push("geometry", serde_json::to_string(e).unwrap_or_default());
            push("geometryType", "esriGeometryEnvelope".into());
            push("spatialRel", "esriSpatialRelIntersects".into());
        }
        if let Some(sr) = &self.in_sr {
            push("inSR", sr_text(sr));
        }
        if let Some(sr) = &self.out_sr {
            push("outSR", sr_text(sr));
        }
        if let Some(o) = self.result_offset {
            push("resultOffset", o.to_string());
        }
        if let Some(n) = self.result_record_count {
            push("resultRecordCount", n.to_string());
        }
        if !self.order_by.is_empty() {
            let text = self
                .order_by
                .iter()
                .map(|o| format!("{} {}", o.field, if o.descending { "DESC" } else { "ASC" }))
                .collect::<Vec<_>>()
                .join(",");
            push("orderByFields", text);
        }
        if self.return_count_only {
            push("returnCountOnly", "true".into());
        }
        if self.return_ids_only {
            push("returnIdsOnly", "true".into());
        }
        push(
            "f",
            match self.format {
                QueryFormat::Json => "json".into(),
                QueryFormat::GeoJson => "geojson".into(),
            },
        );
        out
    }

    /// This query asking only for the count (`returnCountOnly`) of what it selects.
    pub fn counting(&self) -> LayerQuery {
        LayerQuery {
            return_count_only: true,
            return_ids_only: false,
            result_offset: None,
            result_record_count: None,
            order_by: Vec::new(),
            ..self.clone()
        }
    }

    /// This query asking only for the object ids (`returnIdsOnly`) it selects.
    pub fn ids_only(&self) -> LayerQuery {
        LayerQuery {
            return_ids_only: true,
            return_count_only: false,
            result_offset: None,
            result_record_count: None,
            ..self.clone()
        }
    }

    /// How many features reading this query whole gives, of the `count` it selects:
    /// its own `resultOffset` and `resultRecordCount` make a window.
    pub fn expected(&self, count: u64) -> u64 {
        let after = count.saturating_sub(self.result_offset.unwrap_or(0));
        self.result_record_count.map_or(after, |n| n.min(after))
    }

    /// The page of this query that starts `done` features in, on a layer that pages
    /// (`supportsPagination`): at most the layer's page size, ordered by what the
    /// query orders by and then the object id, so pages neither overlap nor skip.
    pub fn page(&self, info: &crate::LayerInfo, done: u64) -> LayerQuery {
        let mut order = self.order_by.clone();
        if let Some(oid) = info.oid_field()
            && !order.iter().any(|o| o.field.eq_ignore_ascii_case(oid))
        {
            order.push(OrderBy {
                field: oid.to_string(),
                descending: false,
            });
        }
        let left = self.expected(u64::MAX).saturating_sub(done);
        LayerQuery {
            result_offset: Some(self.result_offset.unwrap_or(0) + done),
            result_record_count: Some(info.page_size().min(left.max(1))),
            order_by: order,
            return_count_only: false,
            return_ids_only: false,
            ..self.clone()
        }
    }

    /// The part of the sorted object ids `ids` (all that the query selects) within its
    /// own `resultOffset`/`resultRecordCount`.
    pub fn window<'a>(&self, ids: &'a [i64]) -> &'a [i64] {
        let from = usize::try_from(self.result_offset.unwrap_or(0))
            .unwrap_or(usize::MAX)
            .min(ids.len());
        let n = usize::try_from(self.expected(ids.len() as u64)).unwrap_or(usize::MAX);
        &ids[from..from.saturating_add(n).min(ids.len())]
    }

    /// This query for the features of `ids` only (a layer that cannot page is read
    /// by object ids, in chunks of its page size).
    pub fn chunk(&self, ids: &[i64]) -> LayerQuery {
        LayerQuery {
            object_ids: Some(ids.to_vec()),
            return_ids_only: false,
            return_count_only: false,
            result_offset: None,
            result_record_count: None,
            ..self.clone()
        }
    }

    /// The parsed `where` clause, if any (checked by [`LayerQuery::from_form`]).
    pub fn parsed_where(&self) -> Result<Option<Where>, QueryError> {
        self.where_clause
            .as_deref()
            .map(|w| Where::parse(w).map_err(|e| bad("where", e.to_string())))
            .transpose()
    }
}

fn sr_text(sr: &SpatialReference) -> String {
    match sr.wkid.or(sr.latest_wkid) {
        Some(w) if sr.wkt.is_none() => w.to_string(),
        _ => serde_json::to_string(sr).unwrap_or_default(),
    }
}

/// The answer to `returnCountOnly=true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountResponse {
    /// How many features the query selects.
    pub count: u64,
}

/// The answer to `returnIdsOnly=true`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdsResponse {
    /// The object id field.
    #[serde(default)]
    pub object_id_field_name: String,
    /// The ids selected (`null` when none, as ArcGIS writes it).
    #[serde(default)]
    pub object_ids: Option<Vec<i64>>,
}

/// The query abilities a layer advertises (`advancedQueryCapabilities`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvancedQueryCapabilities {
    /// `resultOffset`/`resultRecordCount` work.
    #[serde(default)]
    pub supports_pagination: bool,
    /// `orderByFields` works.
    #[serde(default)]
    pub supports_order_by: bool,
    /// `returnCountOnly` works.
    #[serde(default)]
    pub supports_count_distinct: bool,
    /// `returnExtentOnly` works.
    #[serde(default)]
    pub supports_returning_query_extent: bool,
    /// `statistics` work.
    #[serde(default)]
    pub supports_statistics: bool,
    /// `returnDistinctValues` works.
    #[serde(default)]
    pub supports_distinct: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn form(pairs: &[(&str, &str)]) -> Result<LayerQuery, QueryError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LayerQuery::from_form(|k| m.get(k).map(String::as_str))
    }

    #[test]
    fn a_query_survives_the_form() {
        let q = LayerQuery {
            where_clause: Some("POP > 5".into()),
            object_ids: Some(vec![1, 2]),
            out_fields: Some(vec!["NAME".into(), "POP".into()]),
            return_geometry: Some(false),
            geometry: Some(Envelope::new(-10.0, -5.0, 10.0, 5.0)),
            in_sr: Some(SpatialReference::from_wkid(4326)),
            out_sr: Some(SpatialReference::from_wkid(3857)),
            result_offset: Some(2000),
            result_record_count: Some(1000),
            order_by: vec![OrderBy {
                field: "OBJECTID".into(),
                descending: false,
            }],
            return_count_only: false,
            return_ids_only: true,
            format: QueryFormat::GeoJson,
        };
        let pairs = q.to_form();
        let refs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(form(&refs).expect("read back"), q);
    }

    #[test]
    fn bad_parameters_are_named() {
        #[track_caller]
        fn check(pairs: &[(&str, &str)], param: &str, says: &str) {
            let e = form(pairs).expect_err("refused");
            assert_eq!(e.param, param, "{e}");
            assert!(e.reason.contains(says), "{e}");
        }
        check(&[("where", "POP >")], "where", "ends where");
        check(&[("resultOffset", "-1")], "resultOffset", "whole number");
        check(&[("objectIds", "1,x")], "objectIds", "`x`");
        check(
            &[("orderByFields", "A SIDEWAYS")],
            "orderByFields",
            "ASC or DESC",
        );
        check(&[("geometry", "1,2,3")], "geometry", "four numbers");
        check(
            &[("spatialRel", "esriSpatialRelTouches")],
            "spatialRel",
            "only",
        );
        check(
            &[
                ("geometry", "{\"x\":1,\"y\":2}"),
                ("geometryType", "esriGeometryPoint"),
            ],
            "geometryType",
            "only esriGeometryEnvelope",
        );
        check(
            &[("returnCountOnly", "maybe")],
            "returnCountOnly",
            "true or false",
        );
    }

    #[test]
    fn pages_cover_the_window_in_a_total_order() {
        let info = crate::LayerInfo {
            object_id_field: Some("OID".into()),
            max_record_count: Some(100),
            ..Default::default()
        };
        let q = LayerQuery {
            result_offset: Some(10),
            result_record_count: Some(250),
            order_by: vec![OrderBy {
                field: "NAME".into(),
                descending: true,
            }],
            ..Default::default()
        };
        assert_eq!(q.expected(1000), 250);
        assert_eq!(q.expected(100), 90);
        let p = q.page(&info, 200);
        assert_eq!(p.result_offset, Some(210));
        assert_eq!(p.result_record_count, Some(50), "the window's last 50");
        assert_eq!(p.order_by.len(), 2);
        assert_eq!(p.order_by[1].field, "OID");
        let c = q.counting();
        assert!(c.return_count_only && c.result_offset.is_none());
        assert_eq!(q.chunk(&[3, 4]).object_ids, Some(vec![3, 4]));
        let ids: Vec<i64> = (1..=300).collect();
        assert_eq!(q.window(&ids), &ids[10..260]);
        assert_eq!(q.window(&ids[..5]), &[] as &[i64]);
    }

    #[test]
    fn a_star_or_nothing_is_every_field() {
        assert_eq!(form(&[("outFields", "*")]).expect("q").out_fields, None);
        assert_eq!(form(&[]).expect("q").out_fields, None);
        assert_eq!(
            form(&[("geometry", "3,4,1,2")]).expect("q").geometry,
            Some(Envelope::new(1.0, 2.0, 3.0, 4.0))
        );
    }
}
