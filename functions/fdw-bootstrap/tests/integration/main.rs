//! fdw-bootstrap's integration tests, one binary (each binary links the whole
//! AWS SDK). The stack tests take a shared turn ([`fdw_bridge_testkit::Stack::shared`]);
//! the template agreement test needs no stack.

mod bad_input;
mod lifecycle;
mod template;
