//! The AWS emulator of the stack (moto's server: Secrets Manager, RDS), through
//! the real SDK. Its methods are in `secrets` and `rotation`.

use crate::env::Env;
use std::sync::{Arc, OnceLock};

/// moto: `stack.aws`.
pub struct Aws {
    pub(crate) env: Arc<Env>,
    /// moto's stand-in rotation Lambda, made once per binary ([`Aws::rotation_lambda_arn`]).
    pub(crate) rotation_lambda_arn: OnceLock<String>,
}
