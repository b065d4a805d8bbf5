//! Feature outputs fetched whole when the result itself does not carry them: a
//! hosted output (its value is `{"url": ".../FeatureServer/0"}`), and an output the
//! server cut at `maximumRecords`, read again from the result map service's layer
//! for the job, with paged queries ([`crate::FeatureLayer`]).

use std::path::Path;

use gp_model::{GpValue, LayerQuery, MapServiceInfo};

use crate::error::Error;
use crate::layer::FeatureLayer;
use crate::result::GpResult;
use crate::save::{SaveOptions, Saved};
use crate::wire;

/// True when `url` names a feature layer (`…/FeatureServer/<n>`, `…/MapServer/<n>`,
/// `…/MapServer/jobs/<jobId>/<n>`).
pub(crate) fn is_layer_url(url: &str) -> bool {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let numbered = segs.last().is_some_and(|s| s.parse::<u32>().is_ok());
    let service = segs
        .iter()
        .any(|s| s.eq_ignore_ascii_case("FeatureServer") || s.eq_ignore_ascii_case("MapServer"));
    numbered && service
}

impl GpResult {
    /// The layer of output `name` in the result map service's map of this job
    /// (`…/<Service>/MapServer/jobs/<jobId>/<n>`), when the service has one.
    pub(crate) async fn result_layer(&self, name: &str) -> Result<Option<FeatureLayer>, Error> {
        let tool = self.tool();
        let (Some(id), Some(map)) = (self.result_id(), tool.service.result_map_server()) else {
            return Ok(None);
        };
        // `…/Folder/Service/GPServer` → `…/Folder/<resultMapServerName>/MapServer`.
        let service_url = tool.service_url.trim_end_matches('/');
        let Some(base) = service_url
            .rsplit_once('/')
            .and_then(|(b, _)| b.rsplit_once('/'))
            .map(|(b, _)| b)
        else {
            return Ok(None);
        };
        let map_url = format!("{base}/{map}/MapServer/jobs/{id}");
        let info: MapServiceInfo =
            wire::get_json(&tool.client.transport, &map_url, &[], "result map").await?;
        Ok(info
            .layers
            .iter()
            .find(|l| l.name.eq_ignore_ascii_case(name))
            .map(|l| {
                FeatureLayer::with_client(tool.client.clone(), &format!("{map_url}/{}", l.id))
            }))
    }

    /// Output `name` read whole from `layer` into `path`.
    pub(crate) async fn save_layer(
        &self,
        layer: &FeatureLayer,
        path: &Path,
        opts: &SaveOptions,
        overwrite: bool,
    ) -> Result<Saved, Error> {
        // Outputs are already in the job's output spatial reference.
        let q = LayerQuery::default();
        let fopts = gp_features::SaveOptions {
            overwrite,
            layer: None,
            sync: opts.sync,
        };
        Ok(Saved::written(layer.save(&q, path, &fopts).await?, true))
    }

    /// Output `name` whole, when the result is a hosted layer reference or was cut
    /// and the result map service has the job's layer: read in pages.
    pub(crate) async fn whole_output(&self, name: &str, v: GpValue) -> Result<GpValue, Error> {
        match v {
            GpValue::DataRef(d) if d.url.as_deref().is_some_and(is_layer_url) => {
                let url = d.url.unwrap_or_default();
                let layer = self.tool().client.layer(&url);
                Ok(GpValue::FeatureSet(
                    layer.read_all(&LayerQuery::default()).await?,
                ))
            }
            GpValue::FeatureSet(fs) if fs.exceeded_transfer_limit == Some(true) => {
                match self.result_layer(name).await? {
                    Some(layer) => Ok(GpValue::FeatureSet(
                        layer.read_all(&LayerQuery::default()).await?,
                    )),
                    None => Ok(GpValue::FeatureSet(fs)),
                }
            }
            other => Ok(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_urls_are_told_apart() {
        #[track_caller]
        fn check(url: &str, layer: bool) {
            assert_eq!(is_layer_url(url), layer, "{url}");
        }
        check(
            "https://h/arcgis/rest/services/Hosted/x/FeatureServer/0",
            true,
        );
        check(
            "https://h/arcgis/rest/services/Hosted/x/FeatureServer/0/",
            true,
        );
        check(
            "https://h/arcgis/rest/services/GP/B/MapServer/jobs/j1/0",
            true,
        );
        check(
            "https://h/arcgis/rest/services/Maps/World/MapServer/3?token=x",
            true,
        );
        check(
            "https://h/arcgis/rest/services/Hosted/x/FeatureServer",
            false,
        );
        check(
            "https://h/arcgis/rest/directories/arcgisjobs/x/scratch/out.tif",
            false,
        );
        check("https://h/arcgis/rest/services/Img/ImageServer", false);
    }
}
