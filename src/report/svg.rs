//! Small inline SVG charts for the server-rendered QA pages: no script, no external assets.
//!
//! Labels come from tenants' data (service groups, reason codes, proposer names), so every piece
//! of text is XML-escaped before it reaches the markup. Numbers are checked before they become
//! coordinates: a NaN or infinity in an attribute makes the browser drop the shape silently, and
//! a negative width is an error, so bad values are clamped or their marks skipped. Shapes carry
//! `tg-*` class names for styling, and presentation attributes (which any stylesheet rule
//! overrides) so the charts read well without one.

use std::fmt::Write as _;

use super::agreement::CalibrationBin;

/// Bar chart width in pixels; fits a card column in the QA page.
const BAR_WIDTH: f64 = 480.0;
/// Right edge of the label column; labels are right-aligned against it.
const LABEL_RIGHT: f64 = 144.0;
/// Where bars start.
const BAR_LEFT: f64 = 150.0;
/// Longest bar, leaving room after it for the value text.
const BAR_SPAN: f64 = 260.0;
const TITLE_HEIGHT: f64 = 30.0;
const ROW_HEIGHT: f64 = 22.0;
const BAR_THICKNESS: f64 = 16.0;
const BOTTOM_PAD: f64 = 8.0;
/// Labels longer than this are cut with an ellipsis; the full text stays in the row's tooltip.
const MAX_LABEL_CHARS: usize = 22;

/// Reliability diagram size and plot area.
const REL_WIDTH: f64 = 360.0;
const REL_HEIGHT: f64 = 384.0;
const PLOT_LEFT: f64 = 52.0;
const PLOT_TOP: f64 = 56.0;
const PLOT_SIZE: f64 = 280.0;

const FONT: &str = r#"font-family="system-ui, -apple-system, 'Segoe UI', sans-serif""#;
const TEXT_FILL: &str = "#222";
const MUTED_FILL: &str = "#555";
const BAR_FILL: &str = "#4a7bd0";
const BIN_FILL: &str = "#a9c1ea";
const POINT_FILL: &str = "#1f4e9c";
const AXIS_STROKE: &str = "#888";

/// Horizontal bars, one per `(label, value)`, scaled so `max` fills the bar area. Values are
/// printed after each bar with `unit` appended verbatim (pass `" tickets"` for a spaced unit).
/// Negative values draw no bar, values above `max` are drawn at `max` but printed as they are,
/// and a NaN or infinite value draws no bar and prints "n/a", so a bad number never hides its
/// row. A `max` that is not positive and finite falls back to the largest finite value.
pub fn bar_chart(title: &str, bars: &[(String, f64)], max: f64, unit: &str) -> String {
    let rows = bars.len().max(1) as f64;
    let height = TITLE_HEIGHT + rows * ROW_HEIGHT + BOTTOM_PAD;
    let scale_max = scale_max(bars, max);
    let summary: Vec<String> = bars
        .iter()
        .map(|(label, value)| format!("{label}: {}", value_text(*value, unit)))
        .collect();
    let mut svg = open_svg("tg-chart tg-bar-chart", BAR_WIDTH, height, title, &summary);
    push_title(&mut svg, title);
    if bars.is_empty() {
        push_no_data(&mut svg, TITLE_HEIGHT + ROW_HEIGHT * 0.7);
    }
    for (i, (label, value)) in bars.iter().enumerate() {
        let top = TITLE_HEIGHT + i as f64 * ROW_HEIGHT;
        push_bar_row(&mut svg, top, label, *value, scale_max, unit);
    }
    let _ = write!(
        svg,
        r#"<line class="tg-axis" x1="{x}" y1="{y1}" x2="{x}" y2="{y2}" stroke="{AXIS_STROKE}"/>"#,
        x = num(BAR_LEFT),
        y1 = num(TITLE_HEIGHT - 2.0),
        y2 = num(height - BOTTOM_PAD + 2.0),
    );
    svg.push_str("</svg>");
    svg
}

/// Accuracy against confidence for each non-empty bin, with the diagonal of perfect
/// calibration. Each bin is a light bar as wide as the bin and as tall as its accuracy, a dot
/// at its mean confidence, and its count above: a bar below the diagonal is over-confidence,
/// and the count says how much to trust it. Bins with no rows or unusable numbers are skipped.
pub fn reliability_diagram(bins: &[CalibrationBin]) -> String {
    let title = "Reliability: confidence vs accuracy";
    let drawable: Vec<DrawableBin> = bins.iter().filter_map(DrawableBin::from_bin).collect();
    let summary: Vec<String> = drawable.iter().map(DrawableBin::describe).collect();
    let mut svg = open_svg(
        "tg-chart tg-reliability",
        REL_WIDTH,
        REL_HEIGHT,
        title,
        &summary,
    );
    push_title(&mut svg, title);
    let _ = write!(
        svg,
        r#"<text class="tg-caption" x="8" y="36" font-size="10" fill="{MUTED_FILL}">Bars: accuracy per bin · dots: mean confidence · numbers: decisions</text>"#
    );
    push_plot_axes(&mut svg);
    if drawable.is_empty() {
        push_no_data(&mut svg, PLOT_TOP + PLOT_SIZE / 2.0);
    }
    for bin in &drawable {
        push_bin(&mut svg, bin);
    }
    push_diagonal(&mut svg);
    svg.push_str("</svg>");
    svg
}

/// Escapes text for XML content and attribute values, and drops control characters XML 1.0
/// forbids (they would make the SVG unparseable if the page is ever served as XHTML).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A coordinate or length as SVG text; anything non-finite becomes 0 so no attribute can read
/// "NaN" or "inf", even if a layout bug slips past the checks upstream.
fn num(value: f64) -> String {
    let value = if value.is_finite() { value } else { 0.0 };
    let text = format!("{value:.1}");
    text.strip_suffix(".0").map(String::from).unwrap_or(text)
}

/// The opening tag, accessible name and description. `role="img"` makes assistive technology
/// read the title and description instead of every text fragment.
fn open_svg(class: &str, width: f64, height: f64, title: &str, summary: &[String]) -> String {
    let title = escape(title);
    let (w, h) = (num(width), num(height));
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="{class}" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{title}" {FONT} font-size="12"><title>{title}</title>"#
    );
    if !summary.is_empty() {
        let _ = write!(svg, "<desc>{}</desc>", escape(&summary.join("; ")));
    }
    svg
}

fn push_title(svg: &mut String, title: &str) {
    let _ = write!(
        svg,
        r#"<text class="tg-title" x="8" y="19" font-size="14" font-weight="600" fill="{TEXT_FILL}">{}</text>"#,
        escape(title)
    );
}

fn push_no_data(svg: &mut String, y: f64) {
    let _ = write!(
        svg,
        r#"<text class="tg-empty" x="8" y="{}" fill="{MUTED_FILL}">No data</text>"#,
        num(y)
    );
}

/// The scale's top: the caller's `max` when usable, else the largest finite value, else 1.
fn scale_max(bars: &[(String, f64)], max: f64) -> f64 {
    if max.is_finite() && max > 0.0 {
        return max;
    }
    let largest = bars
        .iter()
        .map(|(_, v)| *v)
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    if largest > 0.0 { largest } else { 1.0 }
}

/// Bar length in pixels for `value`, or `None` when the value cannot be drawn.
fn bar_length(value: f64, scale_max: f64) -> Option<f64> {
    value
        .is_finite()
        .then(|| (value / scale_max).clamp(0.0, 1.0) * BAR_SPAN)
}

fn push_bar_row(svg: &mut String, top: f64, label: &str, value: f64, max: f64, unit: &str) {
    let text_y = num(top + BAR_THICKNESS / 2.0 + 4.0);
    let shown = value_text(value, unit);
    let _ = write!(
        svg,
        r#"<g class="tg-row"><title>{}</title><text class="tg-label" x="{}" y="{text_y}" text-anchor="end" fill="{TEXT_FILL}">{}</text>"#,
        escape(&format!("{label}: {shown}")),
        num(LABEL_RIGHT),
        escape(&truncate(label, MAX_LABEL_CHARS)),
    );
    let length = bar_length(value, max).unwrap_or(0.0);
    if length > 0.0 {
        let _ = write!(
            svg,
            r#"<rect class="tg-bar" x="{}" y="{}" width="{}" height="{}" rx="2" fill="{BAR_FILL}"/>"#,
            num(BAR_LEFT),
            num(top),
            num(length),
            num(BAR_THICKNESS),
        );
    }
    let _ = write!(
        svg,
        r#"<text class="tg-value" x="{}" y="{text_y}" fill="{MUTED_FILL}">{}</text></g>"#,
        num(BAR_LEFT + length + 4.0),
        escape(&shown),
    );
}

/// A value as people read it: whole numbers without decimals, others to two places with
/// trailing zeros dropped; "n/a" for NaN and infinities.
fn value_text(value: f64, unit: &str) -> String {
    if !value.is_finite() {
        return "n/a".into();
    }
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    let text = if text == "-0" { "0" } else { text };
    format!("{text}{unit}")
}

/// Cuts `text` to `max` characters (not bytes, so multi-byte labels never split mid-character).
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A calibration bin with every number checked and clamped to [0, 1].
#[derive(Debug, Clone, Copy, PartialEq)]
struct DrawableBin {
    lower: f64,
    upper: f64,
    n: usize,
    accuracy: f64,
    mean_confidence: Option<f64>,
}

impl DrawableBin {
    fn from_bin(bin: &CalibrationBin) -> Option<Self> {
        let accuracy = unit_interval(bin.accuracy?)?;
        let lower = unit_interval(bin.lower)?;
        let upper = unit_interval(bin.upper)?;
        (bin.n > 0 && upper > lower).then_some(DrawableBin {
            lower,
            upper,
            n: bin.n,
            accuracy,
            mean_confidence: bin.mean_confidence.and_then(unit_interval),
        })
    }

    fn describe(&self) -> String {
        let mean = self
            .mean_confidence
            .map_or_else(|| "n/a".into(), |m| format!("{m:.2}"));
        format!(
            "confidence {:.1}–{:.1}: {} decisions, mean confidence {mean}, accuracy {:.2}",
            self.lower, self.upper, self.n, self.accuracy
        )
    }
}

/// Clamps to [0, 1]; `None` for NaN, which has no place on the axis.
fn unit_interval(value: f64) -> Option<f64> {
    (!value.is_nan()).then(|| value.clamp(0.0, 1.0))
}

/// Plot x for a confidence in [0, 1].
fn plot_x(confidence: f64) -> f64 {
    PLOT_LEFT + confidence * PLOT_SIZE
}

/// Plot y for an accuracy in [0, 1]; SVG's y grows downwards.
fn plot_y(accuracy: f64) -> f64 {
    PLOT_TOP + (1.0 - accuracy) * PLOT_SIZE
}

fn push_plot_axes(svg: &mut String) {
    let (x0, y0, y1) = (plot_x(0.0), plot_y(0.0), plot_y(1.0));
    let _ = write!(
        svg,
        r##"<rect class="tg-plot" x="{}" y="{}" width="{s}" height="{s}" fill="#fafafa" stroke="{AXIS_STROKE}"/>"##,
        num(x0),
        num(y1),
        s = num(PLOT_SIZE),
    );
    for step in 0..=5 {
        let t = f64::from(step) / 5.0;
        let _ = write!(
            svg,
            r#"<text class="tg-tick" x="{}" y="{}" text-anchor="middle" font-size="10" fill="{MUTED_FILL}">{t:.1}</text><text class="tg-tick" x="{}" y="{}" text-anchor="end" font-size="10" fill="{MUTED_FILL}">{t:.1}</text>"#,
            num(plot_x(t)),
            num(y0 + 14.0),
            num(x0 - 5.0),
            num(plot_y(t) + 3.0),
        );
    }
    let _ = write!(
        svg,
        r#"<text class="tg-axis-label" x="{}" y="{}" text-anchor="middle" fill="{TEXT_FILL}">Confidence</text><text class="tg-axis-label" x="14" y="{}" text-anchor="middle" transform="rotate(-90 14 {})" fill="{TEXT_FILL}">Accuracy</text>"#,
        num(plot_x(0.5)),
        num(y0 + 34.0),
        num(plot_y(0.5)),
        num(plot_y(0.5)),
    );
}

/// The line of perfect calibration, drawn over the bars so it stays visible.
fn push_diagonal(svg: &mut String) {
    let _ = write!(
        svg,
        r##"<line class="tg-diagonal" x1="{}" y1="{}" x2="{}" y2="{}" stroke="#666" stroke-dasharray="4 3"/>"##,
        num(plot_x(0.0)),
        num(plot_y(0.0)),
        num(plot_x(1.0)),
        num(plot_y(1.0)),
    );
}

fn push_bin(svg: &mut String, bin: &DrawableBin) {
    let left = plot_x(bin.lower) + 1.0;
    let width = (plot_x(bin.upper) - plot_x(bin.lower) - 2.0).max(1.0);
    let top = plot_y(bin.accuracy);
    let _ = write!(
        svg,
        r#"<g class="tg-bin"><title>{}</title><rect class="tg-bin-bar" x="{}" y="{}" width="{}" height="{}" fill="{BIN_FILL}"/>"#,
        escape(&bin.describe()),
        num(left),
        num(top),
        num(width),
        num(plot_y(0.0) - top),
    );
    if let Some(mean) = bin.mean_confidence {
        let _ = write!(
            svg,
            r#"<circle class="tg-point" cx="{}" cy="{}" r="3.5" fill="{POINT_FILL}"/>"#,
            num(plot_x(mean)),
            num(top),
        );
    }
    let _ = write!(
        svg,
        r#"<text class="tg-count" x="{}" y="{}" text-anchor="middle" font-size="10" fill="{TEXT_FILL}">{}</text></g>"#,
        num(left + width / 2.0),
        num(top - 6.0),
        bin.n,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    const NUMERIC_ATTRS: [&str; 14] = [
        "x",
        "y",
        "x1",
        "y1",
        "x2",
        "y2",
        "width",
        "height",
        "cx",
        "cy",
        "r",
        "rx",
        "viewBox",
        "font-size",
    ];

    /// Every value of `attr="..."` in `svg` (matched with a leading space so `x` skips `cx`).
    fn attr_values<'a>(svg: &'a str, attr: &str) -> Vec<&'a str> {
        let needle = format!(" {attr}=\"");
        svg.match_indices(&needle)
            .filter_map(|(i, _)| {
                let rest = &svg[i + needle.len()..];
                rest.find('"').map(|end| &rest[..end])
            })
            .collect()
    }

    /// Fails unless every numeric attribute parses as a finite number and no size is negative.
    fn assert_numbers_valid(svg: &str) {
        for attr in NUMERIC_ATTRS {
            for value in attr_values(svg, attr) {
                for part in value.split_whitespace() {
                    let n: f64 = part
                        .parse()
                        .unwrap_or_else(|_| panic!("{attr}={value:?} is not a number"));
                    assert!(n.is_finite(), "{attr}={value:?}");
                    if matches!(attr, "width" | "height" | "r") {
                        assert!(n >= 0.0, "{attr}={value:?} is negative");
                    }
                }
            }
        }
    }

    fn bars(values: &[(&str, f64)]) -> Vec<(String, f64)> {
        values.iter().map(|(l, v)| (l.to_string(), *v)).collect()
    }

    fn bin(lower: f64, n: usize, mean: Option<f64>, accuracy: Option<f64>) -> CalibrationBin {
        CalibrationBin {
            lower,
            upper: lower + 0.1,
            n,
            mean_confidence: mean,
            accuracy,
        }
    }

    #[test]
    fn escape_covers_all_five_and_control_characters() {
        assert_eq!(escape(r#"a&b<c>d"e'f"#), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
        assert_eq!(escape("x\u{0}y\nz"), "xy z");
    }

    #[test]
    fn script_labels_and_titles_are_escaped() {
        let evil = "<script>alert(1)</script>";
        let svg = bar_chart(evil, &bars(&[(evil, 3.0)]), 5.0, "<b>");
        assert!(!svg.contains("<script"), "{svg}");
        assert!(!svg.contains("<b>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(svg.contains(r#"aria-label="&lt;script&gt;"#));
    }

    #[test]
    fn bar_lengths_scale_to_max() {
        let svg = bar_chart("t", &bars(&[("a", 5.0), ("b", 10.0)]), 10.0, "%");
        assert_eq!(attr_values(&svg, "width")[1..], ["130", "260"]);
        assert!(svg.contains(">5%</text>") && svg.contains(">10%</text>"));
    }

    #[test]
    fn height_grows_with_bar_count() {
        let one = bar_chart("t", &bars(&[("a", 1.0)]), 1.0, "");
        let three = bar_chart("t", &bars(&[("a", 1.0), ("b", 1.0), ("c", 1.0)]), 1.0, "");
        assert_eq!(attr_values(&one, "height")[0], "60");
        assert_eq!(attr_values(&three, "height")[0], "104");
        assert!(one.starts_with("<svg") && one.ends_with("</svg>"));
        assert!(one.contains(r#"role="img""#) && one.contains("<title>t</title>"));
    }

    #[test]
    fn bad_values_are_clamped_or_skipped() {
        let values = [
            ("nan", f64::NAN),
            ("inf", f64::INFINITY),
            ("neg-inf", f64::NEG_INFINITY),
            ("negative", -4.0),
            ("over", 50.0),
        ];
        for max in [10.0, f64::NAN, 0.0, -1.0, f64::INFINITY] {
            let svg = bar_chart("t", &bars(&values), max, "");
            assert_numbers_valid(&svg);
            // Only the over-max bar is drawn, at full length when max is usable.
            let widths = attr_values(&svg, "width");
            assert_eq!(widths.len(), 2, "{svg}");
            assert_eq!(widths[1], "260");
            assert_eq!(svg.matches(">n/a</text>").count(), 3);
            assert!(svg.contains(">-4</text>") && svg.contains(">50</text>"));
        }
    }

    #[test]
    fn fallback_max_is_largest_finite_value() {
        assert_eq!(scale_max(&bars(&[("a", 2.0), ("b", 8.0)]), f64::NAN), 8.0);
        assert_eq!(scale_max(&bars(&[("a", -2.0)]), 0.0), 1.0);
        assert_eq!(scale_max(&[], 3.0), 3.0);
    }

    #[test]
    fn empty_bar_chart_says_so() {
        let svg = bar_chart("Overrides", &[], 1.0, "");
        assert!(svg.contains("No data"));
        assert_numbers_valid(&svg);
    }

    #[test]
    fn value_text_trims_and_marks_missing() {
        assert_eq!(value_text(72.5, "%"), "72.5%");
        assert_eq!(value_text(0.1267, ""), "0.13");
        assert_eq!(value_text(3.0, " tickets"), "3 tickets");
        assert_eq!(value_text(-0.001, ""), "0");
        assert_eq!(value_text(f64::NAN, "%"), "n/a");
    }

    #[test]
    fn long_labels_are_cut_by_characters() {
        let label = "Ünïcödé-service-group-with-a-long-name";
        let cut = truncate(label, MAX_LABEL_CHARS);
        assert_eq!(cut.chars().count(), MAX_LABEL_CHARS);
        assert!(cut.ends_with('…'));
        let svg = bar_chart("t", &bars(&[(label, 1.0)]), 1.0, "");
        assert!(svg.contains(&format!("<title>{label}: 1</title>")));
    }

    #[test]
    fn reliability_draws_only_non_empty_bins() {
        let bins = [
            bin(0.0, 0, None, None),
            bin(0.6, 2, Some(0.635), Some(0.5)),
            bin(0.9, 2, Some(0.975), Some(1.0)),
        ];
        let svg = reliability_diagram(&bins);
        assert_eq!(svg.matches(r#"class="tg-bin-bar""#).count(), 2);
        assert_eq!(svg.matches(r#"class="tg-point""#).count(), 2);
        assert_eq!(svg.matches(r#"class="tg-diagonal""#).count(), 1);
        assert!(svg.contains(r#"role="img""#));
        // The 0.6 bin: x = 52 + 0.6 * 280 + 1, accuracy 0.5 puts its top at 56 + 140.
        assert!(
            svg.contains(r#"<rect class="tg-bin-bar" x="221" y="196" width="26" height="140""#)
        );
        // The dot sits at the mean confidence: 52 + 0.635 * 280 = 229.8.
        assert!(svg.contains(r#"cx="229.8" cy="196""#));
        assert!(svg.contains(">2</text></g>"));
        assert_numbers_valid(&svg);
    }

    #[test]
    fn reliability_skips_or_clamps_bad_numbers() {
        let bins = [
            bin(f64::NAN, 3, Some(0.5), Some(0.5)),
            bin(0.2, 3, Some(0.25), Some(f64::NAN)),
            bin(0.3, 3, Some(f64::INFINITY), Some(1.7)),
            bin(0.4, 3, Some(f64::NAN), Some(-0.5)),
            CalibrationBin {
                lower: 0.5,
                upper: f64::NAN,
                n: 1,
                mean_confidence: Some(0.5),
                accuracy: Some(0.5),
            },
        ];
        let svg = reliability_diagram(&bins);
        assert_numbers_valid(&svg);
        assert_eq!(svg.matches(r#"class="tg-bin-bar""#).count(), 2);
        // Infinity clamps to 1 for the dot; NaN mean confidence draws no dot.
        assert_eq!(svg.matches(r#"class="tg-point""#).count(), 1);
        assert!(svg.contains(r#"cx="332""#));
        // Accuracy 1.7 clamps to the plot's top; -0.5 to a zero-height bar.
        assert!(svg.contains(r#"y="56" width="26" height="280""#));
        assert!(svg.contains(r#"y="336" width="26" height="0""#));
    }

    #[test]
    fn empty_reliability_diagram_says_so() {
        let svg = reliability_diagram(&[bin(0.0, 0, None, None)]);
        assert!(svg.contains("No data"));
        assert!(!svg.contains("tg-bin-bar"));
        assert_numbers_valid(&svg);
    }
}
