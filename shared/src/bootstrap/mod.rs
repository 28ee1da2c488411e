//! fdw-bootstrap, the `Custom::FdwLink` custom resource: properties
//! ([`properties`], pure), resolving secrets and endpoints ([`resolve`]),
//! converging or removing the link ([`converge`]), and answering CloudFormation
//! ([`custom_resource`], [`response`]).

pub mod converge;
pub mod custom_resource;
pub mod properties;
pub mod resolve;
pub mod response;
