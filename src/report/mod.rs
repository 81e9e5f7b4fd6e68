//! Reports for QA and auditors: how often people agreed with the machine, per field, model,
//! prompt and source, with the underlying rows as CSV and simple SVG charts. Pure functions over
//! rows the store returns.

pub mod agreement;
pub mod csv_export;
pub mod rows;
pub mod svg;
