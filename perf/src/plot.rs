//! `--plot FILE.svg`: two panels, drawn as plain SVG (no font or
//! rendering dependencies): NDR and PDR (Mpps, median of runs, min-max
//! whiskers) against frame size for every device; and weir's latency
//! percentiles (p50 ... max, log scale) at each load and frame size.

use crate::report::{Report, Stat};
use std::fmt::Write as _;

const W: f64 = 1100.0;
const H: f64 = 460.0;
const COLORS: [&str; 8] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A "nice" upper bound for an axis.
fn nice_max(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let e = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * e)
        .find(|&m| m >= v)
        .unwrap_or(10.0 * e)
}

struct Panel {
    x0: f64,
    y0: f64,
    w: f64,
    h: f64,
}

impl Panel {
    fn frame(&self, o: &mut String, title: &str, ylabel: &str) {
        let _ = writeln!(
            o,
            r##"<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#444"/>"##,
            self.x0, self.y0, self.w, self.h
        );
        let _ = writeln!(
            o,
            r#"<text x="{}" y="{}" text-anchor="middle" font-size="15">{}</text>"#,
            self.x0 + self.w / 2.0,
            self.y0 - 12.0,
            esc(title)
        );
        let _ = writeln!(
            o,
            r#"<text transform="translate({},{}) rotate(-90)" text-anchor="middle" font-size="12">{}</text>"#,
            self.x0 - 48.0,
            self.y0 + self.h / 2.0,
            esc(ylabel)
        );
    }

    fn xcat(&self, i: usize, n: usize) -> f64 {
        self.x0 + self.w * (i as f64 + 0.5) / n.max(1) as f64
    }
}

fn polyline(o: &mut String, pts: &[(f64, f64)], color: &str, dash: bool) {
    if pts.is_empty() {
        return;
    }
    let p: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
    let _ = writeln!(
        o,
        r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"{}/>"#,
        p.join(" "),
        if dash {
            r#" stroke-dasharray="6,4""#
        } else {
            ""
        }
    );
    for (x, y) in pts {
        let _ = writeln!(
            o,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{color}"/>"#
        );
    }
}

fn legend(o: &mut String, x: f64, y: f64, i: usize, color: &str, label: &str, dash: bool) {
    let yy = y + 16.0 * i as f64;
    let _ = writeln!(
        o,
        r#"<line x1="{x}" y1="{yy}" x2="{}" y2="{yy}" stroke="{color}" stroke-width="2"{}/><text x="{}" y="{}" font-size="11">{}</text>"#,
        x + 22.0,
        if dash {
            r#" stroke-dasharray="6,4""#
        } else {
            ""
        },
        x + 28.0,
        yy + 4.0,
        esc(label)
    );
}

/// The report as an SVG document.
pub fn svg(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif">"#
    );
    let _ = writeln!(o, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        o,
        r##"<text x="10" y="{}" font-size="10" fill="#666">{}</text>"##,
        H - 8.0,
        esc(&format!(
            "weir bench {} | {} | {} cores | weir {} | {} run(s) × {} s",
            r.scenario,
            r.system.cpu_model,
            r.system.cores,
            r.system.weir_commit,
            r.settings.runs,
            r.settings.trial_secs
        ))
    );

    // Throughput vs frame size.
    let sizes = &r.settings.sizes;
    let p = Panel {
        x0: 70.0,
        y0: 40.0,
        w: 440.0,
        h: 340.0,
    };
    let ymax = nice_max(
        r.devices
            .iter()
            .flat_map(|d| d.points.iter())
            .map(|q| q.pdr_mpps.max.max(q.ndr_mpps.max))
            .chain(r.inline.iter().map(|q| q.mpps.max))
            .chain(
                r.max_rate
                    .iter()
                    .flat_map(|d| d.points.iter())
                    .map(|q| q.mpps.max),
            )
            .fold(0.0, f64::max),
    );
    p.frame(&mut o, "Throughput vs frame size", "Mpps (median, min-max)");
    let y = |v: f64| p.y0 + p.h - p.h * v / ymax;
    for k in 0..=5 {
        let v = ymax * k as f64 / 5.0;
        let _ = writeln!(
            o,
            r##"<line x1="{x0}" x2="{x1}" y1="{yy:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{xt}" y="{yt:.1}" text-anchor="end" font-size="11">{v:.2}</text>"##,
            x0 = p.x0,
            x1 = p.x0 + p.w,
            yy = y(v),
            xt = p.x0 - 4.0,
            yt = y(v) + 4.0,
        );
    }
    for (i, s) in sizes.iter().enumerate() {
        let _ = writeln!(
            o,
            r#"<text x="{:.1}" y="{}" text-anchor="middle" font-size="11">{}</text>"#,
            p.xcat(i, sizes.len()),
            p.y0 + p.h + 16.0,
            esc(s)
        );
    }
    let _ = writeln!(
        o,
        r#"<text x="{}" y="{}" text-anchor="middle" font-size="12">frame size (bytes)</text>"#,
        p.x0 + p.w / 2.0,
        p.y0 + p.h + 34.0
    );
    let mut li = 0;
    let mut series = |o: &mut String, label: String, stats: Vec<(usize, Stat)>, dash: bool| {
        let color = COLORS[li % COLORS.len()];
        let pts: Vec<(f64, f64)> = stats
            .iter()
            .map(|(i, s)| (p.xcat(*i, sizes.len()), y(s.median)))
            .collect();
        for (i, s) in &stats {
            let x = p.xcat(*i, sizes.len());
            let _ = writeln!(
                o,
                r#"<line x1="{x:.1}" x2="{x:.1}" y1="{:.1}" y2="{:.1}" stroke="{color}"/>"#,
                y(s.min),
                y(s.max)
            );
        }
        polyline(o, &pts, color, dash);
        legend(o, p.x0 + 10.0, p.y0 + 14.0, li, color, &label, dash);
        li += 1;
    };
    let idx = |size: &str| sizes.iter().position(|s| s == size);
    for d in &r.devices {
        let ndr = d
            .points
            .iter()
            .filter_map(|q| Some((idx(&q.size)?, q.ndr_mpps)))
            .collect();
        series(&mut o, format!("{} NDR", d.name), ndr, false);
        if d.name != "testpmd" {
            let pdr = d
                .points
                .iter()
                .filter_map(|q| Some((idx(&q.size)?, q.pdr_mpps)))
                .collect();
            series(&mut o, format!("{} PDR", d.name), pdr, true);
        }
    }
    if !r.inline.is_empty() {
        let s = r
            .inline
            .iter()
            .filter_map(|q| Some((idx(&q.size)?, q.mpps)))
            .collect();
        series(&mut o, "weir inline gen max".into(), s, true);
    }
    for d in &r.max_rate {
        let s = d
            .points
            .iter()
            .filter_map(|q| Some((idx(&q.size)?, q.mpps)))
            .collect();
        series(&mut o, format!("{} max rate", d.name), s, false);
    }

    // Latency percentiles of weir, log scale.
    let q = Panel {
        x0: 640.0,
        y0: 40.0,
        w: 420.0,
        h: 340.0,
    };
    q.frame(
        &mut o,
        "weir latency percentiles",
        "µs (median of runs, log scale)",
    );
    let labels = ["p50", "p90", "p99", "p99.9", "max"];
    let lines: Vec<(String, [f64; 5])> = r
        .devices
        .first()
        .map(|d| {
            d.points
                .iter()
                .flat_map(|pt| {
                    pt.latency.iter().map(move |l| {
                        (
                            format!("{} B @ {}% NDR", pt.size, l.load_pct),
                            [
                                l.p50_ns.median,
                                l.p90_ns.median,
                                l.p99_ns.median,
                                l.p999_ns.median,
                                l.max_ns.median,
                            ],
                        )
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let all: Vec<f64> = lines
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .filter(|v| *v > 0.0)
        .collect();
    let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = all.iter().copied().fold(0.0, f64::max);
    let (dlo, dhi) = if all.is_empty() {
        (2.0, 4.0)
    } else {
        (
            (lo / 1e3).log10().floor(),
            (hi / 1e3)
                .log10()
                .ceil()
                .max((lo / 1e3).log10().floor() + 1.0),
        )
    };
    let ly = |ns: f64| {
        let v = (ns.max(1.0) / 1e3).log10().clamp(dlo, dhi);
        q.y0 + q.h - q.h * (v - dlo) / (dhi - dlo)
    };
    let mut d = dlo;
    while d <= dhi + 1e-9 {
        let yy = ly(10f64.powf(d) * 1e3);
        let _ = writeln!(
            o,
            r##"<line x1="{}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end" font-size="11">{}</text>"##,
            q.x0,
            q.x0 + q.w,
            q.x0 - 4.0,
            yy + 4.0,
            10f64.powf(d)
        );
        d += 1.0;
    }
    for (i, l) in labels.iter().enumerate() {
        let _ = writeln!(
            o,
            r#"<text x="{:.1}" y="{}" text-anchor="middle" font-size="11">{l}</text>"#,
            q.xcat(i, labels.len()),
            q.y0 + q.h + 16.0
        );
    }
    if lines.is_empty() {
        let _ = writeln!(
            o,
            r##"<text x="{}" y="{}" text-anchor="middle" font-size="12" fill="#666">no latency measured</text>"##,
            q.x0 + q.w / 2.0,
            q.y0 + q.h / 2.0
        );
    }
    for (k, (label, v)) in lines.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        let pts: Vec<(f64, f64)> = v
            .iter()
            .enumerate()
            .map(|(i, &ns)| (q.xcat(i, labels.len()), ly(ns)))
            .collect();
        polyline(&mut o, &pts, color, false);
        legend(&mut o, q.x0 + 10.0, q.y0 + 14.0, k, color, label, false);
    }
    let _ = writeln!(o, "</svg>");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_bounds() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(3.2), 5.0);
        assert_eq!(nice_max(11.0), 20.0);
        assert_eq!(nice_max(0.7), 1.0);
    }

    #[test]
    fn an_empty_report_draws() {
        let s = svg(&Report::default());
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
        assert!(s.contains("no latency measured"));
    }
}
