//! Plain aligned columns for the history commands' terminal output (no colour, so the output
//! reads the same in a CI log, a pipe and a snapshot).

/// Renders rows under a header, each column as wide as its widest cell; the last column is
/// left ragged. Columns named in `right` are right-aligned (numbers).
pub fn render(header: &[&str], rows: &[Vec<String>], right: &[usize]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let last = cells.len() - 1;
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, cell)| match (i == last, right.contains(&i)) {
                (_, true) => format!("{cell:>w$}", w = widths[i]),
                (true, false) => cell.to_string(),
                (false, false) => format!("{cell:<w$}", w = widths[i]),
            })
            .collect();
        parts.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out += &line(row.iter().map(String::as_str).collect());
    }
    out
}

/// Unix milliseconds as `YYYY-MM-DD HH:MM` UTC.
pub fn timestamp(ms: i64) -> String {
    let seconds = ms.div_euclid(1000);
    let (days, in_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = crate::history::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        in_day / 3600,
        in_day % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(timestamp(0), "1970-01-01 00:00");
        // 2024-02-29 12:34:56 UTC, a leap day.
        assert_eq!(timestamp(1_709_210_096_000), "2024-02-29 12:34");
        assert_eq!(timestamp(951_782_400_000), "2000-02-29 00:00");
    }

    #[test]
    fn columns_align_and_numbers_go_right() {
        let rows = vec![
            vec!["a".into(), "1".into(), "x".into()],
            vec!["long".into(), "100".into(), "y".into()],
        ];
        let text = render(&["name", "n", "note"], &rows, &[1]);
        assert_eq!(text, "name    n  note\na       1  x\nlong  100  y\n");
    }
}
