//! One tokio runtime (pyo3-async-runtimes' own) runs every request. Blocking calls
//! release the GIL while they wait and look for Ctrl-C every 100 ms, so a waiting
//! script can be interrupted (see `GpResult::wait` for what that does to a job).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pyo3::prelude::*;

/// A duration in seconds from Python: `None` or infinity is no limit; a negative
/// or NaN value is a `ValidationError` naming `what`.
pub(crate) fn seconds(t: Option<f64>, what: &str) -> PyResult<Option<Duration>> {
    match t {
        None => Ok(None),
        Some(t) if t.is_infinite() && t > 0.0 => Ok(None),
        Some(t) => Duration::try_from_secs_f64(t).map(Some).map_err(|_| {
            crate::errors::ValidationError::new_err(format!(
                "{what} must be a number of seconds, 0 or more; got {t}"
            ))
        }),
    }
}

/// The runtime.
pub(crate) fn rt() -> &'static tokio::runtime::Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}

/// Set once an awaitable was made: only then can a thread be left waiting to
/// re-enter Python at exit.
static AWAITABLES: AtomicBool = AtomicBool::new(false);

/// `fut` as a Python awaitable (pyo3-async-runtimes, on [`rt`]).
pub(crate) fn awaitable<F, T>(py: Python<'_>, fut: F) -> PyResult<Bound<'_, PyAny>>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: for<'py> IntoPyObject<'py> + Send + 'static,
{
    AWAITABLES.store(true, Ordering::Relaxed);
    pyo3_async_runtimes::tokio::future_into_py(py, fut)
}

/// Registered with `atexit`, so no runtime thread enters Python while the
/// interpreter finalizes (which aborts the process: "PyGILState_Release: thread
/// state must be current", pyo3-async-runtimes issue 40).
///
/// First it waits (at most 5 s) until no task runs on the runtime, which also lets
/// a cancel spawned by an interrupted wait reach the server. Then, when
/// awaitables were made, it lets go of the GIL for 50 ms: pyo3-async-runtimes
/// hands each result to the event loop from a blocking thread through
/// `call_soon_threadsafe`, whose write to the loop's socket releases the GIL, so
/// the script can finish while that thread still waits to take the GIL back; given
/// the GIL now, it finishes and leaves Python before finalization starts.
#[pyfunction]
pub(crate) fn _quiesce(py: Python<'_>) {
    let limit = Duration::from_secs(5);
    py.detach(|| {
        let start = std::time::Instant::now();
        while rt().metrics().num_alive_tasks() > 0 && start.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(5));
        }
        if AWAITABLES.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50));
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
