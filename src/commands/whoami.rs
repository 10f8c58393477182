//! placeholder, being written
pub async fn run(_ctx: &super::Context) -> anyhow::Result<crate::exit::Exit> {
    anyhow::bail!("not built yet")
}
