//! placeholder, being written by the server engineer
pub async fn run(_ctx: &super::Context, _args: crate::cli::ServeArgs) -> anyhow::Result<crate::exit::Exit> {
    anyhow::bail!("not built yet")
}
