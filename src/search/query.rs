//! Turns a ticket's text into a similar-case query, and runs it.
//!
//! The ticket text is run through the index's own analyzers (never through `QueryParser`), so any
//! character in a ticket is just text. Each distinct analysed term gets a query weight from where
//! it occurs (title words count more than description words) with sublinear term frequency; the
//! top [`QueryConfig::max_query_terms`] terms by weight × IDF are kept, which bounds the cost of a
//! query whatever the size of the ticket. Every kept term becomes a BM25 `TermQuery` on each case
//! field it occurs in, boosted by field and by its query weight, all summed in one disjunction.
//! Tenant, creation-time and exclusion clauses are filters that add nothing to the score.

use std::collections::HashMap;
use std::ops::Bound;

use tantivy::collector::TopDocs;
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::{DocAddress, DocSet, Searcher, TERMINATED, TantivyDocument, Term};

use super::schema::CaseFields;

/// Errors from building or running a similar-case query.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("search index error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("search index I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Tuning knobs of the similar-case query. `Default` is the tuned configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryConfig {
    /// Boost of matches in a case's title.
    pub title_boost: f32,
    /// Boost of matches in a case's description.
    pub description_boost: f32,
    /// Boost of matches in a case's log templates.
    pub templates_boost: f32,
    /// Boost of matches in a case's identifier field (dotted names, camelCase pieces).
    pub code_boost: f32,
    /// Weight of a term occurring in the ticket title.
    pub query_title_weight: f32,
    /// Weight of a term occurring in the ticket description.
    pub query_description_weight: f32,
    /// Weight of a term occurring in the ticket's log templates.
    pub query_templates_weight: f32,
    /// Most distinct terms kept (text and identifier terms together); bounds query cost.
    pub max_query_terms: usize,
    /// Only this many bytes of each ticket text section are analysed (a pasted 1 MB log must not
    /// cost a second of tokenising; its first part has the distinctive words anyway).
    pub max_text_bytes: usize,
    /// Terms in more than this fraction of cases are dropped: they barely change the ranking but
    /// make the disjunction visit most of the index.
    pub max_doc_freq_ratio: f32,
    /// Exponent applied to a term's query weight in its clause boost (0 = every kept term counts
    /// the same, 1 = proportional to its weight).
    pub query_weight_exponent: f32,
}

impl Default for QueryConfig {
    fn default() -> Self {
        Self {
            title_boost: 1.0,
            description_boost: 1.0,
            templates_boost: 1.0,
            code_boost: 0.5,
            query_title_weight: 2.0,
            query_description_weight: 1.0,
            query_templates_weight: 1.0,
            max_query_terms: 24,
            max_text_bytes: 32 * 1024,
            max_doc_freq_ratio: 0.5,
            query_weight_exponent: 1.0,
        }
    }
}

/// A ticket to find similar past cases for.
#[derive(Debug, Clone, Copy)]
pub struct CaseQuery<'a> {
    /// Tenants whose cases may be returned (usually one). Empty means no case can match.
    pub tenants: &'a [&'a str],
    pub title: &'a str,
    pub description: &'a str,
    pub templates: &'a [String],
    /// Only cases created strictly before this time (unix seconds).
    pub created_before: Option<i64>,
    /// Case id (uuid string) never to return, typically the ticket's own case.
    pub exclude_case: Option<&'a str>,
}

/// One similar case.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub case_id: String,
    /// The case's id in the tool it was imported from (e.g. INC0012345), if any.
    pub external_id: Option<String>,
    pub score: f32,
    pub title: String,
    pub service_group: Option<String>,
    pub priority: Option<String>,
    pub resolution: String,
    /// Analysed query terms that occur in the case, rarest first, at most [`MAX_MATCHED_TERMS`].
    pub matched_terms: Vec<String>,
}

/// Below this many cases [`QueryConfig::max_doc_freq_ratio`] is not applied.
const MIN_DOCS_FOR_DF_CUT: f32 = 1000.0;

/// How many matched terms a hit reports.
pub const MAX_MATCHED_TERMS: usize = 8;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Text,
    Code,
}

/// Builds the similar-case query from analysed ticket text.
///
/// Takes a `Searcher` rather than the `Index` because choosing the top terms needs document
/// frequencies; the analyzers come from `searcher.index()`. Returns `None` when the text has no
/// term that occurs in any case (empty text, only stopwords, only unknown words): such a query
/// could only return arbitrary cases.
pub fn build_query(
    searcher: &Searcher,
    fields: &CaseFields,
    q: &CaseQuery,
    config: &QueryConfig,
) -> Result<Option<Box<dyn Query>>, QueryError> {
    let index = searcher.index();
    let mut text_analyzer = index.tokenizer_for_field(fields.title)?;
    let mut code_analyzer = index.tokenizer_for_field(fields.code)?;

    // Per term: the query weight accumulated over sections.
    let mut weights: HashMap<(Kind, String), f32> = HashMap::new();
    let mut sections: Vec<(&str, f32)> = vec![
        (q.title, config.query_title_weight),
        (q.description, config.query_description_weight),
    ];
    sections.extend(
        q.templates
            .iter()
            .map(|t| (t.as_str(), config.query_templates_weight)),
    );
    for (text, section_weight) in sections {
        if section_weight <= 0.0 {
            continue;
        }
        let text = truncate_at_char(text, config.max_text_bytes);
        let mut counts: HashMap<(Kind, String), u32> = HashMap::new();
        let mut stream = text_analyzer.token_stream(text);
        while let Some(token) = stream.next() {
            *counts.entry((Kind::Text, token.text.clone())).or_default() += 1;
        }
        if config.code_boost > 0.0 {
            let mut stream = code_analyzer.token_stream(text);
            while let Some(token) = stream.next() {
                *counts.entry((Kind::Code, token.text.clone())).or_default() += 1;
            }
        }
        // Sublinear tf: a word repeated ten times in a pasted log is not ten times as telling.
        for (key, count) in counts {
            *weights.entry(key).or_default() += section_weight * (1.0 + (count as f32).ln());
        }
    }

    let text_fields: Vec<(Field, f32)> = [
        (fields.title, config.title_boost),
        (fields.description, config.description_boost),
        (fields.templates, config.templates_boost),
    ]
    .into_iter()
    .filter(|(_, boost)| *boost > 0.0)
    .collect();
    let code_fields = [(fields.code, config.code_boost)];

    let num_docs = searcher.num_docs().max(1) as f32;
    // In a small index a fraction of the cases is no evidence of a term being noise.
    let max_df = if num_docs < MIN_DOCS_FOR_DF_CUT {
        f32::INFINITY
    } else {
        config.max_doc_freq_ratio * num_docs
    };

    // Score every candidate term by weight × idf, keeping the per-field doc freqs for the clauses.
    struct Candidate {
        rank: f32,
        weight: f32,
        terms: Vec<(Term, f32)>,
    }
    let mut candidates: Vec<Candidate> = Vec::with_capacity(weights.len());
    for ((kind, text), weight) in weights {
        let targets: &[(Field, f32)] = match kind {
            Kind::Text => &text_fields,
            Kind::Code => &code_fields,
        };
        let mut df_max = 0u64;
        let mut terms = Vec::with_capacity(targets.len());
        for &(field, boost) in targets {
            if boost <= 0.0 {
                continue;
            }
            let term = Term::from_field_text(field, &text);
            let df = searcher.doc_freq(&term)?;
            if df > 0 {
                df_max = df_max.max(df);
                terms.push((term, boost));
            }
        }
        if terms.is_empty() || df_max as f32 > max_df {
            continue;
        }
        let idf = (1.0 + (num_docs - df_max as f32 + 0.5) / (df_max as f32 + 0.5)).ln();
        candidates.push(Candidate {
            rank: weight * idf,
            weight,
            terms,
        });
    }
    if candidates.is_empty() {
        return Ok(None);
    }
    // Ties broken by term bytes so the same ticket always yields the same query.
    candidates.sort_by(|a, b| {
        b.rank
            .total_cmp(&a.rank)
            .then_with(|| a.terms[0].0.cmp(&b.terms[0].0))
    });
    candidates.truncate(config.max_query_terms.max(1));

    let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for candidate in &candidates {
        let query_boost = candidate.weight.powf(config.query_weight_exponent);
        for (term, field_boost) in &candidate.terms {
            let term_query = TermQuery::new(term.clone(), IndexRecordOption::WithFreqs);
            should.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(term_query),
                    field_boost * query_boost,
                )),
            ));
        }
    }

    // Filters are Must clauses with zero score. (A custom weight that filters inside
    // Block-WAND was tried: with one tenant of many, the threshold rises slowly and the pruned
    // disjunction still walks most of the index, ~20x slower than intersecting with the tenant's
    // postings, which drive the intersection as its cheapest clause.)
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(4);
    clauses.push((Occur::Must, Box::new(BooleanQuery::new(should))));
    clauses.push((Occur::Must, filter(tenant_filter(fields.tenant, q.tenants))));
    if let Some(before) = q.created_before {
        let range = RangeQuery::new(
            Bound::Unbounded,
            Bound::Excluded(Term::from_field_i64(fields.created_at, before)),
        );
        clauses.push((Occur::Must, filter(Box::new(range))));
    }
    if let Some(case_id) = q.exclude_case {
        let term = Term::from_field_text(fields.case_id, case_id);
        clauses.push((
            Occur::MustNot,
            Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
        ));
    }
    Ok(Some(Box::new(BooleanQuery::new(clauses))))
}

/// Wraps a filter so it restricts matches without adding to the score.
fn filter(query: Box<dyn Query>) -> Box<dyn Query> {
    Box::new(ConstScoreQuery::new(query, 0.0))
}

fn tenant_filter(field: Field, tenants: &[&str]) -> Box<dyn Query> {
    let mut terms: Vec<(Occur, Box<dyn Query>)> = tenants
        .iter()
        .map(|tenant| {
            let term = Term::from_field_text(field, tenant);
            let query: Box<dyn Query> = Box::new(TermQuery::new(term, IndexRecordOption::Basic));
            (Occur::Should, query)
        })
        .collect();
    match terms.len() {
        1 => terms.remove(0).1,
        // No tenant: an empty disjunction matches nothing, which is the safe answer.
        _ => Box::new(BooleanQuery::new(terms)),
    }
}

fn truncate_at_char(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Runs a query built by [`build_query`] and returns the top `k` cases with display fields.
pub fn search(
    searcher: &Searcher,
    fields: &CaseFields,
    query: &dyn Query,
    k: usize,
) -> Result<Vec<Hit>, QueryError> {
    if k == 0 {
        return Ok(Vec::new());
    }
    let top = searcher.search(query, &TopDocs::with_limit(k).order_by_score())?;

    // Query terms on the analysed fields, deduplicated by (field, text); filter terms are not
    // evidence and are skipped.
    let analysed = [
        fields.title,
        fields.description,
        fields.templates,
        fields.code,
    ];
    let mut query_terms: Vec<&Term> = Vec::new();
    query.query_terms(&mut |term, _| {
        if analysed.contains(&term.field()) && !query_terms.contains(&term) {
            query_terms.push(term);
        }
    });
    // Rarest first, so the reported terms are the most telling ones.
    let mut by_rarity: Vec<(u64, &Term)> = Vec::with_capacity(query_terms.len());
    for term in query_terms {
        by_rarity.push((searcher.doc_freq(term)?, term));
    }
    by_rarity.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));

    let mut hits = Vec::with_capacity(top.len());
    for (score, address) in top {
        let doc: TantivyDocument = searcher.doc(address)?;
        let text = |field: Field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        hits.push(Hit {
            case_id: text(fields.case_id).unwrap_or_default(),
            external_id: text(fields.external_id),
            score,
            title: text(fields.title).unwrap_or_default(),
            service_group: text(fields.service_group),
            priority: text(fields.priority),
            resolution: text(fields.resolution).unwrap_or_default(),
            matched_terms: matched_terms(searcher, address, &by_rarity)?,
        });
    }
    Ok(hits)
}

/// The query terms present in one document, by a postings seek per term: a few hundred seeks
/// for k ≤ 20, far cheaper than re-analysing the stored text.
fn matched_terms(
    searcher: &Searcher,
    address: DocAddress,
    terms: &[(u64, &Term)],
) -> Result<Vec<String>, QueryError> {
    let segment = searcher.segment_reader(address.segment_ord);
    let mut out: Vec<String> = Vec::new();
    for (_, term) in terms {
        if out.len() >= MAX_MATCHED_TERMS {
            break;
        }
        let value = term.value();
        let Some(text) = value.as_str() else {
            continue;
        };
        if out.iter().any(|seen| seen == text) {
            continue;
        }
        let inverted = segment.inverted_index(term.field())?;
        // `seek` may only move forward, so a list already past the document does not hold it.
        if let Some(mut postings) = inverted.read_postings(term, IndexRecordOption::Basic)?
            && postings.doc() != TERMINATED
            && postings.doc() <= address.doc_id
            && postings.seek(address.doc_id) == address.doc_id
        {
            out.push(text.to_owned());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use tantivy::Index;

    use super::*;
    use crate::search::schema::{CaseDoc, build_schema, case_document, register_tokenizers};

    struct Fixture {
        searcher: Searcher,
        fields: CaseFields,
    }

    fn fixture() -> Fixture {
        let (schema, fields) = build_schema();
        let index = Index::create_in_ram(schema);
        register_tokenizers(&index);
        let mut writer = index
            .writer_with_num_threads(1, 15_000_000)
            .expect("writer");
        let cases = [
            (
                "acme",
                "c1",
                "VPN tunnel down",
                "users cannot connect to the VPN gateway",
                100,
            ),
            (
                "acme",
                "c2",
                "Printer jam",
                "printer on floor 2 jams constantly",
                200,
            ),
            (
                "acme",
                "c3",
                "VPN slow",
                "vpn gateway very slow since update",
                300,
            ),
            (
                "globex",
                "g1",
                "VPN tunnel down",
                "vpn gateway unreachable",
                150,
            ),
        ];
        for (tenant, id, title, description, created_at) in cases {
            let templates = vec!["connection to <*> refused".to_owned()];
            writer
                .add_document(case_document(
                    &fields,
                    &CaseDoc {
                        tenant,
                        case_id: id,
                        external_id: None,
                        title,
                        description,
                        templates: &templates,
                        resolution: "fixed",
                        service_group: Some("Network"),
                        priority: Some("P3"),
                        closed_at: Some(created_at + 10),
                        created_at,
                    },
                ))
                .expect("add");
        }
        writer.commit().expect("commit");
        let searcher = index.reader().expect("reader").searcher();
        Fixture { searcher, fields }
    }

    fn run(f: &Fixture, q: &CaseQuery) -> Option<Vec<Hit>> {
        let query = build_query(&f.searcher, &f.fields, q, &QueryConfig::default()).expect("build");
        query.map(|query| search(&f.searcher, &f.fields, query.as_ref(), 10).expect("search"))
    }

    fn ids(hits: &[Hit]) -> Vec<&str> {
        hits.iter().map(|h| h.case_id.as_str()).collect()
    }

    fn vpn_query<'a>(tenants: &'a [&'a str]) -> CaseQuery<'a> {
        CaseQuery {
            tenants,
            title: "VPN tunnel down again",
            description: "the vpn gateway does not answer",
            templates: &[],
            created_before: None,
            exclude_case: None,
        }
    }

    #[test]
    fn tenant_filter_excludes_other_tenants() {
        let f = fixture();
        let hits = run(&f, &vpn_query(&["acme"])).expect("query");
        assert_eq!(ids(&hits), ["c1", "c3"]);
        assert!(hits[0].matched_terms.contains(&"tunnel".to_owned()));
        assert_eq!(hits[0].title, "VPN tunnel down");
        assert_eq!(hits[0].service_group.as_deref(), Some("Network"));
        let hits = run(&f, &vpn_query(&["globex"])).expect("query");
        assert_eq!(ids(&hits), ["g1"]);
        let hits = run(&f, &vpn_query(&["acme", "globex"])).expect("query");
        assert_eq!(hits.len(), 3);
        let hits = run(&f, &vpn_query(&[])).expect("query");
        assert!(hits.is_empty());
    }

    /// Random text from query syntax, punctuation, non-ASCII letters, controls and case words:
    /// every query builds and runs, and never leaves the tenant.
    #[test]
    fn random_text_never_errors_or_crosses_tenants() {
        let f = fixture();
        let pieces = [
            "\"",
            ":",
            "(",
            ")",
            "*",
            "~",
            "^",
            "\\",
            "/",
            "[",
            "]",
            "{",
            "}",
            "!",
            "?",
            "-",
            "+",
            "&&",
            "||",
            "AND",
            "OR",
            "NOT",
            "TO",
            " ",
            "\n",
            "\t",
            "\u{0}",
            "\u{202e}",
            "é",
            "ß",
            "日本",
            "🙂",
            "vpn",
            "VPN",
            "printer",
            "gateway",
            "tunnel",
            "x".repeat(60).leak(),
            "org.apache.Foo",
            "NullPointerException",
            "10.0.0.1",
            "<*>",
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..500 {
            let mut text = String::new();
            for _ in 0..next(40) {
                text.push_str(pieces[next(pieces.len())]);
            }
            let q = CaseQuery {
                title: &text,
                description: &text,
                ..vpn_query(&["globex"])
            };
            // `run` fails the test on any build or search error; `None` means no usable term.
            let hits = run(&f, &q).unwrap_or_default();
            assert!(
                hits.iter().all(|h| h.case_id == "g1"),
                "{text:?} left the tenant"
            );
        }
    }

    #[test]
    fn syntax_characters_do_not_error() {
        let f = fixture();
        let nasty =
            r#"VPN "down" title:foo (a OR b* ~2 \ AND -x +y) [1 TO 5] {x} ^3 && || ! / '' : "#;
        let q = CaseQuery {
            title: nasty,
            description: nasty,
            ..vpn_query(&["acme"])
        };
        let hits = run(&f, &q).expect("vpn is a usable term");
        assert!(ids(&hits).contains(&"c1"));
        assert!(!ids(&hits).contains(&"g1"));
        let only_syntax = CaseQuery {
            title: r#"" : ( * ~ \ - ) AND OR"#,
            description: "",
            ..vpn_query(&["acme"])
        };
        assert!(run(&f, &only_syntax).is_none());
    }

    #[test]
    fn empty_or_unknown_text_gives_none() {
        let f = fixture();
        let empty = CaseQuery {
            title: "",
            description: "   ",
            ..vpn_query(&["acme"])
        };
        assert!(run(&f, &empty).is_none());
        let stop = CaseQuery {
            title: "the and of",
            description: "zzyzx",
            ..vpn_query(&["acme"])
        };
        assert!(run(&f, &stop).is_none());
    }

    #[test]
    fn created_before_limits_to_older_cases() {
        let f = fixture();
        let q = CaseQuery {
            created_before: Some(300),
            ..vpn_query(&["acme"])
        };
        assert_eq!(ids(&run(&f, &q).expect("query")), ["c1"]);
        let q = CaseQuery {
            created_before: Some(100),
            ..vpn_query(&["acme"])
        };
        assert!(run(&f, &q).expect("query").is_empty());
    }

    #[test]
    fn exclude_case_drops_that_case() {
        let f = fixture();
        let q = CaseQuery {
            exclude_case: Some("c1"),
            ..vpn_query(&["acme"])
        };
        assert_eq!(ids(&run(&f, &q).expect("query")), ["c3"]);
    }

    #[test]
    fn huge_text_is_capped() {
        let f = fixture();
        let big = "printer jam ".repeat(200_000) + "vpn";
        let q = CaseQuery {
            title: "",
            description: &big,
            ..vpn_query(&["acme"])
        };
        let query = build_query(&f.searcher, &f.fields, &q, &QueryConfig::default())
            .expect("build")
            .expect("terms");
        let mut n = 0;
        query.query_terms(&mut |_, _| n += 1);
        assert!(n <= QueryConfig::default().max_query_terms * 4 + 2);
        let hits = search(&f.searcher, &f.fields, query.as_ref(), 10).expect("search");
        assert_eq!(ids(&hits), ["c2"]);
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_at_char("äää", 3), "ä");
        assert_eq!(truncate_at_char("abc", 10), "abc");
    }
}
