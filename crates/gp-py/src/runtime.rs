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

/// Waits (at most `limit`) until no task runs on the runtime. Registered with
/// `atexit`: a task that just handed a result to Python leaves the interpreter a
/// moment after the script has it, and one still inside Python while the
/// interpreter finalizes aborts the process ("PyGILState_Release: thread state
/// must be current", pyo3-async-runtimes issue 40). Also lets a cancel spawned by
/// an interrupted wait reach the server.
#[pyfunction]
pub(crate) fn _quiesce(py: Python<'_>) {
    let limit = Duration::from_secs(5);
    py.detach(|| {
        let start = std::time::Instant::now();
        while rt().metrics().num_alive_tasks() > 0 && start.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(5));
        }
    });
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
