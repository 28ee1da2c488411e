//! The FDW link: one desired state ([`spec::LinkSpec`]), the state read back from
//! the catalogs of both clusters ([`state`], read by [`inspect`]), a pure planner
//! that turns the difference into SQL ([`plan`]), and ANALYZE of the foreign
//! tables ([`analyze`]), what the remote cluster can hold now ([`budget`]), and finding the CA file that verifies the remote
//! cluster when none is given ([`remote_ca`]). Changes are applied with [`fdw_bridge_pg`]'s transaction helper.

pub mod analyze;
pub mod budget;
pub mod inspect;
mod inspect_types;
pub mod plan;
pub mod registry;
pub mod remote_ca;
pub mod spec;
pub mod state;

/// Comment put on every object fdw-bridge creates, so that removal touches
/// only those and never an object someone made by hand.
pub const MANAGED_MARKER: &str = "managed by fdw-bridge";

/// Is this object comment one of ours?
pub fn is_managed(comment: Option<&str>) -> bool {
    comment.is_some_and(|c| c.starts_with(MANAGED_MARKER))
}
