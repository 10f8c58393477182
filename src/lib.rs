//! cubeblob: a command-line tool for the ConnectyCube Storage API, and a local
//! ConnectyCube-compatible storage server to run it against.

pub mod api;
pub mod cli;
pub mod commands;
pub mod config;
pub mod crypto;
pub mod exit;
pub mod filter;
/// Entry points for the fuzz targets in `fuzz/` and the corpus test: not an API.
#[doc(hidden)]
pub mod fuzzing;
pub mod manifest;
pub mod output;
pub mod plan;
pub mod secret;
pub mod server;
pub mod transfer;
