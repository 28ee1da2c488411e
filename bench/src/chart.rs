//! The chart: one panel per query, median time against scale (orders on B,
//! log-log), one line per way.

use crate::output::Row;
use plotters::prelude::*;
use std::path::Path;

/// DejaVu Sans from Debian's fonts-dejavu-core (`make bench` installs it if missing).
const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

const COLORS: [RGBColor; 3] = [RGBColor(90, 90, 90), RGBColor(214, 96, 40), RGBColor(31, 119, 180)];

pub fn draw(rows: &[Row], network: &str, path: &Path, title: &str) -> Result<(), Box<dyn std::error::Error>> {
    let font = std::fs::read(FONT).map_err(|e| format!("{FONT}: {e} (apt-get install fonts-dejavu-core)"))?;
    let font: &'static [u8] = Box::leak(font.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, font)
        .map_err(|_| "the chart font does not load")?;
    let rows: Vec<&Row> = rows.iter().filter(|r| r.network == network).collect();
    let mut cases: Vec<String> = Vec::new();
    for r in &rows {
        if !cases.contains(&r.sample.case) {
            cases.push(r.sample.case.clone());
        }
    }
    let cols = 4usize;
    let panels_down = cases.len().div_ceil(cols).max(1);
    let (width, height) = (1600u32, 60 + 330 * panels_down as u32);
    let root = BitMapBackend::new(path, (width, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let (header, body) = root.split_vertically(60);
    header.draw(&Text::new(title.to_string(), (20, 18), ("sans-serif", 22).into_font()))?;
    let panels = body.split_evenly((panels_down, cols));
    for (panel, case) in panels.iter().zip(&cases) {
        let of_case: Vec<&&Row> = rows.iter().filter(|r| &r.sample.case == case).collect();
        let xs: Vec<f64> = of_case.iter().map(|r| r.orders as f64).collect();
        let ys: Vec<f64> = of_case.iter().map(|r| r.sample.median_ms.max(0.01)).collect();
        let (x0, x1) = bounds(&xs);
        let (y0, y1) = bounds(&ys);
        let mut chart = ChartBuilder::on(panel)
            .caption(case, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(32)
            .y_label_area_size(52)
            .build_cartesian_2d(
                (x0 / 1.5..x1 * 1.5).log_scale(),
                (y0 / 1.5..y1 * 1.5).log_scale().base(2.0),
            )?;
        chart
            .configure_mesh()
            .x_desc("orders on B")
            .y_desc("median ms")
            .x_label_formatter(&|x| short(*x))
            .y_labels(8)
            .y_label_formatter(&|y| {
                if *y >= 10.0 {
                    format!("{y:.0}")
                } else {
                    format!("{y:.1}")
                }
            })
            .label_style(("sans-serif", 11))
            .draw()?;
        for (k, way) in crate::ways::WAYS.iter().enumerate() {
            let mut points: Vec<(f64, f64)> = of_case
                .iter()
                .filter(|r| r.sample.way == *way)
                .map(|r| (r.orders as f64, r.sample.median_ms.max(0.01)))
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            let color = COLORS[k];
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
                .label(*way)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
            chart.draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled())))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(("sans-serif", 11))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

fn bounds(v: &[f64]) -> (f64, f64) {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(0.0, f64::max);
    if lo.is_finite() && hi > 0.0 {
        (lo, hi)
    } else {
        (1.0, 10.0)
    }
}

/// Powers of ten only: the log axis puts a mesh line at every step between them.
fn short(x: f64) -> String {
    let exponent = x.log10();
    if (exponent - exponent.round()).abs() > 1e-6 {
        String::new()
    } else if x >= 1e6 {
        format!("{}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{}k", x / 1e3)
    } else {
        format!("{x}")
    }
}
