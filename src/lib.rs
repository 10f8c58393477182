//! cubeblob: a command-line tool for the ConnectyCube Storage API, and a local
//! ConnectyCube-compatible storage server to run it against.

pub mod api;
pub mod cli;
pub mod commands;
pub mod config;
pub mod crypto;
pub mod exit;
pub mod manifest;
pub mod output;
pub mod plan;
pub mod secret;
pub mod server;
pub mod transfer;
