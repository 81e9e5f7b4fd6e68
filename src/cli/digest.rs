//! `triagegate digest [--json] [--budget N] FILE...`: digests logs from files or standard input
//! (`-`), plain or gzip, and prints the budgeted text or the full JSON.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;

use crate::digest::{Digest, DigestOptions, digest_reader};

#[derive(Serialize)]
struct FileDigest {
    file: String,
    digest: Digest,
}

#[derive(Serialize)]
struct Output {
    files: Vec<FileDigest>,
}

pub fn digest_files(
    files: &[PathBuf],
    json: bool,
    budget: usize,
    config: &crate::config::DigestConfig,
) -> anyhow::Result<ExitCode> {
    let options = DigestOptions::from_config(config);
    let mut digests = Vec::with_capacity(files.len());
    for file in files {
        let name = file.display().to_string();
        let reader: Box<dyn Read> = if name == "-" {
            Box::new(std::io::stdin().lock())
        } else {
            Box::new(std::fs::File::open(file).with_context(|| format!("opening {name}"))?)
        };
        let digest = digest_reader(reader, options).with_context(|| format!("digesting {name}"))?;
        digests.push(FileDigest { file: name, digest });
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&Output { files: digests })?
        );
    } else {
        let several = digests.len() > 1;
        for one in &digests {
            if several {
                println!("== {}", one.file);
            }
            print!("{}", one.digest.render(budget));
        }
    }
    Ok(ExitCode::SUCCESS)
}
