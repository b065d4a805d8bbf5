//! One tokio runtime (pyo3-async-runtimes' own) runs every request. Blocking calls
//! release the GIL while they wait and look for Ctrl-C every 100 ms, so a waiting
//! script can be interrupted (see `GpResult::wait` for what that does to a job).

use std::future::Future;
use std::time::Duration;

use pyo3::prelude::*;

/// The runtime.
pub(crate) fn rt() -> &'static tokio::runtime::Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}

/// Runs `fut` to its end with the GIL released; a pending signal (Ctrl-C) raises
/// its exception here (the future is dropped).
pub(crate) fn block<F, T>(py: Python<'_>, fut: F) -> PyResult<T>
where
    F: Future<Output = Result<T, gp_client::Error>> + Send,
    T: Send,
{
    let mut fut = Box::pin(fut);
    loop {
        let step = py.detach(|| {
            rt().block_on(async {
                tokio::time::timeout(Duration::from_millis(100), &mut fut).await
            })
        });
        match step {
            Ok(r) => return r.map_err(crate::errors::to_py),
            Err(_) => py.check_signals()?,
        }
    }
}
