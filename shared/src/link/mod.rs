//! The FDW link: one desired state ([`spec::LinkSpec`]), the state read back from
//! the catalogs of both clusters ([`state`]), a pure planner that turns the
//! difference into SQL ([`plan`]), and the I/O that reads and applies ([`catalog`], [`apply`]).

pub mod apply;
pub mod catalog;
pub mod plan;
pub mod spec;
pub mod state;

/// Comment put on every object fdw-bridge creates, so that removal touches
/// only those and never an object someone made by hand.
pub const MANAGED_MARKER: &str = "managed by fdw-bridge";

/// Is this object comment one of ours?
pub fn is_managed(comment: Option<&str>) -> bool {
    comment.is_some_and(|c| c.starts_with(MANAGED_MARKER))
}

/// The base FDW role of a login name: rotation's alternating users log in as
/// the base role or its clone (`<base>_clone`), and the secret names whichever
/// is current.
pub fn base_role_name(user: &str) -> &str {
    match user.strip_suffix("_clone") {
        Some(base) if !base.is_empty() => base,
        _ => user,
    }
}

/// The clone used by alternating-user rotation (PostgreSQL names hold 63 bytes).
pub fn clone_role_name(role: &str) -> String {
    const SUFFIX: &str = "_clone";
    let mut base = role.to_string();
    while base.len() + SUFFIX.len() > 63 {
        base.pop();
    }
    base + SUFFIX
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_name_fits_in_63_bytes() {
        assert_eq!(clone_role_name("fdw_orders"), "fdw_orders_clone");
        let long = "é".repeat(40);
        let clone = clone_role_name(&long);
        assert!(clone.len() <= 63 && clone.ends_with("_clone"));
    }
}
