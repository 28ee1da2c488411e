//! Report windows: the half-open interval `[start, end)` a report covers,
//! derived from the schedule time (UTC) or given explicitly.

use chrono::{DateTime, Datelike, Days, NaiveTime, TimeDelta, Timelike, Utc};
use std::fmt;

/// Which window a report covers: the whole hour, day or week before its schedule time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowKind {
    /// The whole hour before the schedule time's hour.
    Hour,
    /// The whole UTC day before the schedule time's day.
    Day,
    /// The ISO week (Monday 00:00 UTC to Monday 00:00 UTC) before the schedule time's week.
    Week,
}

impl WindowKind {
    pub const ALL: [WindowKind; 3] = [Self::Hour, Self::Day, Self::Week];

    pub fn name(self) -> &'static str {
        match self {
            Self::Hour => "previous_hour",
            Self::Day => "previous_day",
            Self::Week => "previous_week",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == text)
    }

    /// The window of this kind for a schedule that fired at `at`.
    pub fn before(self, at: DateTime<Utc>) -> Window {
        let midnight = |d: chrono::NaiveDate| d.and_time(NaiveTime::MIN).and_utc();
        let (start, end) = match self {
            Self::Hour => {
                let end = midnight(at.date_naive()) + TimeDelta::hours(i64::from(at.hour()));
                (end - TimeDelta::hours(1), end)
            }
            Self::Day => {
                let end = midnight(at.date_naive());
                (end - TimeDelta::days(1), end)
            }
            Self::Week => {
                let day = at.date_naive();
                let monday = day - Days::new(u64::from(day.weekday().num_days_from_monday()));
                let end = midnight(monday);
                (end - TimeDelta::days(7), end)
            }
        };
        Window { start, end }
    }
}

/// `[start, end)`, always with `start < end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("window end {end} is not after its start {start}: a report window is [start, end) with start < end")]
pub struct EmptyWindow {
    pub start: String,
    pub end: String,
}

impl Window {
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, EmptyWindow> {
        if end <= start {
            return Err(EmptyWindow {
                start: start.to_rfc3339(),
                end: end.to_rfc3339(),
            });
        }
        Ok(Self { start, end })
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}, {})",
            self.start.format("%Y-%m-%dT%H:%M:%SZ"),
            self.end.format("%Y-%m-%dT%H:%M:%SZ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn previous_day_hour_and_week() {
        let at = t("2026-03-04T06:17:42Z"); // a Wednesday
        assert_eq!(
            WindowKind::Day.before(at),
            Window {
                start: t("2026-03-03T00:00:00Z"),
                end: t("2026-03-04T00:00:00Z")
            }
        );
        assert_eq!(
            WindowKind::Hour.before(at),
            Window {
                start: t("2026-03-04T05:00:00Z"),
                end: t("2026-03-04T06:00:00Z")
            }
        );
        assert_eq!(
            WindowKind::Week.before(at),
            Window {
                start: t("2026-02-23T00:00:00Z"),
                end: t("2026-03-02T00:00:00Z")
            }
        );
    }

    #[test]
    fn boundaries_and_offsets() {
        // Exactly at midnight: the day that just ended.
        assert_eq!(
            WindowKind::Day.before(t("2026-01-01T00:00:00Z")).start,
            t("2025-12-31T00:00:00Z")
        );
        // An offset time is taken in UTC.
        assert_eq!(
            WindowKind::Day.before(t("2026-01-01T01:30:00+02:00")).end,
            t("2025-12-31T00:00:00Z")
        );
        assert_eq!(
            WindowKind::Hour.before(t("2026-01-01T00:00:00Z")).start,
            t("2025-12-31T23:00:00Z")
        );
        // Monday itself: the week before.
        assert_eq!(
            WindowKind::Week.before(t("2026-03-02T00:00:00Z")).start,
            t("2026-02-23T00:00:00Z")
        );
        // Sunday night: still the week before this one.
        assert_eq!(
            WindowKind::Week.before(t("2026-03-08T23:59:59Z")).end,
            t("2026-03-02T00:00:00Z")
        );
    }

    #[test]
    fn explicit_windows_must_not_be_empty() {
        assert!(Window::new(t("2026-01-02T00:00:00Z"), t("2026-01-01T00:00:00Z")).is_err());
        assert!(Window::new(t("2026-01-01T00:00:00Z"), t("2026-01-01T00:00:00Z")).is_err());
        let w = Window::new(t("2026-01-01T00:00:00Z"), t("2026-01-02T00:00:00Z")).unwrap();
        assert_eq!(w.to_string(), "[2026-01-01T00:00:00Z, 2026-01-02T00:00:00Z)");
        assert!(WindowKind::parse("previous_month").is_none());
    }
}
