//! `aoai doctor`'s flags: the connection flags every headless command takes, the deployment
//! to check and `--json`.

use clap::Args;

use super::ConnArgs;
use crate::engine::doctor::DoctorOptions;

#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Deployment to check. Default: the profile's (gpt-4o on the simulator).
    #[arg(long, short = 'd', env = "AZURE_OPENAI_DEPLOYMENT")]
    pub deployment: Option<String>,
    /// One JSON object on stdout (the steps with name, status, detail and fix) instead of
    /// the checklist.
    #[arg(long)]
    pub json: bool,
}

impl DoctorArgs {
    /// The engine's options these flags stand for.
    pub fn options(&self) -> DoctorOptions {
        DoctorOptions {
            conn: self.conn.options(),
            deployment: self.deployment.clone(),
        }
    }
}
