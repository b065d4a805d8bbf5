//! `Wait` and `Fail`: tools for testing clients (progress, cancel, failure).

use std::time::{Duration, Instant};

use gp_model::GpValue;

use super::{BadParam, Inputs, Output, ToolCtx, ToolError, buffer::kind_name, required};

/// Longest wait accepted (one day).
const MAX_WAIT: f64 = 86_400.0;

/// Checks `Seconds`.
pub(crate) fn prepare_wait(inputs: &Inputs) -> Result<f64, BadParam> {
    let s = match required(inputs, "Seconds")? {
        GpValue::Double(s) => *s,
        GpValue::Long(s) => *s as f64,
        other => {
            return Err(BadParam::new(
                "Seconds",
                format!("expected a number, got {}", kind_name(other)),
            ));
        }
    };
    if !(0.0..=MAX_WAIT).contains(&s) {
        return Err(BadParam::new(
            "Seconds",
            format!("must be between 0 and {MAX_WAIT}, got {s}"),
        ));
    }
    Ok(s)
}

/// Waits, reporting progress, stopping within 50 ms of a cancel.
pub(crate) fn run_wait(seconds: f64, ctx: &ToolCtx) -> Result<Vec<(String, Output)>, ToolError> {
    let start = Instant::now();
    let total = Duration::from_secs_f64(seconds);
    ctx.info(format!("Waiting {seconds} seconds."));
    loop {
        ctx.check()?;
        let elapsed = start.elapsed();
        if elapsed >= total {
            break;
        }
        let pct = if seconds > 0.0 {
            100.0 * elapsed.as_secs_f64() / seconds
        } else {
            100.0
        };
        ctx.progress(
            Some(pct.min(100.0)),
            format!("Waited {:.1} of {seconds} s", elapsed.as_secs_f64()),
        );
        std::thread::sleep((total - elapsed).min(Duration::from_millis(50)));
    }
    let elapsed = start.elapsed().as_secs_f64();
    Ok(vec![(
        "Elapsed".to_string(),
        Output::Value(Box::new(GpValue::Double(elapsed))),
    )])
}

/// Always fails, with an error message.
pub(crate) fn run_fail(ctx: &ToolCtx) -> Result<Vec<(String, Output)>, ToolError> {
    ctx.info("This tool always fails; it exists to test how clients report failures.");
    Err(ToolError::Failed(
        "ERROR 999999: The Fail tool failed on purpose.".to_string(),
    ))
}
