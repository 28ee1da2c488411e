//! The function runner: a function's own binary run as Lambda runs it
//! (`lambda_process`), and the function's log captured in this process (`function_log`).

use crate::env::Env;
use crate::function_log::FunctionLog;
use std::sync::Arc;

/// The function runner: `stack.functions`.
pub struct Functions {
    pub(crate) env: Arc<Env>,
    /// The function's log; the tracing subscriber it is installed in is process-wide.
    pub(crate) log: FunctionLog,
}
