//! Reading the link's current state from the catalogs of both clusters.

mod advice;
mod local;
mod registry;
mod remote;
mod report_roles;
mod types;

pub use local::read_local;
pub use registry::read_registry;
pub use remote::read_remote;
pub(crate) use remote::read_role;
pub use types::read_local_types;
