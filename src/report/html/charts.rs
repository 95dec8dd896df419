//! Line charts as inline SVG, written by hand: the report must open offline, without scripts,
//! fonts or a plotting library's runtime. One chart = axes, grid, one polyline per series with
//! a dot (and a hover title) per point, and an HTML legend under it.

use std::fmt::Write;

use super::escape::escape;

/// Tier lines. Fixed hex colours (no opacity) so a screenshot can find each line's pixels.
pub const TIER_COLORS: [&str; 8] = [
    "#1f6feb", "#e8710a", "#1a7f37", "#8250df", "#0e9aa7", "#d6337c", "#8c564b", "#7f8c1d",
];

/// Duration lines: a palette disjoint from the tiers', so each chart can be checked alone.
pub const DURATION_COLORS: [&str; 5] = ["#c2255c", "#0b7285", "#b8860b", "#5c7cfa", "#2f9e44"];

/// The plot's background, distinct from the page's, so a screenshot can find the plot area.
pub const PLOT_BACKGROUND: &str = "#f3f6fa";

const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 40.0;
/// Keeps the first and last points (and their dots) off the plot's edges.
const INSET: f64 = 14.0;
/// At most this many run labels under the x axis; more would overlap.
const MAX_X_LABELS: usize = 15;

pub struct Series {
    pub label: String,
    pub color: &'static str,
    /// (x index into the chart's labels, value), in x order.
    pub points: Vec<(usize, f64)>,
    /// The value as a hover title shows it.
    pub format: fn(f64) -> String,
}

pub struct LineChart<'a> {
    /// Accessible name of the chart (the `aria-label`).
    pub title: &'a str,
    /// One label per x position (run ids), oldest first.
    pub x_labels: &'a [String],
    /// The top of the y axis; the bottom is 0.
    pub y_max: f64,
    /// Gridlines: (value, label).
    pub y_ticks: Vec<(f64, String)>,
    pub series: Vec<Series>,
    /// An x position to mark with a dashed line (the run the report is about).
    pub marker: Option<usize>,
}

impl LineChart<'_> {
    /// The SVG and its legend.
    pub fn render(&self) -> String {
        let mut svg = format!(
            r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{}">"#,
            escape(self.title)
        );
        svg += &format!(
            r#"<rect x="{LEFT}" y="{TOP}" width="{}" height="{}" fill="{PLOT_BACKGROUND}"/>"#,
            WIDTH - LEFT - RIGHT,
            HEIGHT - TOP - BOTTOM
        );
        svg += &self.grid();
        svg += &self.x_axis();
        svg += &self.marker_line();
        for series in &self.series {
            svg += &self.line(series);
        }
        svg += "</svg>";
        format!("{svg}\n{}", self.legend())
    }

    fn x(&self, index: usize) -> f64 {
        let (left, right) = (LEFT + INSET, WIDTH - RIGHT - INSET);
        match self.x_labels.len() {
            0 | 1 => (left + right) / 2.0,
            n => left + (right - left) * index as f64 / (n - 1) as f64,
        }
    }

    fn y(&self, value: f64) -> f64 {
        let share = if self.y_max > 0.0 {
            (value / self.y_max).clamp(0.0, 1.0)
        } else {
            0.0
        };
        HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * share
    }

    /// Horizontal gridlines with their labels left of the plot.
    fn grid(&self) -> String {
        let mut out = String::new();
        for (value, label) in &self.y_ticks {
            let y = round(self.y(*value));
            let _ = write!(
                out,
                r##"<line x1="{LEFT}" y1="{y}" x2="{}" y2="{y}" stroke="#d5dce5" stroke-width="1"/><text x="{}" y="{}" text-anchor="end" class="tick">{}</text>"##,
                WIDTH - RIGHT,
                LEFT - 8.0,
                round(y + 4.0),
                escape(label)
            );
        }
        out
    }

    /// The baseline and run labels, thinned so they never overlap; the newest is always shown.
    fn x_axis(&self) -> String {
        let base = HEIGHT - BOTTOM;
        let mut out = format!(
            r##"<line x1="{LEFT}" y1="{base}" x2="{}" y2="{base}" stroke="#8a94a3" stroke-width="1"/>"##,
            WIDTH - RIGHT
        );
        let n = self.x_labels.len();
        let step = n.div_ceil(MAX_X_LABELS).max(1);
        for (i, label) in self.x_labels.iter().enumerate() {
            if i % step != 0 && i + 1 != n {
                continue;
            }
            let _ = write!(
                out,
                r#"<text x="{}" y="{}" text-anchor="middle" class="tick">{}</text>"#,
                round(self.x(i)),
                base + 18.0,
                escape(label)
            );
        }
        let _ = write!(
            out,
            r#"<text x="{}" y="{}" text-anchor="middle" class="axis-title">run</text>"#,
            round((LEFT + WIDTH - RIGHT) / 2.0),
            HEIGHT - 4.0
        );
        out
    }

    fn marker_line(&self) -> String {
        let Some(index) = self.marker else {
            return String::new();
        };
        let x = round(self.x(index));
        format!(
            r##"<line x1="{x}" y1="{TOP}" x2="{x}" y2="{}" stroke="#57606a" stroke-width="1" stroke-dasharray="4 4"><title>this report's run</title></line>"##,
            HEIGHT - BOTTOM
        )
    }

    /// One series: a polyline through its points and a dot per point; a series with a single
    /// point is just the dot.
    fn line(&self, series: &Series) -> String {
        let coords: Vec<(f64, f64)> = series
            .points
            .iter()
            .map(|&(i, v)| (round(self.x(i)), round(self.y(v))))
            .collect();
        let mut out = String::new();
        if coords.len() > 1 {
            let path: Vec<String> = coords.iter().map(|(x, y)| format!("{x},{y}")).collect();
            let _ = write!(
                out,
                r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2.5" stroke-linejoin="round" stroke-linecap="round"/>"#,
                path.join(" "),
                series.color
            );
        }
        for (&(i, value), (x, y)) in series.points.iter().zip(&coords) {
            let title = format!(
                "{} · {}: {}",
                series.label,
                self.x_labels.get(i).map_or("", String::as_str),
                (series.format)(value)
            );
            let _ = write!(
                out,
                r#"<circle cx="{x}" cy="{y}" r="3.5" fill="{}"><title>{}</title></circle>"#,
                series.color,
                escape(&title)
            );
        }
        out
    }

    fn legend(&self) -> String {
        let items: String = self
            .series
            .iter()
            .map(|s| {
                format!(
                    r#"<li><span class="swatch" style="background:{}"></span>{}</li>"#,
                    s.color,
                    escape(&s.label)
                )
            })
            .collect();
        format!(r#"<ul class="legend">{items}</ul>"#)
    }
}

/// Two decimals are plenty for pixels and keep the SVG (and snapshots) short.
fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// 0–100 % in quarters.
pub fn percent_ticks() -> Vec<(f64, String)> {
    (0..=4)
        .map(|i| (i as f64 / 4.0, format!("{}%", i * 25)))
        .collect()
}

/// A "nice" axis top (1, 2 or 5 × 10ⁿ steps, four or five of them) for durations in
/// seconds, and its gridlines labelled in s or ms.
pub fn duration_axis(max_seconds: f64) -> (f64, Vec<(f64, String)>) {
    let max = if max_seconds > 0.0 { max_seconds } else { 1.0 };
    let rough = max / 4.0;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| s * 4.0 >= max)
        .unwrap_or(10.0 * magnitude);
    let top = (max / step).ceil() * step;
    let ticks = (0..)
        .map(|i| i as f64 * step)
        .take_while(|v| *v <= top + step / 2.0)
        .map(|v| (v, duration_label(v, top)))
        .collect();
    (top, ticks)
}

/// Seconds on an axis whose top is `top`: whole units where they suffice.
fn duration_label(seconds: f64, top: f64) -> String {
    let (value, unit) = if top >= 1.0 {
        (seconds, "s")
    } else {
        (seconds * 1e3, "ms")
    };
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_axes_are_round() {
        let (top, ticks) = duration_axis(2.3);
        assert_eq!(top, 3.0);
        let labels: Vec<&str> = ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["0 s", "1 s", "2 s", "3 s"]);
        let (_, ticks) = duration_axis(0.042);
        let labels: Vec<&str> = ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["0 ms", "20 ms", "40 ms", "60 ms"]);
        assert_eq!(duration_axis(0.0).0, 1.0);
    }

    #[test]
    fn a_chart_has_a_line_and_dots_per_series_and_escapes_labels() {
        let labels = vec!["#1".to_string(), "#2".to_string()];
        let chart = LineChart {
            title: "t",
            x_labels: &labels,
            y_max: 1.0,
            y_ticks: percent_ticks(),
            series: vec![Series {
                label: "<b>&".into(),
                color: TIER_COLORS[0],
                points: vec![(0, 0.5), (1, 1.0)],
                format: |v| format!("{v}"),
            }],
            marker: None,
        };
        let svg = chart.render();
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(
            svg.contains("&lt;b&gt;&amp;") && !svg.contains("<b>"),
            "{svg}"
        );
    }
}
