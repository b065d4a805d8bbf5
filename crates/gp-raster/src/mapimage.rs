//! Map images of results (PNG, JPEG, GIF): format detection, size, saving, conversion.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageFormat, ImageReader, Rgba, RgbaImage};
use serde::Serialize;

use crate::error::{Error, Result};

/// The formats a map service exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ImageKind {
    /// PNG (png, png8, png24, png32).
    Png,
    /// JPEG.
    Jpeg,
    /// GIF.
    Gif,
}

impl ImageKind {
    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            ImageKind::Png => "png",
            ImageKind::Jpeg => "jpg",
            ImageKind::Gif => "gif",
        }
    }

    /// The kind for a file extension (`jpg`, `jpeg`, `png`, `gif`, any case).
    pub fn from_extension(ext: &str) -> Option<ImageKind> {
        match ext.to_ascii_lowercase().as_str() {
            "png" => Some(ImageKind::Png),
            "jpg" | "jpeg" => Some(ImageKind::Jpeg),
            "gif" => Some(ImageKind::Gif),
            _ => None,
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            ImageKind::Png => ImageFormat::Png,
            ImageKind::Jpeg => ImageFormat::Jpeg,
            ImageKind::Gif => ImageFormat::Gif,
        }
    }
}

/// A downloaded map image, its real format found from its bytes (not from the URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapImage {
    kind: ImageKind,
    width: u32,
    height: u32,
    bytes: Vec<u8>,
}

fn img_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Image {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

impl MapImage {
    /// Recognises and checks an image; `name` is used in errors.
    pub fn from_bytes(bytes: Vec<u8>, name: &str) -> Result<MapImage> {
        let p = Path::new(name);
        let format = image::guess_format(&bytes).map_err(|e| img_err(p, e))?;
        let kind = match format {
            ImageFormat::Png => ImageKind::Png,
            ImageFormat::Jpeg => ImageKind::Jpeg,
            ImageFormat::Gif => ImageKind::Gif,
            other => {
                return Err(img_err(
                    p,
                    format!("{other:?} is not a map image format this crate reads"),
                ));
            }
        };
        let (width, height) = ImageReader::with_format(Cursor::new(&bytes), format)
            .into_dimensions()
            .map_err(|e| img_err(p, e))?;
        Ok(MapImage {
            kind,
            width,
            height,
            bytes,
        })
    }

    /// The real format.
    pub fn kind(&self) -> ImageKind {
        self.kind
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The encoded bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Decodes the pixels.
    pub fn decode(&self) -> Result<DynamicImage> {
        image::load_from_memory_with_format(&self.bytes, self.kind.image_format())
            .map_err(|e| img_err(Path::new(self.kind.extension()), e))
    }

    /// The image re-encoded as `kind`. Transparent pixels are laid on white for JPEG,
    /// which has no alpha.
    pub fn convert(&self, kind: ImageKind) -> Result<MapImage> {
        if kind == self.kind {
            return Ok(self.clone());
        }
        let img = self.decode()?;
        let img = if kind == ImageKind::Jpeg {
            let rgba = img.to_rgba8();
            let mut flat =
                RgbaImage::from_pixel(rgba.width(), rgba.height(), Rgba([255, 255, 255, 255]));
            image::imageops::overlay(&mut flat, &rgba, 0, 0);
            DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(flat).to_rgb8())
        } else {
            img
        };
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, kind.image_format())
            .map_err(|e| img_err(Path::new(kind.extension()), e))?;
        Ok(MapImage {
            kind,
            width: self.width,
            height: self.height,
            bytes: out.into_inner(),
        })
    }

    /// Saves to `path`. A path without an extension gets the real one; a path whose
    /// extension names another image format is converted to it (`road_buffer.jpg` from
    /// a PNG); any other extension is an error. Written atomically. Returns the path
    /// written.
    pub fn save(&self, path: impl AsRef<Path>, overwrite: bool) -> Result<PathBuf> {
        let path = path.as_ref();
        let (target, image) = match path.extension().and_then(|e| e.to_str()) {
            None => (
                path.with_extension(self.kind.extension()),
                std::borrow::Cow::Borrowed(self),
            ),
            Some(ext) => match ImageKind::from_extension(ext) {
                Some(k) => (
                    path.to_path_buf(),
                    std::borrow::Cow::Owned(self.convert(k)?),
                ),
                None => {
                    return Err(img_err(
                        path,
                        format!(
                            "`.{ext}` is not an image extension this crate writes (png, jpg, gif)"
                        ),
                    ));
                }
            },
        };
        let mut f = gp_fs::AtomicFile::new(
            target,
            gp_fs::Options::new(overwrite, gp_fs::Flush::Durable),
        )?;
        f.write_chunk(image.bytes())?;
        Ok(f.finish(Some(image.bytes().len() as u64))?)
    }
}
