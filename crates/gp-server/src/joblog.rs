//! Messages and progress of a running job, written by the tool and read by status
//! requests.

use std::sync::Mutex;

use gp_model::{JobMessage, MessageType, Progress};

/// Messages and progress of one job, shared with the running tool.
#[derive(Debug, Default)]
pub(crate) struct JobLog {
    inner: Mutex<LogInner>,
}

#[derive(Debug, Default)]
struct LogInner {
    messages: Vec<JobMessage>,
    progress: Option<Progress>,
}

impl JobLog {
    fn lock(&self) -> std::sync::MutexGuard<'_, LogInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, t: MessageType, text: String) {
        self.lock().messages.push(JobMessage::new(t, text));
    }

    /// Adds an informative message.
    pub(crate) fn info(&self, text: String) {
        self.push(MessageType::Informative, text)
    }

    /// Adds a warning.
    pub(crate) fn warn(&self, text: String) {
        self.push(MessageType::Warning, text)
    }

    /// Adds an error message.
    pub(crate) fn error(&self, text: String) {
        self.push(MessageType::Error, text)
    }

    /// Sets the progress shown while executing.
    pub(crate) fn set_progress(&self, percent: Option<f64>, message: String) {
        self.lock().progress = Some(Progress {
            progress_type: if percent.is_some() { "step" } else { "default" }.to_string(),
            message,
            percent: percent.map(|p| (p * 10.0).round() / 10.0),
        });
    }

    /// The messages so far.
    pub(crate) fn messages(&self) -> Vec<JobMessage> {
        self.lock().messages.clone()
    }

    /// The current progress.
    pub(crate) fn progress(&self) -> Option<Progress> {
        self.lock().progress.clone()
    }

    pub(crate) fn clear_progress(&self) {
        self.lock().progress = None;
    }
}
