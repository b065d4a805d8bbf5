//! `EchoTypes`: every input `In_<Type>` comes back as the output `Out_<Type>`.

use super::{Inputs, Output, ToolCtx, ToolError};

/// Echoes the inputs.
pub(crate) fn run(inputs: Inputs, ctx: &ToolCtx) -> Result<Vec<(String, Output)>, ToolError> {
    ctx.check()?;
    let out: Vec<(String, Output)> = inputs
        .into_iter()
        .filter_map(|(name, v)| {
            name.strip_prefix("In_")
                .map(|t| (format!("Out_{t}"), Output::Value(Box::new(v))))
        })
        .collect();
    ctx.info(format!("Echoed {} value(s).", out.len()));
    Ok(out)
}
