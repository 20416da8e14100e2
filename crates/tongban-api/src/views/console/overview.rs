//! The overview's charts: stacked bars per day drawn as SVG on the server (no chart
//! script), each with a sentence that sums it up and its numbers as a table, for
//! screen readers and for anyone who wants the figures.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use tongban_ecert::overview::{DAYS, Daily, Overview, SeriesName};
use tongban_identity::subjects::Department;

use super::DepartmentOption;
use crate::i18n::Lang;
use crate::prefs::Prefs;
use crate::views::layout::{Shell, render};

/// The drawing's size in SVG units: at the console's width, one unit is one pixel.
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 260.0;
/// Room for the count labels on the left and the day labels below.
const LEFT: f64 = 88.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 44.0;

struct Bar {
    x: String,
    y: String,
    width: String,
    height: String,
    class: String,
}

struct Label {
    at: String,
    text: String,
    /// `start`, `middle` or `end`: the first and last day labels stay inside the
    /// drawing.
    anchor: &'static str,
}

struct LegendItem {
    class: String,
    name: String,
}

struct TableRow {
    day: String,
    counts: Vec<i64>,
    total: i64,
}

struct Chart {
    id: &'static str,
    /// Nothing to draw: the summary says so, and no empty axes or table follow.
    empty: bool,
    title: String,
    summary: String,
    legend: Vec<LegendItem>,
    bars: Vec<Bar>,
    /// Count labels, bottom to top, at their y.
    counts: Vec<Label>,
    /// Grid lines' y, matching `counts`.
    grid: Vec<String>,
    /// Day labels, at their x.
    days: Vec<Label>,
    axis_y: String,
    head: Vec<String>,
    rows: Vec<TableRow>,
}

#[derive(Template)]
#[template(path = "console_overview.html")]
struct OverviewPage {
    l: Lang,
    shell: Shell,
    departments: Vec<DepartmentOption>,
    everything: bool,
    charts: Vec<Chart>,
    width: f64,
    height: f64,
    left: f64,
    right_edge: f64,
}

/// The overview: a department chooser and the charts.
pub fn overview(
    prefs: Prefs,
    overview: &Overview,
    (departments, everything): (&[Department], bool),
) -> Response {
    let l = prefs.lang;
    let chosen = overview
        .department
        .map(|d| d.to_string())
        .unwrap_or_default();
    let departments = departments
        .iter()
        .map(|d| DepartmentOption {
            id: d.id.to_string(),
            name: format!("\u{2068}{}\u{2069}", d.name),
            selected: d.id.to_string() == chosen,
        })
        .collect();
    let mut charts = vec![
        chart(l, "issued", &overview.issued),
        chart(l, "seal-uses", &overview.seal_uses),
        chart(l, "verifications", &overview.verifications),
    ];
    if let Some(failed) = &overview.failed_logins {
        charts.push(chart(l, "failed-logins", failed));
    }
    let page = OverviewPage {
        l,
        shell: Shell::new(prefs, "/console/overview", "overview-title").wide(),
        departments,
        everything,
        charts,
        width: WIDTH,
        height: HEIGHT,
        left: LEFT,
        right_edge: WIDTH - RIGHT,
    };
    render(StatusCode::OK, &page)
}

fn series_name(l: Lang, name: &SeriesName) -> String {
    match name {
        SeriesName::Type { zh, en } => crate::views::account::type_name(l, zh, en).to_owned(),
        SeriesName::Seal(name) => name.clone(),
        SeriesName::Others => l.t("overview-others"),
        SeriesName::CertificatesVerified => l.t("overview-certificates-verified"),
        SeriesName::DocumentsVerified => l.t("overview-documents-verified"),
        SeriesName::LoginsFailed => l.t("overview-logins-failed"),
    }
}

/// A day number (days since 1970-01-01) as month-day.
fn day_label(day: i64) -> String {
    const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;
    i32::try_from(day + UNIX_EPOCH_JULIAN_DAY)
        .ok()
        .and_then(|julian| time::Date::from_julian_day(julian).ok())
        .map_or_else(
            || day.to_string(),
            |date| format!("{:02}-{:02}", u8::from(date.month()), date.day()),
        )
}

/// The smallest round number at least `max` (1, 2, 3, 4, 5, 6, 8 times a power of
/// ten): the top of the count axis, so that the tallest bar fills most of the chart.
fn axis_top(max: i64) -> i64 {
    let mut power = 1;
    loop {
        for top in [1, 2, 3, 4, 5, 6, 8].map(|m| m * power) {
            if top >= max {
                return top;
            }
        }
        power *= 10;
    }
}

fn chart(l: Lang, id: &'static str, data: &Daily) -> Chart {
    let totals = data.day_totals();
    let top = axis_top(totals.iter().copied().max().unwrap_or(0).max(1));
    let plot_height = HEIGHT - TOP - BOTTOM;
    let band = (WIDTH - LEFT - RIGHT) / DAYS as f64;
    let y_of = |count: i64| HEIGHT - BOTTOM - plot_height * count as f64 / top as f64;
    let mut bars = Vec::new();
    for day in 0..DAYS as usize {
        let mut below = 0;
        for (k, series) in data.series.iter().enumerate() {
            let count = series.counts.get(day).copied().unwrap_or(0);
            if count == 0 {
                continue;
            }
            let (y_low, y_high) = (y_of(below), y_of(below + count));
            bars.push(Bar {
                x: format!("{:.1}", LEFT + band * day as f64 + band * 0.15),
                y: format!("{y_high:.1}"),
                width: format!("{:.1}", band * 0.7),
                height: format!("{:.1}", y_low - y_high),
                class: format!("series-{k}"),
            });
            below += count;
        }
    }
    // A top of 1 has no middle tick.
    let mut ticks = vec![0, top / 2, top];
    ticks.dedup();
    let counts = ticks
        .iter()
        .map(|&t| Label {
            at: format!("{:.1}", y_of(t)),
            text: t.to_string(),
            anchor: "end",
        })
        .collect();
    let grid = ticks.iter().map(|&t| format!("{:.1}", y_of(t))).collect();
    let days = [0, 7, 14, 21, DAYS - 1]
        .into_iter()
        .map(|i| {
            let (at, anchor) = match i {
                0 => (LEFT, "start"),
                i if i == DAYS - 1 => (WIDTH - RIGHT, "end"),
                i => (LEFT + band * (i as f64 + 0.5), "middle"),
            };
            Label {
                at: format!("{at:.1}"),
                text: day_label(data.first_day + i),
                anchor,
            }
        })
        .collect();
    let names: Vec<String> = data
        .series
        .iter()
        .map(|s| series_name(l, &s.name))
        .collect();
    let legend = names
        .iter()
        .enumerate()
        .map(|(k, name)| LegendItem {
            class: format!("series-{k}"),
            name: name.clone(),
        })
        .collect();
    let rows = (0..DAYS as usize)
        .map(|i| TableRow {
            day: day_label(data.first_day + i as i64),
            counts: data
                .series
                .iter()
                .map(|s| s.counts.get(i).copied().unwrap_or(0))
                .collect(),
            total: totals.get(i).copied().unwrap_or(0),
        })
        .collect();
    let total = data.total();
    let peak = totals
        .iter()
        .enumerate()
        .max_by_key(|(i, count)| (**count, std::cmp::Reverse(*i)))
        .filter(|(_, count)| **count > 0);
    let summary = match peak {
        Some((i, count)) => l.t2(
            "overview-summary",
            ("total", &total.to_string()),
            (
                "peak",
                &format!("{} ({count})", day_label(data.first_day + i as i64)),
            ),
        ),
        None => l.t("overview-nothing"),
    };
    Chart {
        id,
        empty: total == 0,
        title: l.t(&format!("overview-{id}")),
        summary,
        legend,
        bars,
        counts,
        grid,
        days,
        axis_y: format!("{:.1}", HEIGHT - BOTTOM),
        head: names,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_axis_ends_on_a_round_number() {
        assert_eq!(axis_top(1), 1);
        assert_eq!(axis_top(3), 3);
        assert_eq!(axis_top(7), 8);
        assert_eq!(axis_top(11), 20);
        assert_eq!(axis_top(2001), 3000);
    }

    #[test]
    fn days_are_month_and_day() {
        assert_eq!(day_label(20_791), "12-04");
        assert_eq!(day_label(0), "01-01");
    }
}
