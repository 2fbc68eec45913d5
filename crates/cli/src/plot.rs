//! Plots (SVG or PNG by the file's extension) drawn with plotters. Text needs a TrueType
//! font: DejaVu Sans or Liberation Sans from the system (LEDGERFLOW_FONT names another).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

/// Checks a plot path before any work: `.svg` or `.png`, in a folder that exists.
pub fn check_path(p: &Path) -> eyre::Result<()> {
    match p.extension().and_then(|e| e.to_str()) {
        Some("svg") | Some("png") => {}
        _ => eyre::bail!("--plot {}: the file must end in .svg or .png", p.display()),
    }
    if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            eyre::bail!("--plot {}: no such folder {}", p.display(), dir.display());
        }
    }
    font()?;
    Ok(())
}

fn font() -> eyre::Result<()> {
    static FONT: OnceLock<Result<(), String>> = OnceLock::new();
    FONT.get_or_init(|| {
        let mut candidates: Vec<String> = Vec::new();
        if let Ok(f) = std::env::var("LEDGERFLOW_FONT") {
            candidates.push(f);
        }
        candidates.extend(
            [
                "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                "/usr/share/fonts/TTF/DejaVuSans.ttf",
                "/usr/share/fonts/dejavu/DejaVuSans.ttf",
                "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
                "/Library/Fonts/Arial.ttf",
            ]
            .map(String::from),
        );
        for c in &candidates {
            if let Ok(bytes) = std::fs::read(c) {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return Ok(());
                }
            }
        }
        Err(format!(
            "plots need a TrueType font and none was found (looked for {}); set LEDGERFLOW_FONT \
             to a .ttf file",
            candidates.join(", ")
        ))
    })
    .clone()
    .map_err(|e| eyre::eyre!(e))
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// Draws on an SVG or PNG canvas of `w`×`h` by `path`'s extension, then writes it
/// atomically.
fn draw(
    path: &Path,
    w: u32,
    h: u32,
    f: impl Fn(&DrawingArea<SVGBackend, Shift>) -> DrawResult,
    g: impl Fn(&DrawingArea<BitMapBackend, Shift>) -> DrawResult,
) -> eyre::Result<()> {
    font()?;
    let tmp = path.with_extension(format!(
        "tmp-{}.{}",
        std::process::id(),
        path.extension().and_then(|e| e.to_str()).unwrap_or("svg")
    ));
    let res = if path.extension().and_then(|e| e.to_str()) == Some("png") {
        let root = BitMapBackend::new(&tmp, (w, h)).into_drawing_area();
        g(&root).and_then(|_| root.present().map_err(|e| e.into()))
    } else {
        let root = SVGBackend::new(&tmp, (w, h)).into_drawing_area();
        f(&root).and_then(|_| root.present().map_err(|e| e.into()))
    };
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        eyre::bail!("drawing {}: {e}", path.display());
    }
    std::fs::rename(&tmp, path)
        .map_err(|e| eyre::eyre!("rename {} to {}: {e}", tmp.display(), path.display()))
}

fn histogram(values: &[u64]) -> Vec<(f64, f64)> {
    let mut h: BTreeMap<u64, u64> = BTreeMap::new();
    for &v in values {
        if v > 0 {
            *h.entry(v).or_default() += 1;
        }
    }
    h.into_iter().map(|(k, c)| (k as f64, c as f64)).collect()
}

fn degree_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    ins: &[(f64, f64)],
    outs: &[(f64, f64)],
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let max_x = ins.iter().chain(outs).map(|p| p.0).fold(1.0, f64::max) * 1.5;
    let max_y = ins.iter().chain(outs).map(|p| p.1).fold(1.0, f64::max) * 1.5;
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d((1.0..max_x).log_scale(), (1.0..max_y).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("degree (distinct counterparties)")
        .y_desc("nodes")
        .x_labels(10)
        .y_labels(10)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style(("sans-serif", 14))
        .draw()?;
    chart
        .draw_series(
            ins.iter()
                .map(|&(x, y)| Circle::new((x, y), 4, BLUE.filled())),
        )?
        .label("in-degree")
        .legend(|(x, y)| Circle::new((x, y), 4, BLUE.filled()));
    chart
        .draw_series(
            outs.iter()
                .map(|&(x, y)| TriangleMarker::new((x, y), 5, RED.filled())),
        )?
        .label("out-degree")
        .legend(|(x, y)| TriangleMarker::new((x, y), 5, RED.filled()));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;
    Ok(())
}

/// The in- and out-degree distributions, log-log.
pub fn degree_distribution(
    path: &Path,
    title: &str,
    ins: &[u64],
    outs: &[u64],
) -> eyre::Result<()> {
    let (hi, ho) = (histogram(ins), histogram(outs));
    draw(
        path,
        800,
        560,
        |r| degree_chart(r, title, &hi, &ho),
        |r| degree_chart(r, title, &hi, &ho),
    )
}

fn bars_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    bars: &[(String, f64)],
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let max_y = bars.iter().map(|b| b.1).fold(0.0, f64::max).max(1.0) * 1.1;
    let n = bars.len().max(1);
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(110)
        .build_cartesian_2d((0..n).into_segmented(), 0.0..max_y)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_labels(n.min(20))
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => bars.get(*i).map(|b| b.0.clone()).unwrap_or_default(),
            _ => String::new(),
        })
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style(("sans-serif", 12))
        .draw()?;
    chart.draw_series(
        Histogram::vertical(&chart)
            .style(BLUE.mix(0.7).filled())
            .margin(6)
            .data(bars.iter().enumerate().map(|(i, b)| (i, b.1))),
    )?;
    Ok(())
}

fn taint_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    hops: &[(String, f64)],
    ents: &[(String, f64)],
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 22))?;
    let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
    bars_chart(
        &left,
        "taint received by hop",
        "hops from the seed",
        "base units",
        hops,
    )?;
    bars_chart(
        &right,
        "most exposed entities",
        "entity",
        "base units",
        ents,
    )?;
    Ok(())
}

/// The taint of one family: per hop and per entity, side by side.
pub fn taint(
    path: &Path,
    title: &str,
    hops: &[(String, f64)],
    ents: &[(String, f64)],
) -> eyre::Result<()> {
    draw(
        path,
        1200,
        560,
        |r| taint_chart(r, title, hops, ents),
        |r| taint_chart(r, title, hops, ents),
    )
}

fn curve_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    axes: (&str, &str),
    points: &[(f64, f64)],
    diagonal: bool,
    markers: bool,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 20))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
    chart
        .configure_mesh()
        .x_desc(axes.0)
        .y_desc(axes.1)
        .x_labels(11)
        .y_labels(11)
        .x_label_formatter(&|x| format!("{x:.1}"))
        .y_label_formatter(&|y| format!("{y:.1}"))
        .label_style(("sans-serif", 13))
        .draw()?;
    if diagonal {
        chart.draw_series(LineSeries::new(
            [(0.0, 0.0), (1.0, 1.0)],
            BLACK.mix(0.4).stroke_width(1),
        ))?;
    }
    chart.draw_series(LineSeries::new(
        points.iter().copied(),
        BLUE.stroke_width(2),
    ))?;
    if markers {
        chart.draw_series(
            points
                .iter()
                .map(|&(x, y)| Circle::new((x, y), 4, BLUE.filled())),
        )?;
    }
    Ok(())
}

/// A curve in the unit square (ROC, PR, a reliability diagram), optionally with the
/// diagonal and point markers.
pub fn curve(
    path: &Path,
    title: &str,
    axes: (&str, &str),
    points: &[(f64, f64)],
    diagonal: bool,
    markers: bool,
) -> eyre::Result<()> {
    draw(
        path,
        640,
        600,
        |r| curve_chart(r, title, axes, points, diagonal, markers),
        |r| curve_chart(r, title, axes, points, diagonal, markers),
    )
}
