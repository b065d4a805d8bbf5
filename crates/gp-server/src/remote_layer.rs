//! Layer-URL inputs of other servers (`{"url", "filter"}`), read inside the job with
//! paged queries built by gp-model's [`LayerQuery`] rules, as gp-client reads them.
//!
//! Off unless the server is started with the origins it may read from
//! (`--layer-source ORIGIN`): a server that fetches any URL it is given can be made
//! to reach what only it can reach. Redirects are not followed, every answer is
//! size-limited, and the features in all are capped.

use std::time::Duration;

use gp_model::{CountResponse, FeatureSet, IdsResponse, LayerInfo, LayerQuery};

/// How a remote layer is read.
#[derive(Debug, Clone)]
pub(crate) struct RemoteLayer {
    /// The layer URL (`…/FeatureServer/0`).
    pub(crate) url: String,
    /// The `where` clause (checked by gp-model's parser before it is sent).
    pub(crate) filter: Option<String>,
    /// Most features accepted.
    pub(crate) max_features: u64,
    /// Largest answer accepted, in bytes.
    pub(crate) max_bytes: usize,
}

/// The origin (`scheme://host[:port]`, lower case, default port left out) of `url`.
pub(crate) fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let authority = match (scheme.as_str(), authority.rsplit_once(':')) {
        ("http", Some((h, "80"))) | ("https", Some((h, "443"))) => h.to_string(),
        _ => authority,
    };
    Some(format!("{scheme}://{authority}"))
}

impl RemoteLayer {
    /// Reads the layer: its metadata, the count, then every page (or object-id
    /// chunk); the features must add up to the count.
    pub(crate) async fn fetch(&self) -> Result<FeatureSet, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("gp-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
        let info: LayerInfo = self.get(&http, &self.url, &[("f", "json")]).await?;
        let q = LayerQuery {
            where_clause: self.filter.clone(),
            ..Default::default()
        };
        let count: CountResponse = self.query(&http, &q.counting()).await?;
        if count.count > self.max_features {
            return Err(format!(
                "the layer selects {} features; this server reads at most {}",
                count.count, self.max_features
            ));
        }
        let mut all: Option<FeatureSet> = None;
        let mut add = |fs: FeatureSet| match &mut all {
            None => all = Some(fs),
            Some(a) => a.features.extend(fs.features),
        };
        let mut got = 0u64;
        if info.supports_pagination() {
            while got < count.count {
                let fs: FeatureSet = self.query(&http, &q.page(&info, got)).await?;
                if fs.features.is_empty() {
                    break;
                }
                got += fs.features.len() as u64;
                add(fs);
            }
        } else {
            let ids: IdsResponse = self.query(&http, &q.ids_only()).await?;
            let mut ids = ids.object_ids.unwrap_or_default();
            ids.sort_unstable();
            let size = usize::try_from(info.page_size()).unwrap_or(1000);
            for chunk in ids.chunks(size) {
                let fs: FeatureSet = self.query(&http, &q.chunk(chunk)).await?;
                got += fs.features.len() as u64;
                add(fs);
            }
        }
        if got != count.count {
            return Err(format!(
                "the layer said the filter selects {} features, but {got} arrived",
                count.count
            ));
        }
        let mut fs = all.unwrap_or_else(|| {
            FeatureSet::with_schema(
                info.geometry_type.clone(),
                None,
                info.fields.clone().unwrap_or_default(),
            )
        });
        if fs.fields.is_none() {
            fs.fields = info.fields.clone();
        }
        if fs.spatial_reference.is_none() {
            fs.spatial_reference = info
                .extent
                .as_ref()
                .and_then(|e| e.spatial_reference.as_deref().cloned());
        }
        fs.exceeded_transfer_limit = None;
        Ok(fs)
    }

    async fn query<T: serde::de::DeserializeOwned>(
        &self,
        http: &reqwest::Client,
        q: &LayerQuery,
    ) -> Result<T, String> {
        let form = q.to_form();
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.get(http, &format!("{}/query", self.url), &pairs).await
    }

    /// POSTs `form` to `url` and decodes the answer, which must be JSON, not an error
    /// envelope, and not larger than the limit.
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        http: &reqwest::Client,
        url: &str,
        form: &[(&str, &str)],
    ) -> Result<T, String> {
        let mut r = http
            .post(url)
            .form(form)
            .send()
            .await
            .map_err(|e| format!("{url}: {}", without_url(&e)))?;
        let status = r.status();
        let mut body = Vec::new();
        while let Some(chunk) = r
            .chunk()
            .await
            .map_err(|e| format!("{url}: {}", without_url(&e)))?
        {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(format!(
                    "{url}: the answer is larger than {} bytes",
                    self.max_bytes
                ));
            }
            body.extend_from_slice(&chunk);
        }
        if let Some(e) = gp_model::ServerError::check(&body) {
            return Err(format!("{url}: the server answered {e}"));
        }
        if !status.is_success() {
            return Err(format!("{url}: HTTP {status}"));
        }
        gp_model::from_json_slice("layer answer", &body).map_err(|e| format!("{url}: {e}"))
    }
}

/// A reqwest error's text without the URL (which the caller names once).
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(&format!(" for url ({u})"), "");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_compared_as_browsers_do() {
        #[track_caller]
        fn check(url: &str, want: Option<&str>) {
            assert_eq!(origin(url).as_deref(), want, "{url}");
        }
        check(
            "https://GIS.example.org/arcgis/rest/services/x/FeatureServer/0",
            Some("https://gis.example.org"),
        );
        check(
            "https://gis.example.org:443/a",
            Some("https://gis.example.org"),
        );
        check(
            "http://gis.example.org:8080/a",
            Some("http://gis.example.org:8080"),
        );
        check("https://user@gis.example.org/a", None);
        check("file:///etc/passwd", None);
        check("gis.example.org/a", None);
    }
}
