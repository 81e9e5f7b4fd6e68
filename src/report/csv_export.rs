//! CSV export of agreement rows for auditors, who open it in a spreadsheet.
//!
//! One line per decided field, in the caller's order. Every cell is text the spreadsheet must
//! not execute: people type the reasons, and the other columns pass through systems we do not
//! control, so any cell that a spreadsheet would read as a formula is defused.

use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};

use super::agreement::AgreementRow;

/// Column names, in order; the header line of every export.
pub const HEADER: [&str; 22] = [
    "tenant",
    "ticket_id",
    "suggestion_id",
    "field",
    "suggested",
    "candidate",
    "confidence",
    "abstained",
    "source",
    "proposer",
    "prompt_version",
    "suggested_at",
    "decision_id",
    "action",
    "decided",
    "reason_code",
    "reason",
    "decided_by",
    "decided_at",
    "approval_status",
    "approved_by",
    "approved_at",
];

/// Leading characters that make Excel, LibreOffice or Sheets treat a cell as a formula (tab and
/// carriage return can hide one after them).
const FORMULA_TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

#[derive(Debug, thiserror::Error)]
pub enum CsvExportError {
    #[error("writing CSV failed: {0}")]
    Csv(#[from] csv::Error),
    #[error("flushing CSV output failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Writes the header and one line per row to `out`, flushing at the end so a failure to write
/// the last bytes is reported rather than lost on drop.
pub fn write_csv<W: Write>(rows: &[AgreementRow], out: W) -> Result<(), CsvExportError> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(HEADER)?;
    for row in rows {
        writer.write_record(record(row).map(defuse))?;
    }
    writer.flush()?;
    Ok(())
}

/// The cells of one row, before defusing; missing values are empty cells.
fn record(row: &AgreementRow) -> [String; 22] {
    [
        row.tenant.clone(),
        row.ticket_id.to_string(),
        row.suggestion_id.to_string(),
        row.field.clone(),
        optional(&row.suggested),
        optional(&row.candidate),
        format!("{:.3}", row.confidence),
        row.abstained.to_string(),
        row.source.clone(),
        row.proposer.clone(),
        optional(&row.prompt_version),
        timestamp(&row.suggested_at),
        row.decision_id.to_string(),
        row.action.as_str().to_string(),
        optional(&row.decided),
        optional(&row.reason_code),
        optional(&row.reason),
        row.decided_by.clone(),
        timestamp(&row.decided_at),
        optional(&row.approval_status),
        optional(&row.approved_by),
        row.approved_at.as_ref().map(timestamp).unwrap_or_default(),
    ]
}

fn optional(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

/// RFC 3339 in UTC with a `Z`; fractional seconds only when the time has them, so nothing the
/// store kept is rounded away.
fn timestamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Prefixes a single quote to a cell a spreadsheet would run as a formula; the quote makes it
/// text and is not shown. Applied to every cell, not only free text, because a guard that
/// depends on knowing which columns are "safe" breaks when a column changes.
fn defuse(cell: String) -> String {
    if cell.starts_with(FORMULA_TRIGGERS) {
        format!("'{cell}")
    } else {
        cell
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::agreement::fixtures::{at, id, row};

    fn export(rows: &[AgreementRow]) -> String {
        let mut out = Vec::new();
        write_csv(rows, &mut out).expect("writes to a Vec");
        String::from_utf8(out).expect("UTF-8")
    }

    /// Parses an export back into its header and records.
    fn parse(text: &str) -> (Vec<String>, Vec<csv::StringRecord>) {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header = reader
            .headers()
            .expect("header")
            .iter()
            .map(String::from)
            .collect();
        let records = reader
            .records()
            .collect::<Result<_, _>>()
            .expect("records parse");
        (header, records)
    }

    fn full_row() -> AgreementRow {
        AgreementRow {
            field: "priority".into(),
            candidate: Some("P2".into()),
            confidence: 0.8126,
            prompt_version: Some("triage/4".into()),
            reason_code: Some("customer_vip".into()),
            reason: Some("He said \"urgent\", twice,\nthen hung up".into()),
            approval_status: Some("approved".into()),
            approved_by: Some("bob".into()),
            approved_at: Some(at(30)),
            ..row(7, Some("P3"), Some("P1"))
        }
    }

    #[test]
    fn header_then_one_line_per_row() {
        let (header, records) = parse(&export(&[full_row(), row(8, None, None)]));
        assert_eq!(header, HEADER);
        assert_eq!(records.len(), 2);
        assert!(records.iter().all(|r| r.len() == HEADER.len()));
    }

    #[test]
    fn round_trips_every_column() {
        let (_, records) = parse(&export(&[full_row()]));
        let r = &records[0];
        let expected = [
            "acme",
            &id(2007).to_string(),
            &id(1007).to_string(),
            "priority",
            "P3",
            "P2",
            "0.813",
            "false",
            "retrieval",
            "svm-knn/1",
            "triage/4",
            "2024-05-01T10:00:00Z",
            &id(7).to_string(),
            "override",
            "P1",
            "customer_vip",
            "He said \"urgent\", twice,\nthen hung up",
            "alice",
            "2024-05-01T10:07:00Z",
            "approved",
            "bob",
            "2024-05-01T10:30:00Z",
        ];
        let actual: Vec<&str> = r.iter().collect();
        assert_eq!(actual, expected);
    }

    #[test]
    fn missing_values_are_empty_cells() {
        let (_, records) = parse(&export(&[row(8, None, None)]));
        let r = &records[0];
        for column in ["suggested", "decided", "reason", "approved_at"] {
            let i = HEADER.iter().position(|h| *h == column).expect("column");
            assert_eq!(&r[i], "", "{column}");
        }
        assert_eq!(&r[7], "true");
        assert_eq!(&r[13], "accept");
    }

    #[test]
    fn formula_cells_are_defused() {
        let hostile = AgreementRow {
            tenant: "@tenant".into(),
            reason: Some("=HYPERLINK(\"http://x\",\"y\")".into()),
            reason_code: Some("+cmd".into()),
            decided_by: "-2+3".into(),
            approved_by: Some("\tx".into()),
            approval_status: Some("\r=1".into()),
            proposer: "a=b".into(),
            ..row(9, Some("A"), Some("B"))
        };
        let (_, records) = parse(&export(&[hostile]));
        let r = &records[0];
        assert_eq!(&r[0], "'@tenant");
        assert_eq!(&r[16], "'=HYPERLINK(\"http://x\",\"y\")");
        assert_eq!(&r[15], "'+cmd");
        assert_eq!(&r[17], "'-2+3");
        assert_eq!(&r[20], "'\tx");
        assert_eq!(&r[19], "'\r=1");
        assert_eq!(&r[9], "a=b", "only a leading trigger is defused");
    }

    #[test]
    fn sub_second_times_keep_their_fraction() {
        let mut r = row(1, Some("A"), Some("A"));
        r.decided_at += chrono::Duration::milliseconds(250);
        let (_, records) = parse(&export(&[r]));
        assert_eq!(&records[0][18], "2024-05-01T10:01:00.250Z");
    }

    #[test]
    fn write_errors_are_reported() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk full"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        assert!(write_csv(&[row(1, None, None)], Broken).is_err());
    }
}
