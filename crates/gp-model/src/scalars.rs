//! Dates and booleans read from text and numbers, as GP values take them.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::datatype::DataType;
use crate::error::Result;
use crate::text::value_err;

/// A date from epoch milliseconds, or an error naming the range.
pub(crate) fn date_from_millis(dt: &DataType, ms: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| value_err(dt, format!("{ms} ms is outside the supported date range")))
}

/// A date from text: epoch milliseconds, RFC 3339, or the usual date forms.
pub(crate) fn parse_date_text(dt: &DataType, t: &str) -> Result<DateTime<Utc>> {
    let t = t.trim();
    if let Ok(ms) = t.parse::<i64>() {
        return date_from_millis(dt, ms);
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(t, f) {
            return Ok(n.and_utc());
        }
    }
    for f in ["%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(t, f) {
            return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
        }
    }
    Err(value_err(
        dt,
        format!(
            "`{t}` is not a date: use epoch milliseconds, YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS or RFC 3339"
        ),
    ))
}

/// A boolean from text (`true`/`yes`/`1`/`y`/`t` and their opposites).
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "y" | "t" => Some(true),
        "false" | "no" | "0" | "n" | "f" => Some(false),
        _ => None,
    }
}
