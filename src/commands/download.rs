//! placeholder, being written
pub async fn run(_ctx: &super::Context, _args: crate::cli::DownloadArgs) -> anyhow::Result<crate::exit::Exit> {
    anyhow::bail!("not built yet")
}
