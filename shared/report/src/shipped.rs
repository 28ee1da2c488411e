//! The report catalog shipped in `reports/`, compiled into the binary so the
//! function needs no files. A unit test checks that this list and the
//! directory hold the same files.

/// (file name, text) of every report in `reports/`.
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "enterprise_without_paid_order.sql",
        include_str!("../../../reports/enterprise_without_paid_order.sql"),
    ),
    (
        "orders_and_payments_by_country.sql",
        include_str!("../../../reports/orders_and_payments_by_country.sql"),
    ),
    (
        "revenue_by_country_segment.sql",
        include_str!("../../../reports/revenue_by_country_segment.sql"),
    ),
    (
        "status_funnel_by_cohort.sql",
        include_str!("../../../reports/status_funnel_by_cohort.sql"),
    ),
    (
        "top_customers_by_spend.sql",
        include_str!("../../../reports/top_customers_by_spend.sql"),
    ),
];
