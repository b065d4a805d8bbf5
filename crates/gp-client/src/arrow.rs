//! Feature outputs as Apache Arrow record batches (feature `arrow`): the job's
//! result body parsed straight into batches as it arrives (gp-features'
//! [`esri_json_to_arrow`](gp_features::arrow::esri_json_to_arrow)), never held
//! whole as a feature set.

use gp_features::arrow::ArrowFeatures;
use gp_model::{FeatureSet, GpValue};

use crate::error::Error;
use crate::result::GpResult;
use crate::toolbox::{ParamRef, encode_segment};
use crate::wire;

impl GpResult {
    /// A feature or record set output as Arrow record batches (GeoArrow WKB
    /// geometry, see [`gp_features::arrow`]) with its schema (a feature set without
    /// features). A job's output is streamed from its result resource into the
    /// batches; an output that cannot be (a synchronous result, a hosted layer, one
    /// the server cut at `maximumRecords`, a schema after the features) comes
    /// through [`GpResult::output`], whole, and is converted. Kept once read: asking
    /// again costs no request (the batches are shared, not copied).
    pub async fn output_arrow(
        &self,
        p: impl Into<ParamRef>,
    ) -> Result<(FeatureSet, ArrowFeatures), Error> {
        self.require_success()?;
        let name = self.output_param(p.into())?.name.to_string();
        if let Some(t) = self.lock().tables.get(&name) {
            return Ok(t.clone());
        }
        let t = self.read_arrow(&name).await?;
        self.lock().tables.insert(name, t.clone());
        Ok(t)
    }

    /// Output `name` as Arrow, from the server (see [`GpResult::output_arrow`]).
    async fn read_arrow(&self, name: &str) -> Result<(FeatureSet, ArrowFeatures), Error> {
        let name = name.to_string();
        if let (Some(job), None, false) = (
            self.job_url(),
            self.cached_output(&name),
            self.tool().is_ogc(),
        ) {
            let url = format!("{job}/results/{}", encode_segment(&name));
            let streamed = wire::retry_read(&url, || {
                crate::stream::stream_result(&self.tool().client.transport, &url, |r, source| {
                    gp_features::arrow::esri_json_to_arrow(r, source)
                })
            })
            .await?;
            match streamed {
                Some((header, table)) if header.exceeded_transfer_limit != Some(true) => {
                    return Ok((header, table));
                }
                // Cut at the transfer limit: read whole below (in pages).
                _ => {}
            }
        }
        let fs = match self.output(name.as_str()).await? {
            GpValue::FeatureSet(fs) | GpValue::RecordSet(fs) => fs,
            GpValue::FeatureCollection(c) => c.feature_set,
            _ => {
                return Err(Error::Protocol {
                    url: self.tool().url().to_string(),
                    status: 200,
                    message: format!("the output {name} is not a feature or record set"),
                });
            }
        };
        let table = tokio::task::spawn_blocking(move || {
            gp_features::arrow::to_arrow(&fs).map(|t| {
                (
                    FeatureSet {
                        features: Vec::new(),
                        ..fs
                    },
                    t,
                )
            })
        })
        .await
        .map_err(|e| Error::Config {
            message: format!("the converting thread failed: {e}"),
        })??;
        Ok(table)
    }
}
