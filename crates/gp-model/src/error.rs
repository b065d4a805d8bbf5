//! The crate's one public error type.

/// Everything that can go wrong while decoding or validating GP data.
///
/// Each variant carries enough context to tell the user what was wrong and where:
/// the JSON path of a decoding failure, the offending text of a unit string, the
/// coordinate that breaks the hasZ/hasM rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A JSON document did not match the expected shape.
    #[error("invalid {what} JSON at `{path}`: {message}")]
    Json {
        /// What was being decoded (for example `feature set`, `task metadata`).
        what: &'static str,
        /// The JSON path of the failure (`features[3].geometry.rings[0][2]`), `.` for the root.
        path: String,
        /// The parser's message, with line and column where known.
        message: String,
    },
    /// A linear, areal or time unit string could not be parsed.
    #[error("invalid {kind} `{input}`: {reason}; accepted units: {accepted}")]
    Unit {
        /// `linear unit`, `areal unit` or `time unit`.
        kind: &'static str,
        /// The text that was given.
        input: String,
        /// Why it was refused.
        reason: String,
        /// The list of accepted unit names.
        accepted: String,
    },
    /// A value could not be interpreted as the given GP data type.
    #[error("invalid value for data type {data_type}: {reason}")]
    Value {
        /// The GP data type the value was read as.
        data_type: String,
        /// Why it was refused.
        reason: String,
    },
    /// A geometry broke a structural rule (coordinate count, non-finite number, ...).
    #[error("invalid geometry at `{path}`: {reason}")]
    Geometry {
        /// Where in the document (or geometry) the problem is.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A closed vocabulary value (data type, status code) was out of range.
    #[error("invalid {what} `{input}`: {reason}")]
    Vocabulary {
        /// The vocabulary (`job status code`, `data type`, ...).
        what: &'static str,
        /// The text or number that was given.
        input: String,
        /// Why it was refused.
        reason: String,
    },
    /// A geozero processor reported an error while a feature set was streamed through it.
    #[error("geozero processing failed: {message}")]
    Geozero {
        /// The processor's message.
        message: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<geozero::error::GeozeroError> for Error {
    fn from(e: geozero::error::GeozeroError) -> Self {
        Error::Geozero {
            message: e.to_string(),
        }
    }
}
