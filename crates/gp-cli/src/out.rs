//! Writing to stdout without panicking when the reader has gone (`gp … | head`).

/// `println!` that returns an error instead of panicking on a closed pipe; `main`
/// ends quietly on it, as other Unix tools do.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*).map_err(anyhow::Error::from)
    }};
}
pub(crate) use outln;

/// True when `e` comes from writing into a closed pipe.
pub(crate) fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
