//! Raster and file outputs into the scratch workspace: streamed to a temporary file,
//! checked (status, content type, the first bytes against the file's kind, the
//! length) and renamed into place under a safe name that replaces nothing unless
//! asked.

use std::path::PathBuf;

use futures::StreamExt;
use gp_fs::ScratchWorkspace;
use gp_model::GpValue;
use gp_transport::TransportExt;

use crate::error::Error;
use crate::result::GpResult;
use crate::toolbox::ParamRef;
use crate::wire;

/// What a file of this extension starts with, for the kinds a GP service hands out.
fn magic(ext: &str) -> Option<(&'static str, &'static [&'static [u8]])> {
    Some(match ext {
        "tif" | "tiff" => ("a TIFF", &[b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"]),
        "png" => ("a PNG image", &[b"\x89PNG\r\n\x1a\n"]),
        "jpg" | "jpeg" => ("a JPEG image", &[b"\xff\xd8\xff"]),
        "gif" => ("a GIF image", &[b"GIF87a", b"GIF89a"]),
        "zip" | "sd" | "sdpk" | "gpkx" | "lpkx" | "mpkx" => {
            ("a ZIP archive", &[b"PK\x03\x04", b"PK\x05\x06"])
        }
        "gz" => ("a gzip file", &[b"\x1f\x8b"]),
        "pdf" => ("a PDF", &[b"%PDF"]),
        _ => return None,
    })
}

/// Checks the start of a download named `name` (its first chunk) and its content
/// type: an error envelope, an HTML page or JSON where a binary file is expected,
/// or bytes that are not what the extension says, are refused.
pub(crate) fn check_head(
    url: &str,
    name: &str,
    content_type: Option<&str>,
    head: &[u8],
) -> Result<(), Error> {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let bad = |expected: String, found: String| Error::BadDownload {
        url: wire::redact(url),
        expected,
        found,
    };
    if gp_model::ServerError::may_be_envelope(head)
        && let Some(e) = gp_model::ServerError::check(head)
    {
        return Err(Error::Server {
            url: wire::redact(url),
            code: e.code,
            message: e.message,
            details: e.details,
        });
    }
    let text_kinds = [
        "htm", "html", "json", "geojson", "txt", "xml", "csv", "kml", "svg",
    ];
    let ct = content_type.unwrap_or_default().to_ascii_lowercase();
    let trimmed: Vec<u8> = head
        .iter()
        .copied()
        .skip_while(u8::is_ascii_whitespace)
        .take(15)
        .map(|b| b.to_ascii_lowercase())
        .collect();
    let html = ct.starts_with("text/html")
        || trimmed.starts_with(b"<!doctype html")
        || trimmed.starts_with(b"<html");
    if html && !matches!(ext.as_str(), "htm" | "html") {
        return Err(bad(
            format!("the file `{name}`"),
            format!("an HTML page ({})", wire::excerpt(head)),
        ));
    }
    if let Some((kind, starts)) = magic(&ext) {
        if !starts.iter().any(|m| head.starts_with(m)) {
            let found = if ct.contains("json") || trimmed.starts_with(b"{") {
                format!("JSON ({})", wire::excerpt(head))
            } else {
                format!(
                    "bytes that do not start like one ({:02x?}, content type `{ct}`)",
                    &head[..head.len().min(8)]
                )
            };
            return Err(bad(format!("{kind} (`{name}`)"), found));
        }
    } else if ct.contains("json") && !text_kinds.contains(&ext.as_str()) && !ext.is_empty() {
        return Err(bad(
            format!("the file `{name}`"),
            format!("JSON ({})", wire::excerpt(head)),
        ));
    }
    Ok(())
}

impl GpResult {
    /// Downloads a raster or file output into `scratch`: written to a temporary file,
    /// checked and size-checked, renamed into place. A file of that name already
    /// there is kept: the download gets a numbered name (`slope_1.tif`). Returns the
    /// path.
    pub async fn download(
        &self,
        p: impl Into<ParamRef>,
        scratch: &ScratchWorkspace,
    ) -> Result<PathBuf, Error> {
        self.download_with(p, scratch, false, &mut |_, _| {}).await
    }

    /// Like [`GpResult::download`], replacing a file of the same name when
    /// `overwrite`, and calling `progress(bytes_written, total)` after every chunk
    /// (`total` from `Content-Length`, when the server sent it).
    pub async fn download_with(
        &self,
        p: impl Into<ParamRef>,
        scratch: &ScratchWorkspace,
        overwrite: bool,
        progress: &mut (dyn FnMut(u64, Option<u64>) + Send),
    ) -> Result<PathBuf, Error> {
        let v = self.output(p).await?;
        let GpValue::DataRef(r) = &v else {
            return Err(Error::Protocol {
                url: self.tool().url().to_string(),
                status: 200,
                message: "the output is not a file or raster reference".into(),
            });
        };
        let Some(url) = &r.url else {
            return Err(Error::Protocol {
                url: self.tool().url().to_string(),
                status: 200,
                message: "the output has no url".into(),
            });
        };
        let name = gp_fs::file_name_from_url(url)?;
        // A download cut or refused in passing leaves nothing behind (it is written
        // under a temporary name) and is fetched again.
        let mut n = 0u32;
        loop {
            match self
                .download_once(url, &name, scratch, overwrite, progress)
                .await
            {
                Err(e) if n < wire::READ_RETRIES && wire::is_passing(&e) => {
                    n += 1;
                    wire::pause_before_retry(url, &e, n).await;
                }
                r => return r,
            }
        }
    }

    async fn download_once(
        &self,
        url: &str,
        name: &str,
        scratch: &ScratchWorkspace,
        overwrite: bool,
        progress: &mut (dyn FnMut(u64, Option<u64>) + Send),
    ) -> Result<PathBuf, Error> {
        let resp = self.tool().client.transport.get_streaming(url, &[]).await?;
        let status = resp.status().as_u16();
        // In a block: a borrow of the response held across an await would make
        // this future not `Send` (the body stream is not `Sync`).
        let (expected, content_type) = {
            let header = |h: http::header::HeaderName| {
                resp.headers()
                    .get(h)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            (
                header(http::header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok()),
                header(http::header::CONTENT_TYPE),
            )
        };
        let mut body = resp.into_body();
        if !(200..300).contains(&status) {
            let head = body.next().await.transpose()?.unwrap_or_default();
            return Err(Error::Protocol {
                url: wire::redact(url),
                status,
                message: format!("the download failed: {}", wire::excerpt(&head)),
            });
        }
        let Some(first) = body.next().await.transpose()? else {
            return Err(Error::BadDownload {
                url: wire::redact(url),
                expected: format!("the file `{name}`"),
                found: "an empty body".into(),
            });
        };
        if let Err(e) = check_head(url, name, content_type.as_deref(), &first) {
            // Read the rest of a small refusal first: one cut short is a passing
            // failure (asked again), not a verdict on the file.
            let mut seen = first.len();
            while seen < 1 << 16 {
                match body.next().await {
                    Some(Ok(c)) => seen += c.len(),
                    Some(Err(cut)) => return Err(cut.into()),
                    None => break,
                }
            }
            return Err(e);
        }
        scratch.ensure()?;
        let mut file = scratch.create(name, overwrite)?;
        file.write_chunk(&first)?;
        progress(file.written(), expected);
        while let Some(chunk) = body.next().await {
            file.write_chunk(&chunk?)?;
            progress(file.written(), expected);
        }
        Ok(file.finish(expected)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(name: &str, ct: Option<&str>, head: &[u8], ok: bool) {
        let r = check_head("http://h/x", name, ct, head);
        assert_eq!(r.is_ok(), ok, "{name} {ct:?}: {r:?}");
    }

    #[test]
    fn downloads_are_what_they_say() {
        check("slope.tif", Some("image/tiff"), b"II*\0\x08\0\0\0", true);
        check("slope.tif", None, b"MM\0*", true);
        check("big.tif", None, b"II+\0\x08\0", true);
        check(
            "slope.tif",
            Some("text/html"),
            b"<!DOCTYPE html><p>login</p>",
            false,
        );
        check(
            "slope.tif",
            Some("application/json"),
            br#"{"error": {"code": 500}}"#,
            false,
        );
        check(
            "slope.tif",
            Some("application/json"),
            br#"{"status": "nope"}"#,
            false,
        );
        check(
            "slope.tif",
            Some("application/octet-stream"),
            b"GIF89a",
            false,
        );
        check("map.png", Some("image/png"), b"\x89PNG\r\n\x1a\n....", true);
        check("report.html", Some("text/html"), b"<html>", true);
        check("table.csv", Some("text/csv"), b"a,b\n1,2", true);
        check("out.dat", Some("application/json"), b"{}", false);
        check("out.json", Some("application/json"), b"{}", true);
        check("notes", Some("text/html"), b"<html>", false);
    }
}
