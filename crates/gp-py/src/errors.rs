//! The exceptions: one base class, [`GpError`], and a subclass for each kind of
//! failure gp-client reports. Messages come from gp-client's errors, which name
//! what was wrong and where and never carry a token.

use gp_client::Error;
use pyo3::BoundObject;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    gp_rs,
    GpError,
    PyException,
    "Base class of every error gp raises."
);
create_exception!(
    gp_rs,
    ToolFailedError,
    GpError,
    "The job ended without success (failed, cancelled, timed out on the server). `messages` holds the server's messages, `status` the final status code, `job_id` the job."
);
create_exception!(
    gp_rs,
    ValidationError,
    GpError,
    "An input was refused before anything was sent: an unknown tool or parameter, or a value that does not fit the parameter. `parameter` names it when there is one."
);
create_exception!(
    gp_rs,
    ServerError,
    GpError,
    "The server answered with an error, or with something the protocol does not allow. `code` is the error code (or HTTP status)."
);
create_exception!(
    gp_rs,
    AuthError,
    GpError,
    "Authentication failed: the server refused the credentials or token (codes 401, 403, 498, 499), or a token would have gone over plain HTTP."
);
create_exception!(
    gp_rs,
    NetworkError,
    GpError,
    "No usable answer: the server could not be reached, timed out, or status polls kept failing. A job may still be running; `job_url` says where when known."
);
create_exception!(
    gp_rs,
    WaitTimeoutError,
    GpError,
    "Waiting took longer than the timeout given. The job goes on; `job_url` says where to resume."
);
create_exception!(
    gp_rs,
    DataError,
    GpError,
    "Local data could not be read or written: a feature file, a raster, an image, an Arrow table, a file that exists."
);

/// Adds the exception classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("GpError", py.get_type::<GpError>())?;
    m.add("ToolFailedError", py.get_type::<ToolFailedError>())?;
    m.add("ValidationError", py.get_type::<ValidationError>())?;
    m.add("ServerError", py.get_type::<ServerError>())?;
    m.add("AuthError", py.get_type::<AuthError>())?;
    m.add("NetworkError", py.get_type::<NetworkError>())?;
    m.add("WaitTimeoutError", py.get_type::<WaitTimeoutError>())?;
    m.add("DataError", py.get_type::<DataError>())?;
    Ok(())
}

/// Sets attributes on a new exception.
fn with_attrs(err: PyErr, attrs: &[(&str, Py<PyAny>)]) -> PyErr {
    Python::attach(|py| {
        let v = err.value(py);
        for (k, x) in attrs {
            // An exception instance takes any attribute; a failure here only loses
            // the extra detail, never the error itself.
            let _ = v.setattr(*k, x.bind(py));
        }
    });
    err
}

/// A Python object of a Rust value (`None` if it cannot be made).
pub(crate) fn obj<'py, T: IntoPyObject<'py>>(py: Python<'py>, v: T) -> Py<PyAny> {
    v.into_pyobject(py)
        .map(|o| o.into_any().unbind())
        .unwrap_or_else(|_| py.None())
}

/// The Python exception of a gp-client error.
pub(crate) fn to_py(e: Error) -> PyErr {
    let msg = e.to_string();
    Python::attach(|py| match e {
        Error::Transport(t) => match t {
            gp_transport::Error::Auth { .. } | gp_transport::Error::InsecureToken { .. } => {
                AuthError::new_err(msg)
            }
            _ => NetworkError::new_err(msg),
        },
        Error::Server { code, .. } if matches!(code, 401 | 403 | 498 | 499) => {
            with_attrs(AuthError::new_err(msg), &[("code", obj(py, code))])
        }
        Error::Server { code, .. } => {
            with_attrs(ServerError::new_err(msg), &[("code", obj(py, code))])
        }
        Error::Protocol { status, .. } => {
            with_attrs(ServerError::new_err(msg), &[("code", obj(py, status))])
        }
        Error::BadDownload { .. } => ServerError::new_err(msg),
        Error::UnknownParameter { name, .. } | Error::InvalidValue { param: name, .. } => {
            with_attrs(
                ValidationError::new_err(msg),
                &[("parameter", obj(py, name))],
            )
        }
        Error::UnknownTool { .. } | Error::BadUrl { .. } | Error::Config { .. } => {
            ValidationError::new_err(msg)
        }
        Error::JobFailed {
            job_id,
            status,
            messages,
            ..
        } => {
            let list: Vec<crate::result::Message> =
                messages.iter().map(crate::result::Message::from).collect();
            let list = obj(py, list);
            with_attrs(
                ToolFailedError::new_err(msg),
                &[
                    ("messages", list),
                    ("status", obj(py, status.code())),
                    ("job_id", obj(py, job_id)),
                ],
            )
        }
        Error::WaitTimeout { job_url, .. } => with_attrs(
            WaitTimeoutError::new_err(msg),
            &[("job_url", obj(py, job_url))],
        ),
        Error::PollGaveUp { job_url, .. } => {
            with_attrs(NetworkError::new_err(msg), &[("job_url", obj(py, job_url))])
        }
        Error::AnswerLost { .. } => NetworkError::new_err(msg),
        _ => DataError::new_err(msg),
    })
}

/// A gp-features error as a Python exception.
pub(crate) fn features(e: gp_features::Error) -> PyErr {
    DataError::new_err(e.to_string())
}
