//! fdw-bootstrap, the `Custom::FdwLink` custom resource: properties
//! ([`properties`], pure), resolving secrets and endpoints ([`resolve`]),
//! converging or removing the link ([`converge`]), answering CloudFormation
//! ([`custom_resource`], [`response`]), and refreshing the links stored on a
//! local cluster without CloudFormation ([`refresh_event`], pure, and [`refresh`],
//! which first re-derives each link's budget on the remote cluster: [`budget`]).
//! [`invocation`] tells the kinds of event apart; [`replica_cleanup`] answers
//! `Custom::AuroraReplicaCleanup` (the auto-scaled readers of a cluster, on Delete).
//! A link that reads the remote cluster's readers waits for them after its
//! changes ([`replica_wait`]).

mod budget;
mod converge;
mod custom_resource;
mod diagnostic;
mod invocation;
mod prerequisites;
mod properties;
mod refresh;
mod refresh_event;
mod replica_cleanup;
mod replica_wait;
mod resolve;
mod response;

pub use custom_resource::{Answer, Bootstrap, EventNotAnswered, Request};
pub use invocation::InvocationFailed;
pub use properties::{every_property_name, parse as parse_link_properties, LinkProperties, PropertyErrors, ReadFrom};
pub use refresh::{refresh_metric_line, LinkRefresh, RefreshError, RefreshOutcome};
pub use refresh_event::{refresh_request, RefreshRequest};
pub use replica_cleanup::cluster_of as parse_replica_cleanup_properties;
pub use response::http_client;
