//! The advice chart: for each user-written shape at one scale, three bars
//! (log ms): co-located, as written through fdw-bridge's link, and as the
//! advisor rewrote it (the shape itself when the advice has no rewrite).

use crate::output::{advice_triples, Row};
use plotters::prelude::*;
use std::path::Path;

const BARS: [(&str, RGBColor); 3] = [
    ("co-located", RGBColor(90, 90, 90)),
    ("fdw-bridge as written", RGBColor(214, 96, 40)),
    ("fdw-bridge, advised rewrite", RGBColor(31, 119, 180)),
];

/// Draws the chart when `network` has shapes at `users`; false when it has none.
pub fn draw(rows: &[Row], users: u64, network: &str, path: &Path) -> Result<bool, Box<dyn std::error::Error>> {
    let triples = advice_triples(rows, users, network);
    if triples.is_empty() {
        return Ok(false);
    }
    let orders = triples[0].1.orders;
    let values: Vec<[f64; 3]> = triples
        .iter()
        .map(|(_, c, w, a)| {
            [c.sample.median_ms, w.sample.median_ms, a.unwrap_or(w).sample.median_ms].map(|v| v.max(0.05))
        })
        .collect();
    let lo = values.iter().flatten().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().flatten().copied().fold(0.0, f64::max);
    let n = triples.len();
    let root = BitMapBackend::new(path, (1400, 120 + 60 * n as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let names: Vec<String> = triples.iter().map(|t| t.0.to_string()).collect();
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("user-written shapes, {users} users x {orders} orders, {network}: median ms (log), advice applied"),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(260)
        .build_cartesian_2d((lo / 1.5..hi * 2.0).log_scale(), 0.0..n as f64)?;
    chart
        .configure_mesh()
        .x_desc("median ms")
        .y_labels(n * 2 + 1)
        .y_label_formatter(&|y| {
            let i = y - 0.5;
            if (i - i.round()).abs() < 1e-6 && i >= 0.0 {
                names.get(n - 1 - i.round() as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .label_style(("sans-serif", 13))
        .disable_y_mesh()
        .draw()?;
    for (k, (label, color)) in BARS.iter().enumerate() {
        let color = *color;
        chart
            .draw_series(values.iter().enumerate().map(|(i, v)| {
                // The first shape on top.
                let top = (n - i) as f64 - 0.12 - 0.26 * k as f64;
                Rectangle::new([(lo / 1.5, top - 0.22), (v[k], top)], color.filled())
            }))?
            .label(*label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font(("sans-serif", 13))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(true)
}
