//! fdw-report: named cross-database reports run on a schedule.
//!
//! Pure parts: the catalog ([`catalog`], compiled in from `reports/` by
//! [`shipped`]), the report window ([`window`]), the schedule events
//! ([`event`]), the foreign scans of EXPLAIN's JSON ([`pushdown`]; the advice on
//! them is cluster A's `fdw_bridge.advise_plan`, asked by [`advice`]) and the
//! CloudWatch metric lines ([`emf`]). I/O: [`settings`] and [`targets`] (who and
//! where), [`links`] (the links a report names: `{{remote}}`, `{{remote:<name>}}`),
//! [`store`] (`fdw_reports` on the writer), [`run`] (one report on the
//! reader), [`slots`] (each link's budget on its remote cluster that invocations share) and
//! [`handler`] (one invocation).

mod advice;
mod catalog;
mod diagnostic;
mod emf;
mod event;
mod handler;
mod links;
mod over_budget;
mod pushdown;
mod run;
mod settings;
mod shipped;
mod slots;
mod store;
mod targets;
mod window;
mod writer;

pub use catalog::{is_link_name, Catalog, CatalogError, LinkRef, Report};
pub use emf::metric_line;
pub use event::{parse as parse_event, ReportEventError, ReportRequest};
pub use handler::{jobs, summary, HandleError, JobsError, ReportFunction};
pub use links::{MissingLinks, ReportLink, ReportLinks};
pub use run::{as_json_rows, params, ReportOutcome, Runner, Status};
pub use settings::{NamedLink, ReportSettings, ReportSettingsError};
pub use slots::Slots;
pub use targets::{resolve_targets, ReportTargetError, Targets};
pub use window::Window;

#[cfg(test)]
mod catalog_tests;
#[cfg(test)]
mod event_tests;
