//! fdw-report's integration tests, one binary (each binary links the whole AWS
//! SDK). Tests run on parallel threads: ordinary ones take a shared turn on the
//! stack, remote_down (it stops cluster B) an exclusive one.

mod common;
mod remote_down;
mod reports;
