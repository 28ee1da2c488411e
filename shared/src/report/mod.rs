//! fdw-report: named cross-database reports run on a schedule.
//!
//! Pure parts: the catalog ([`catalog`], compiled in from `reports/` by
//! [`shipped`]), the report window ([`window`]), the schedule events
//! ([`event`]), the pushdown check over EXPLAIN's JSON ([`pushdown`]) and the
//! CloudWatch metric lines ([`emf`]). I/O: [`settings`] and [`resolve`] (who and
//! where), [`store`] (`fdw_reports` on the writer), [`run`] (one report on the
//! reader) and [`handler`] (one invocation).

pub mod catalog;
pub mod emf;
pub mod event;
pub mod handler;
pub mod pushdown;
pub mod resolve;
pub mod run;
pub mod settings;
pub mod shipped;
pub mod store;
pub mod window;

#[cfg(test)]
mod catalog_tests;
#[cfg(test)]
mod event_tests;
