//! The function's log, captured the way Lambda would print it: the function's
//! own logging setup (same subscriber settings), writing into a buffer that
//! [`captured_log`] and the leak watch read.

use crate::stack::Stack;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// What the function logged since the test binary read the stack.
#[derive(Clone)]
pub(crate) struct FunctionLog(Arc<Mutex<Vec<u8>>>);

impl FunctionLog {
    /// Installs the function's logging setup, at DEBUG so that even what is
    /// logged only when debugging is checked for secrets, writing here.
    /// The subscriber is process-wide: once per test binary ([`Stack::get`]).
    pub(crate) fn install() -> Self {
        let log = FunctionLog(Arc::default());
        std::env::set_var("AWS_LAMBDA_LOG_LEVEL", "debug");
        let writer = log.clone();
        fdw_bridge::logging::init_with_writer(move || writer.clone());
        log
    }

    pub(crate) fn len(&self) -> usize {
        self.bytes().len()
    }

    pub(crate) fn bytes(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        // A test that panicked while logging leaves whole lines behind: keep reading.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Write for FunctionLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes().extend_from_slice(buf);
        if std::env::var_os("FDW_TEST_SHOW_LOG").is_some() {
            std::io::stderr().write_all(buf)?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything the function logged in this test binary so far.
pub fn captured_log() -> String {
    String::from_utf8_lossy(&Stack::get().functions.log.bytes()).to_string()
}
