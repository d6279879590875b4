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
