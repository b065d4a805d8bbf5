//! Request parameters (query and form body merged), `f`, booleans.

/// Query and form parameters, in order; names compared case-insensitively.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses `a=1&b=2` (query string or form body) and appends.
    pub(crate) fn extend_urlencoded(&mut self, bytes: &[u8]) {
        self.pairs
            .extend(form_urlencoded::parse(bytes).map(|(k, v)| (k.into_owned(), v.into_owned())));
    }

    /// Adds one pair.
    pub(crate) fn push(&mut self, k: impl Into<String>, v: impl Into<String>) {
        self.pairs.push((k.into(), v.into()));
    }

    /// The last value of `name` (exact match first, then case-insensitive). Body
    /// values come after query values, so the body wins.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .or_else(|| {
                self.pairs
                    .iter()
                    .rev()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
            })
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name` (case-insensitive), in order: for repeated fields.
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A boolean parameter: `true`/`false` in any case (Python sends `False`), also
    /// `1`/`0`/`yes`/`no`. `Err` names the bad text.
    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>, String> {
        match self.get(name).map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) => parse_bool(s)
                .map(Some)
                .ok_or_else(|| format!("{name}: `{s}` is not a boolean (true or false)")),
        }
    }
}

/// Parses a boolean case-insensitively.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// The response format (`f`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum F {
    /// Compact JSON.
    Json,
    /// Pretty JSON.
    Pjson,
    /// HTML (the default when `f` is missing).
    Html,
    /// Image bytes (`export`, results with a map service).
    Image,
}

impl F {
    /// Reads `f`; unknown values are an error naming them.
    pub(crate) fn from_params(p: &Params) -> Result<F, String> {
        match p.get("f").map(|s| s.trim().to_ascii_lowercase()) {
            None => Ok(F::Html),
            Some(s) => match s.as_str() {
                "" | "html" => Ok(F::Html),
                // GeoJSON is a format of layer queries, which read `f` themselves.
                "json" | "geojson" => Ok(F::Json),
                "pjson" => Ok(F::Pjson),
                "image" => Ok(F::Image),
                other => Err(format!(
                    "f: `{other}` is not supported here (json, pjson, html, image)"
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_wins_and_names_are_case_insensitive() {
        let mut p = Params::default();
        p.extend_urlencoded(b"f=html&Distance=1");
        p.extend_urlencoded(b"f=json&distance=%7B%22a%22%3A1%7D");
        assert_eq!(p.get("f"), Some("json"));
        assert_eq!(p.get("Distance"), Some("1"));
        assert_eq!(p.get("DISTANCE"), Some("{\"a\":1}"));
        assert_eq!(F::from_params(&p), Ok(F::Json));
    }

    #[test]
    fn booleans_in_any_case() {
        let mut p = Params::default();
        p.extend_urlencoded(b"a=False&b=TRUE&c=maybe");
        assert_eq!(p.bool("a"), Ok(Some(false)));
        assert_eq!(p.bool("b"), Ok(Some(true)));
        assert!(p.bool("c").unwrap_err().contains("maybe"));
        assert_eq!(p.bool("d"), Ok(None));
    }
}
