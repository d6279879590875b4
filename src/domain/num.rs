//! Numbers for people and for CSV: a fixed number of decimals, trailing zeros trimmed, and
//! never `-0` (a sum of nothing, or a tiny negative rounded away).

/// `v` with at most `places` decimals: `fixed(2.0725000000000002, 6)` = `2.0725`,
/// `fixed(400.0, 1)` = `400`, `fixed(-0.0, 2)` = `0`, `fixed(-0.0000001, 3)` = `0`.
pub fn fixed(v: f64, places: usize) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let mut s = format!("{v:.places$}");
    if s.contains('.') {
        let t = s.trim_end_matches('0').trim_end_matches('.').len();
        s.truncate(t);
    }
    if s == "-0" { "0".to_string() } else { s }
}

/// `1 call`, `2 calls`.
pub fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A duration for a call's figures: `840 ms`, `1.25 s`, `12.3 s`.
pub fn fmt_ms(ms: f64) -> String {
    if ms >= 10_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{ms:.0} ms")
    }
}

/// [`fmt_ms`] of a figure that may be missing (`—`).
pub fn opt_ms(v: Option<f64>) -> String {
    v.map_or("—".to_string(), fmt_ms)
}

/// A count that may be missing (`—`).
pub fn opt_u(v: Option<u64>) -> String {
    v.map_or("—".to_string(), |n| n.to_string())
}

/// A latency percentile of a load run, finer below 100 ms: `0.412ms`, `3.7ms`, `840ms`,
/// `12.3s` (the bench report's columns).
pub fn fmt_ms_fine(ms: f64) -> String {
    if ms >= 10_000.0 {
        format!("{:.1}s", ms / 1000.0)
    } else if ms >= 100.0 {
        format!("{ms:.0}ms")
    } else if ms >= 1.0 {
        format!("{ms:.1}ms")
    } else {
        format!("{ms:.3}ms")
    }
}

/// A large count: `950`, `12.5k`, `1.25M`.
pub fn fmt_big(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_precision_without_noise() {
        assert_eq!(fixed(2.0725000000000002, 6), "2.0725");
        assert_eq!(fixed(27.300648390399267, 1), "27.3");
        assert_eq!(fixed(400.0, 1), "400");
        assert_eq!(fixed(-0.0, 2), "0");
        assert_eq!(fixed(-0.00004, 3), "0");
        assert_eq!(fixed(-6.666666666666664, 2), "-6.67");
        assert_eq!(fixed(0.000393333, 6), "0.000393");
        assert_eq!(plural(1u64, "call", "calls"), "1 call");
        assert_eq!(plural(0u64, "call", "calls"), "0 calls");
    }
}
