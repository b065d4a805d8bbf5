//! One parameter lookup for inputs, outputs and results: by position among the
//! parameters asked for, or by name (exact, case-insensitive, or the snake_case
//! alias), with did-you-mean on a miss. Also the choice-list match with did-you-mean.

use gp_model::ParameterInfo;

use crate::error::{Error, closest};
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

/// The choice `s` stands for (case-insensitive), or why not, with did-you-mean.
pub(crate) fn choice<'a>(choices: &'a [String], s: &str) -> Result<&'a String, String> {
    choices
        .iter()
        .find(|c| c.as_str() == s)
        .or_else(|| choices.iter().find(|c| c.eq_ignore_ascii_case(s)))
        .ok_or_else(|| {
            let hint = closest(s, choices.iter().map(String::as_str))
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            format!("`{s}` is not one of {}{hint}", choices.join(", "))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_with_did_you_mean() {
        let c = vec!["NONE".to_string(), "ALL".to_string(), "LIST".to_string()];
        assert_eq!(choice(&c, "all").unwrap(), "ALL");
        let e = choice(&c, "NOEN").unwrap_err();
        assert!(e.contains("did you mean `NONE`"), "{e}");
        let e = choice(&c, "everything").unwrap_err();
        assert!(!e.contains("did you mean"), "{e}");
    }
}
