//! fdw-bootstrap, the `Custom::FdwLink` custom resource: properties
//! ([`properties`], pure), resolving secrets and endpoints ([`resolve`]),
//! converging or removing the link ([`converge`]), and answering CloudFormation
//! ([`custom_resource`], [`response`]).

mod converge;
pub(crate) mod custom_resource;
mod diagnostic;
pub(crate) mod properties;
mod resolve;
mod response;

pub use custom_resource::{deadline_from_epoch_ms, Answer, Bootstrap, EventNotAnswered};
pub use properties::{parse as parse_link_properties, LinkProperties, PropertyErrors};
pub use response::http_client;
