//! Spatial references of files: WKT for EPSG codes (crs-definitions), EPSG codes for
//! WKT (its `AUTHORITY`, or the common Esri names that `.prj` files carry).

use gp_model::SpatialReference;

/// The OGC WKT of a spatial reference: its own WKT, else the definition of its EPSG code.
pub fn wkt_for(sr: &SpatialReference) -> Option<String> {
    if let Some(w) = &sr.wkt {
        return Some(w.clone());
    }
    let code = u16::try_from(sr.epsg()?).ok()?;
    crs_definitions::from_code(code).map(|d| d.wkt.to_string())
}

/// A spatial reference for WKT: the EPSG code where it can be told, else the WKT.
pub fn sr_from_wkt(wkt: &str) -> SpatialReference {
    match epsg_of_wkt(wkt) {
        Some(code) => SpatialReference::from_wkid(code),
        None => SpatialReference::from_wkt(wkt.trim()),
    }
}

/// The EPSG code of WKT: the root `AUTHORITY["EPSG", n]` (the last one in WKT1), or
/// `ID["EPSG", n]` (WKT2), or a known Esri name.
pub fn epsg_of_wkt(wkt: &str) -> Option<i32> {
    let w = wkt.trim();
    for key in ["AUTHORITY[\"EPSG\",", "ID[\"EPSG\","] {
        if let Some(i) = w.rfind(key) {
            let rest = &w[i + key.len()..];
            let num: String = rest
                .trim_start_matches([' ', '"'])
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            // Only the root authority counts: it closes the outermost bracket.
            let tail = rest.find(']').map_or("", |j| &rest[j + 1..]);
            if tail.trim().trim_end_matches(']').is_empty()
                && let Ok(n) = num.parse()
            {
                return Some(n);
            }
        }
    }
    esri_name_code(w)
}

fn esri_name_code(wkt: &str) -> Option<i32> {
    let start = wkt.find('"')? + 1;
    let end = start + wkt[start..].find('"')?;
    let name = wkt[start..end].to_ascii_lowercase();
    let fixed = match name.as_str() {
        "gcs_wgs_1984" | "wgs 84" => Some(4326),
        "gcs_north_american_1983" | "nad83" => Some(4269),
        "gcs_etrs_1989" | "etrs89" => Some(4258),
        "wgs_1984_web_mercator_auxiliary_sphere" | "wgs 84 / pseudo-mercator" => Some(3857),
        _ => None,
    };
    if fixed.is_some() {
        return fixed;
    }
    let zone = |prefix: &str| -> Option<(i32, char)> {
        let rest = name.strip_prefix(prefix)?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let hemi = rest[digits.len()..].chars().next()?;
        Some((digits.parse().ok()?, hemi))
    };
    match zone("wgs_1984_utm_zone_") {
        Some((z, 'n')) if (1..=60).contains(&z) => return Some(32600 + z),
        Some((z, 's')) if (1..=60).contains(&z) => return Some(32700 + z),
        _ => {}
    }
    match zone("nad_1983_utm_zone_") {
        Some((z, 'n')) if (1..=23).contains(&z) => Some(26900 + z),
        _ => None,
    }
}
