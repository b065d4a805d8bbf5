//! `EchoTypes`: every input `In_<Type>` comes back as the output `Out_<Type>`;
//! `Echo` (the process OGC's conformance suite runs): `<x>Input` as `<x>Output`.

use super::{Inputs, Output, ToolCtx, ToolError};

/// Echoes the inputs.
pub(crate) fn run(inputs: Inputs, ctx: &ToolCtx) -> Result<Vec<(String, Output)>, ToolError> {
    ctx.check()?;
    let out: Vec<(String, Output)> = inputs
        .into_iter()
        .filter_map(|(name, v)| {
            let out = match (name.strip_prefix("In_"), name.strip_suffix("Input")) {
                (Some(t), _) => format!("Out_{t}"),
                (None, Some(t)) => format!("{t}Output"),
                (None, None) => return None,
            };
            Some((out, Output::Value(Box::new(v))))
        })
        .collect();
    ctx.info(format!("Echoed {} value(s).", out.len()));
    Ok(out)
}
