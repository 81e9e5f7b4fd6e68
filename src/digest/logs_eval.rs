//! Log-parsing accuracy on the Loghub benchmark: loading the labelled `_structured*.csv` files of
//! a Loghub-2k folder, and the metrics that compare a template miner's output with them — grouping
//! accuracy as Zhu et al. (ICSE-SEIP 2019) define it, and GA / FGA / PA / FTA as the Loghub-2.0
//! artefact (Jiang et al., ISSTA 2024, `logpai/loghub-2.0`) computes them. The metric functions are
//! pure and O(n) in the number of lines; nothing here runs a miner.

use std::collections::HashMap;
use std::fs::File;
use std::hash::Hash;
use std::path::{Path, PathBuf};

/// One labelled line of a Loghub structured CSV.
#[derive(Debug, Clone)]
pub struct LabelledLine {
    pub line_id: u64,
    /// The message text a miner is fed (logparser's `Content` column).
    pub content: String,
    /// The ground-truth group id, e.g. `E12`.
    pub event_id: String,
    /// The ground-truth template, with `<*>` for each variable part.
    pub template: String,
}

/// Why a benchmark file or folder could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("malformed CSV {}: {message}", path.display())]
    Csv { path: PathBuf, message: String },
    #[error("{} has no `{column}` column", path.display())]
    MissingColumn { path: PathBuf, column: &'static str },
}

/// Reads a Loghub `_structured*.csv` file and returns its lines ordered by `LineId`.
///
/// It needs the columns `LineId`, `Content` and `EventTemplate`; the per-system header columns
/// are ignored. Where the file has no `EventId` column (the Loghub-2.0 full sets name groups by
/// template only), the template doubles as the id. Fields are taken verbatim, without trimming,
/// because the metrics compare template strings exactly. Plain CSV only: gzipped files must be
/// unpacked first.
pub fn read_structured(path: &Path) -> Result<Vec<LabelledLine>, LoadError> {
    let csv_error = |message: String| LoadError::Csv {
        path: path.to_path_buf(),
        message,
    };
    let file = File::open(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = csv::Reader::from_reader(file);
    let headers = reader
        .headers()
        .map_err(|e| csv_error(e.to_string()))?
        .clone();
    // A byte-order mark would otherwise glue itself to the first column name.
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}') == name)
    };
    let required = |name: &'static str| {
        column(name).ok_or_else(|| LoadError::MissingColumn {
            path: path.to_path_buf(),
            column: name,
        })
    };
    let line_id_col = required("LineId")?;
    let content_col = required("Content")?;
    let template_col = required("EventTemplate")?;
    let event_id_col = column("EventId");

    let mut lines = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(e.to_string()))?;
        let row = record.position().map_or(0, csv::Position::line);
        let field = |col: usize| record.get(col).unwrap_or_default();
        let raw_id = field(line_id_col);
        let line_id = raw_id
            .trim()
            .parse::<u64>()
            .map_err(|_| csv_error(format!("line {row}: LineId {raw_id:?} is not a number")))?;
        let template = field(template_col).to_owned();
        let event_id = event_id_col.map_or_else(|| template.clone(), |c| field(c).to_owned());
        lines.push(LabelledLine {
            line_id,
            content: field(content_col).to_owned(),
            event_id,
            template,
        });
    }
    // Stable, so duplicate ids keep file order; the published files are already sorted.
    lines.sort_by_key(|line| line.line_id);
    Ok(lines)
}

/// The ground-truth files of one system folder.
///
/// `structured` is the original `<name>_2k.log_structured.csv` (Zhu et al. 2019); `loghub2` is
/// `<name>_2k.log_structured_loghub2.csv` if present, else `<name>_2k.log_structured_corrected.csv`
/// (Khan et al. 2022), else `None`.
#[derive(Debug, Clone)]
pub struct SystemFiles {
    pub name: String,
    pub structured: PathBuf,
    pub loghub2: Option<PathBuf>,
}

/// Lists the systems of a Loghub-2k folder, sorted by name.
///
/// A system is a sub-folder `<name>/` holding `<name>_2k.log_structured.csv`; other entries
/// (`published/`, loose files, folders with non-UTF-8 names) are skipped.
pub fn find_systems(dir: &Path) -> Result<Vec<SystemFiles>, LoadError> {
    let io_error = |source| LoadError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut systems = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error)? {
        let folder = entry.map_err(io_error)?.path();
        let Some(name) = folder
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_owned)
        else {
            continue;
        };
        let file = |suffix: &str| folder.join(format!("{name}_2k.log_structured{suffix}.csv"));
        let structured = file("");
        // False for loose files too, since nothing lies under a file.
        if !structured.is_file() {
            continue;
        }
        let loghub2 = [file("_loghub2"), file("_corrected")]
            .into_iter()
            .find(|candidate| candidate.is_file());
        systems.push(SystemFiles {
            name,
            structured,
            loghub2,
        });
    }
    systems.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(systems)
}

/// Grouping accuracy as defined by Zhu et al. 2019 (logparser's `evaluator.get_accuracy`).
///
/// A line is correct iff the set of lines in its predicted cluster equals the set of lines sharing
/// its ground-truth id; the result is the share of correct lines. `truth[i]` and `predicted[i]`
/// describe line i, and labels only need equality: cluster numbers, event ids or template strings.
/// Lines without ground truth must be left out by the caller, as logparser drops them.
///
/// Returns 0.0 for no lines. Slices of different lengths are a caller bug: debug builds panic,
/// release builds score the common prefix.
pub fn grouping_accuracy<T: Eq + Hash, P: Eq + Hash>(truth: &[T], predicted: &[P]) -> f64 {
    debug_assert_eq!(
        truth.len(),
        predicted.len(),
        "one label per line on both sides"
    );
    let n = truth.len().min(predicted.len());
    let truth = Interned::new(truth[..n].iter());
    let predicted = Interned::new(predicted[..n].iter());
    let pairing = Pairing::new(&truth, &predicted);
    ratio(pairing.exact_lines, n)
}

/// The Loghub-2.0 accuracy figures of one system, each in 0..=1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Loghub2Scores {
    /// Grouping accuracy: share of lines whose predicted group is exactly their true group.
    pub ga: f64,
    /// F1 of grouping over groups (PGA, RGA).
    pub fga: f64,
    /// Parsing accuracy: share of lines whose predicted template equals the truth exactly.
    pub pa: f64,
    /// F1 of template accuracy over groups (PTA, RTA).
    pub fta: f64,
}

/// Computes GA, FGA, PA and FTA as the Loghub-2.0 artefact's evaluator does
/// (`logparser/utils/evaluator.py`, `evaluation/utils/PA_calculator.py` and
/// `template_level_analysis.py`). Groups are keyed by template string on both sides: a predicted
/// group is every line with one predicted string, a true group every line with one true string.
///
/// - GA: a line is correct iff its predicted group and its true group hold the same lines.
/// - FGA: a true group is matched iff some predicted group holds exactly its lines;
///   PGA = matched / predicted groups, RGA = matched / true groups, FGA = their F1.
/// - PA: share of lines whose predicted string equals the true string byte for byte.
/// - FTA: a predicted group is correct iff all its lines share one true template and that
///   template is the group's own string. Like the artefact, this does not ask the group to hold
///   all lines of that template, so an over-split part still counts when its string is exact.
///   PTA = correct / predicted groups, RTA = correct / true groups, FTA = their F1.
///
/// A line whose true template is empty counts as unlabelled, as a missing value does in the
/// artefact: it is left out of GA, FGA and FTA, and counts as wrong in PA's denominator. An F1
/// whose precision and recall are both 0 is 0; no lines give all zeros. Slices of different
/// lengths are a caller bug: debug builds panic, release builds score the common prefix.
pub fn loghub2_scores(truth_templates: &[&str], predicted_templates: &[&str]) -> Loghub2Scores {
    debug_assert_eq!(
        truth_templates.len(),
        predicted_templates.len(),
        "one template per line on both sides"
    );
    let n = truth_templates.len().min(predicted_templates.len());
    let (truth_templates, predicted_templates) = (&truth_templates[..n], &predicted_templates[..n]);

    let exact = truth_templates
        .iter()
        .zip(predicted_templates)
        .filter(|(truth, predicted)| !truth.is_empty() && truth == predicted)
        .count();
    let pa = ratio(exact, n);

    let (labelled_truth, labelled_predicted): (Vec<&str>, Vec<&str>) = truth_templates
        .iter()
        .zip(predicted_templates)
        .filter(|(truth, _)| !truth.is_empty())
        .map(|(truth, predicted)| (*truth, *predicted))
        .unzip();
    let truth = Interned::new(labelled_truth.into_iter());
    let predicted = Interned::new(labelled_predicted.into_iter());
    let pairing = Pairing::new(&truth, &predicted);
    let (truth_groups, predicted_groups) = (truth.keys.len(), predicted.keys.len());

    let template_hits = pairing
        .partner_of_predicted
        .iter()
        .zip(&predicted.keys)
        .filter(|(partner, key)| matches!(partner, Partner::Only(t) if truth.keys[*t] == **key))
        .count();

    Loghub2Scores {
        ga: ratio(pairing.exact_lines, truth.ids.len()),
        fga: f1(
            ratio(pairing.exact_groups, predicted_groups),
            ratio(pairing.exact_groups, truth_groups),
        ),
        pa,
        fta: f1(
            ratio(template_hits, predicted_groups),
            ratio(template_hits, truth_groups),
        ),
    }
}

/// Dense ids for the labels of one side: `ids[i]` is line i's group, `keys[g]` group g's label,
/// and `sizes[g]` its line count. Interning once keeps every later pass a plain array walk.
struct Interned<'a, K: ?Sized> {
    ids: Vec<usize>,
    keys: Vec<&'a K>,
    sizes: Vec<usize>,
}

impl<'a, K: Eq + Hash + ?Sized> Interned<'a, K> {
    fn new(labels: impl Iterator<Item = &'a K>) -> Self {
        let mut index: HashMap<&'a K, usize> = HashMap::new();
        let mut interned = Interned {
            ids: Vec::with_capacity(labels.size_hint().0),
            keys: Vec::new(),
            sizes: Vec::new(),
        };
        for label in labels {
            let id = *index.entry(label).or_insert_with(|| {
                interned.keys.push(label);
                interned.sizes.push(0);
                interned.keys.len() - 1
            });
            interned.sizes[id] += 1;
            interned.ids.push(id);
        }
        interned
    }
}

/// The groups of the other side that one group's lines fall into, up to "more than one".
#[derive(Debug, Clone, Copy, PartialEq)]
enum Partner {
    Unseen,
    Only(usize),
    Several,
}

impl Partner {
    fn add(&mut self, group: usize) {
        *self = match *self {
            Partner::Unseen => Partner::Only(group),
            Partner::Only(seen) if seen == group => Partner::Only(seen),
            _ => Partner::Several,
        };
    }
}

/// How true and predicted groups overlap. A true group t and a predicted group p hold the same
/// lines exactly when each is the other's only partner, so one pass over the lines suffices.
struct Pairing {
    partner_of_predicted: Vec<Partner>,
    /// True groups with an identical predicted group.
    exact_groups: usize,
    /// Lines in those groups.
    exact_lines: usize,
}

impl Pairing {
    fn new<T: ?Sized, P: ?Sized>(truth: &Interned<'_, T>, predicted: &Interned<'_, P>) -> Self {
        let mut partner_of_truth = vec![Partner::Unseen; truth.keys.len()];
        let mut partner_of_predicted = vec![Partner::Unseen; predicted.keys.len()];
        for (&t, &p) in truth.ids.iter().zip(&predicted.ids) {
            partner_of_truth[t].add(p);
            partner_of_predicted[p].add(t);
        }
        let (mut exact_groups, mut exact_lines) = (0, 0);
        for (t, partner) in partner_of_truth.iter().enumerate() {
            if let Partner::Only(p) = *partner
                && partner_of_predicted[p] == Partner::Only(t)
            {
                exact_groups += 1;
                exact_lines += truth.sizes[t];
            }
        }
        Pairing {
            partner_of_predicted,
            exact_groups,
            exact_lines,
        }
    }
}

/// `part / whole`, with 0 for an empty whole so that no figure is ever NaN.
fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Harmonic mean of precision and recall, 0 when both are 0 (as the artefact does).
fn f1(precision: f64, recall: f64) -> f64 {
    if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(truth: &[&str], predicted: &[&str]) -> Loghub2Scores {
        loghub2_scores(truth, predicted)
    }

    fn close(actual: f64, expected: f64) -> bool {
        (actual - expected).abs() < 1e-12
    }

    #[test]
    fn grouping_accuracy_is_one_for_a_relabelled_perfect_grouping() {
        let truth = ["E1", "E2", "E1", "E3"];
        let predicted = [7_u32, 3, 7, 9];
        assert_eq!(grouping_accuracy(&truth, &predicted), 1.0);
    }

    #[test]
    fn grouping_accuracy_fails_every_line_of_an_over_split_group() {
        // E1 is split over clusters 1 and 2; E2 alone in cluster 3 is still right.
        let truth = ["E1", "E1", "E1", "E2"];
        let predicted = [1, 1, 2, 3];
        assert!(close(grouping_accuracy(&truth, &predicted), 0.25));
    }

    #[test]
    fn grouping_accuracy_fails_every_line_of_an_over_merged_cluster() {
        let truth = ["A", "A", "B", "B", "C"];
        let predicted = [1, 1, 1, 1, 2];
        assert!(close(grouping_accuracy(&truth, &predicted), 0.2));
    }

    #[test]
    fn empty_inputs_score_zero_not_nan() {
        assert_eq!(grouping_accuracy::<u8, u8>(&[], &[]), 0.0);
        let zero = Loghub2Scores {
            ga: 0.0,
            fga: 0.0,
            pa: 0.0,
            fta: 0.0,
        };
        assert_eq!(scores(&[], &[]), zero);
        // Only unlabelled lines: nothing to group, and PA counts them as wrong.
        assert_eq!(scores(&["", ""], &["a", "a"]), zero);
    }

    #[test]
    fn loghub2_scores_are_one_for_identical_templates() {
        let truth = ["a <*>", "b", "a <*>", "c <*> d"];
        let all_one = Loghub2Scores {
            ga: 1.0,
            fga: 1.0,
            pa: 1.0,
            fta: 1.0,
        };
        assert_eq!(scores(&truth, &truth), all_one);
    }

    #[test]
    fn wrong_template_strings_keep_grouping_but_lose_pa_and_fta() {
        let s = scores(&["a <*>", "a <*>", "b"], &["a x", "a x", "b"]);
        assert_eq!((s.ga, s.fga), (1.0, 1.0));
        assert!(close(s.pa, 1.0 / 3.0));
        // One of two predicted groups and one of two true groups carry the right string.
        assert!(close(s.fta, 0.5));
    }

    #[test]
    fn over_split_group_with_an_exact_string_still_counts_for_fta() {
        // Truth T is split into predicted "T" (lines 0, 1) and "X" (line 2).
        let s = scores(&["T", "T", "T", "U"], &["T", "T", "X", "U"]);
        assert!(close(s.ga, 0.25));
        // One exact group (U) of 3 predicted and 2 true: F1(1/3, 1/2) = 0.4.
        assert!(close(s.fga, 0.4));
        assert!(close(s.pa, 0.75));
        // As in the artefact, predicted "T" holds only T lines and so counts: F1(2/3, 1) = 0.8.
        assert!(close(s.fta, 0.8));
    }

    #[test]
    fn over_merged_group_fails_ga_fga_and_fta() {
        let s = scores(&["A", "A", "B"], &["A", "A", "A"]);
        assert_eq!((s.ga, s.fga, s.fta), (0.0, 0.0, 0.0));
        assert!(close(s.pa, 2.0 / 3.0));
    }

    #[test]
    fn lines_without_a_true_template_are_left_out_of_grouping() {
        let s = scores(&["", "a", "a"], &["x", "a", "a"]);
        assert_eq!((s.ga, s.fga, s.fta), (1.0, 1.0, 1.0));
        assert!(close(s.pa, 2.0 / 3.0));
    }

    #[test]
    #[cfg_attr(debug_assertions, should_panic(expected = "one label per line"))]
    fn grouping_accuracy_scores_the_common_prefix_of_unequal_slices() {
        assert_eq!(grouping_accuracy(&["A", "B"], &[1, 2, 2]), 1.0);
    }

    #[test]
    #[cfg_attr(debug_assertions, should_panic(expected = "one template per line"))]
    fn loghub2_scores_score_the_common_prefix_of_unequal_slices() {
        assert_eq!(scores(&["a", "b", "c"], &["a", "b"]).pa, 1.0);
    }

    #[test]
    fn read_structured_handles_quotes_missing_event_id_and_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("X_2k.log_structured.csv");
        let text = "LineId,Level,Content,EventTemplate\n\
                    2,INFO,\"says \"\"hi\"\", twice\",\"says <*>, twice\"\n\
                    1,WARN,plain,plain\n";
        std::fs::write(&path, text).expect("write");
        let lines = read_structured(&path).expect("read");
        let ids: Vec<u64> = lines.iter().map(|l| l.line_id).collect();
        assert_eq!(ids, [1, 2]);
        assert_eq!(lines[1].content, "says \"hi\", twice");
        assert_eq!(lines[1].template, "says <*>, twice");
        assert_eq!(lines[1].event_id, lines[1].template);
    }

    #[test]
    fn read_structured_reports_what_is_wrong() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("bad.csv");
        std::fs::write(&path, "LineId,EventTemplate\n1,a\n").expect("write");
        let err = read_structured(&path).expect_err("no Content column");
        assert!(matches!(
            err,
            LoadError::MissingColumn {
                column: "Content",
                ..
            }
        ));

        std::fs::write(&path, "LineId,Content,EventTemplate\nx,a,a\n").expect("write");
        let err = read_structured(&path).expect_err("bad LineId");
        assert!(matches!(err, LoadError::Csv { .. }), "{err}");

        std::fs::write(&path, "LineId,Content,EventTemplate\n1,a\n").expect("write");
        assert!(matches!(read_structured(&path), Err(LoadError::Csv { .. })));

        let missing = dir.path().join("missing.csv");
        assert!(matches!(
            read_structured(&missing),
            Err(LoadError::Io { .. })
        ));
    }

    #[test]
    fn find_systems_prefers_loghub2_then_corrected_and_skips_other_entries() {
        let dir = tempfile::tempdir().expect("temp dir");
        let add = |system: &str, suffixes: &[&str]| {
            let folder = dir.path().join(system);
            std::fs::create_dir_all(&folder).expect("mkdir");
            for suffix in suffixes {
                let name = format!("{system}_2k.log_structured{suffix}.csv");
                std::fs::write(folder.join(name), "").expect("write");
            }
        };
        add("Zed", &["", "_corrected", "_loghub2"]);
        add("Alpha", &["", "_corrected"]);
        add("Mid", &[""]);
        add("published", &[]);
        add("Orphan", &["_loghub2"]);
        std::fs::write(dir.path().join("summary.csv"), "").expect("write");

        let systems = find_systems(dir.path()).expect("find");
        let found: Vec<(&str, Option<String>)> = systems
            .iter()
            .map(|s| {
                let loghub2 = s.loghub2.as_ref().and_then(|p| p.file_name());
                (
                    s.name.as_str(),
                    loghub2.map(|n| n.to_string_lossy().into_owned()),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                (
                    "Alpha",
                    Some("Alpha_2k.log_structured_corrected.csv".to_owned())
                ),
                ("Mid", None),
                ("Zed", Some("Zed_2k.log_structured_loghub2.csv".to_owned())),
            ]
        );
        assert!(
            systems[1]
                .structured
                .ends_with("Mid/Mid_2k.log_structured.csv")
        );
    }

    /// The Loghub-2k folder beside the checkout (`../shared/data/loghub-2k`), or `LOGHUB_2K_DIR`.
    fn loghub_2k_dir() -> Option<PathBuf> {
        let dir = std::env::var_os("LOGHUB_2K_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/loghub-2k")
            });
        dir.is_dir().then_some(dir)
    }

    fn assert_perfect_against_itself(lines: &[LabelledLine]) {
        let ids: Vec<&str> = lines.iter().map(|l| l.event_id.as_str()).collect();
        let templates: Vec<&str> = lines.iter().map(|l| l.template.as_str()).collect();
        assert_eq!(grouping_accuracy(&ids, &ids), 1.0);
        assert_eq!(
            grouping_accuracy(&ids, &templates),
            1.0,
            "one template per EventId"
        );
        let s = loghub2_scores(&templates, &templates);
        assert_eq!((s.ga, s.fga, s.pa, s.fta), (1.0, 1.0, 1.0, 1.0));
    }

    #[test]
    fn real_apache_ground_truth_scores_one_against_itself() {
        let Some(dir) = loghub_2k_dir() else {
            eprintln!("skipped: no loghub-2k folder beside the checkout");
            return;
        };
        let apache = dir.join("Apache");
        if !apache.is_dir() {
            eprintln!("skipped: no Apache folder in {}", dir.display());
            return;
        }
        let systems = find_systems(&dir).expect("list systems");
        let system = systems
            .iter()
            .find(|s| s.name == "Apache")
            .expect("Apache listed");
        let loghub2 = system
            .loghub2
            .as_ref()
            .expect("Apache has Loghub-2.0 truth");
        assert!(loghub2.ends_with("Apache_2k.log_structured_loghub2.csv"));
        for path in [&system.structured, loghub2] {
            let lines = read_structured(path).expect("read Apache");
            assert_eq!(lines.len(), 2000);
            assert!(lines.windows(2).all(|w| w[0].line_id < w[1].line_id));
            assert_perfect_against_itself(&lines);
        }
    }
}
