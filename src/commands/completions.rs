//! placeholder, being written
pub fn run(_args: crate::cli::CompletionsArgs) -> anyhow::Result<crate::exit::Exit> {
    anyhow::bail!("not built yet")
}
