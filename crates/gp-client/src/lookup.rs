//! One parameter lookup for inputs, outputs and results: by position among the
//! parameters asked for, or by name (exact, case-insensitive, or the snake_case
//! alias), with did-you-mean on a miss.

use gp_model::ParameterInfo;

use gp_model::did_you_mean as closest;

use crate::error::Error;
use crate::toolbox::{ParamRef, Tool, snake_case};

/// Which parameters a lookup is among (positions count within them, as arcpy counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Among {
    /// Every parameter, inputs and outputs in order (`GetParameterValue`, `Params`).
    All,
    /// Inputs only (`getInput`).
    Inputs,
    /// Outputs only (`getOutput`).
    Outputs,
}

/// Finds parameter `p` of `tool` among `among`.
pub(crate) fn find<'a>(
    tool: &'a Tool,
    among: Among,
    p: &ParamRef,
) -> Result<&'a ParameterInfo, Error> {
    let set: Vec<&ParameterInfo> = tool
        .info
        .parameters
        .iter()
        .filter(|x| match among {
            Among::All => true,
            Among::Inputs => x.is_input(),
            Among::Outputs => !x.is_input(),
        })
        .collect();
    let found = match p {
        ParamRef::Index(i) => set.get(*i).copied(),
        ParamRef::Name(n) => {
            let alias = snake_case(n);
            set.iter()
                .find(|x| x.name.as_str() == n)
                .or_else(|| set.iter().find(|x| x.name.as_str().eq_ignore_ascii_case(n)))
                .or_else(|| set.iter().find(|x| snake_case(x.name.as_str()) == alias))
                .copied()
        }
    };
    found.ok_or_else(|| {
        let kind = match among {
            Among::All => "",
            Among::Inputs => "input ",
            Among::Outputs => "output ",
        };
        let (name, did_you_mean) = match p {
            ParamRef::Index(i) => (format!("{kind}#{i} (it has {})", set.len()), None),
            ParamRef::Name(n) => (n.clone(), closest(n, set.iter().map(|x| x.name.as_str()))),
        };
        Error::UnknownParameter {
            tool: tool.name().to_string(),
            name,
            did_you_mean,
        }
    })
}
