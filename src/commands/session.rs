//! placeholder, being written
pub struct Context {
    pub settings: super::Settings,
}
impl Context {
    pub fn new(settings: super::Settings) -> Context {
        Context { settings }
    }
    pub async fn close(&self) {}
}
