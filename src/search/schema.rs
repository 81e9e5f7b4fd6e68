//! How past cases are laid out in the tantivy index.
//!
//! Two analyzers are registered on the index:
//! - [`TEXT_ANALYZER`] for prose: split on non-alphanumerics, drop over-long tokens (base64, hex
//!   dumps), lowercase, fold accents, drop a standard English stopword list, English stemming.
//! - [`CODE_ANALYZER`] for the identifiers that tickets and logs are full of: whole dotted/underscored
//!   identifiers (`org.apache.fs.FileSystem`, `dfs.replication`, `10.0.0.1`) plus the pieces of
//!   camelCase words (`NullPointerException` → `null`, `pointer`, `exception`). Plain words produce
//!   nothing here, so this field stays small and only adds evidence the prose analyzer cannot see.
//!
//! Text fields are indexed with frequencies but without positions: similar-case search never runs
//! phrase queries, and skipping positions makes indexing faster and the index smaller.
//!
//! Any change to fields, options or analyzers must bump [`SCHEMA_VERSION`] so the index is rebuilt.

use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    StopWordFilter, TextAnalyzer, Token, TokenStream, Tokenizer,
};
use tantivy::{Index, TantivyDocument};

/// Bump whenever the schema or an analyzer changes; an index built with another version must be
/// rebuilt from the case store.
pub const SCHEMA_VERSION: u32 = 1;

/// Analyzer for prose fields (title, description, templates).
pub const TEXT_ANALYZER: &str = "tg_text";
/// Analyzer for the identifier field.
pub const CODE_ANALYZER: &str = "tg_code";

/// Tokens longer than this are almost always hashes, base64 or hex dumps; they never recur in
/// another case and only bloat the term dictionary.
const MAX_TEXT_TOKEN_LEN: usize = 40;
/// Dotted identifiers (Java class names, config keys) are legitimately long.
const MAX_CODE_TOKEN_LEN: usize = 100;

/// Lucene's English stopword list plus common pronouns/auxiliaries of ticket prose. Generic
/// English only: nothing here is tuned to a particular dataset.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
    "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these",
    "they", "this", "to", "was", "will", "with", "i", "me", "my", "we", "our", "you", "your", "he",
    "she", "him", "her", "its", "them", "what", "which", "who", "whom", "am", "been", "being",
    "have", "has", "had", "having", "do", "does", "did", "doing", "would", "should", "could",
    "can", "from", "up", "down", "out", "over", "under", "again", "further", "here", "when",
    "where", "why", "how", "all", "any", "both", "each", "few", "more", "most", "other", "some",
    "own", "same", "so", "than", "too", "very", "just", "also", "about", "after", "before",
    "because", "while", "were", "those", "only", "nor", "off", "once", "during", "between",
    "through",
];

/// Handles to every field of the case schema.
#[derive(Debug, Clone, Copy)]
pub struct CaseFields {
    /// Raw tenant id; mandatory filter on every query.
    pub tenant: Field,
    /// Raw case uuid; used for deletes and to exclude the case being triaged.
    pub case_id: Field,
    /// Raw external ticket id (PSA/ITSM), stored for display.
    pub external_id: Field,
    /// Analysed title, stored for display.
    pub title: Field,
    /// Analysed description, not stored (the case store has it).
    pub description: Field,
    /// Analysed log digest templates of the attachments (multi-valued).
    pub templates: Field,
    /// Identifier pieces of title, description and templates ([`CODE_ANALYZER`]).
    pub code: Field,
    /// Resolution notes, stored only: matching a new ticket against how old ones were fixed adds
    /// noise, but the reviewer wants to see it.
    pub resolution: Field,
    /// Raw service group / queue, stored for display and voting.
    pub service_group: Field,
    /// Raw priority, stored for display and voting.
    pub priority: Field,
    /// Unix seconds, stored.
    pub closed_at: Field,
    /// Unix seconds; indexed + fast so queries can be limited to cases created before a time.
    pub created_at: Field,
}

fn analysed(tokenizer: &str, stored: bool) -> TextOptions {
    let indexing = TextFieldIndexing::default()
        .set_tokenizer(tokenizer)
        .set_index_option(IndexRecordOption::WithFreqs);
    let options = TextOptions::default().set_indexing_options(indexing);
    if stored {
        options.set_stored()
    } else {
        options
    }
}

/// Builds the case schema.
pub fn build_schema() -> (Schema, CaseFields) {
    let mut builder = Schema::builder();
    let fields = CaseFields {
        tenant: builder.add_text_field("tenant", STRING | STORED),
        case_id: builder.add_text_field("case_id", STRING | STORED),
        external_id: builder.add_text_field("external_id", STRING | STORED),
        title: builder.add_text_field("title", analysed(TEXT_ANALYZER, true)),
        description: builder.add_text_field("description", analysed(TEXT_ANALYZER, false)),
        templates: builder.add_text_field("templates", analysed(TEXT_ANALYZER, false)),
        code: builder.add_text_field("code", analysed(CODE_ANALYZER, false)),
        resolution: builder.add_text_field("resolution", STORED),
        service_group: builder.add_text_field("service_group", STRING | STORED),
        priority: builder.add_text_field("priority", STRING | STORED),
        closed_at: builder.add_i64_field("closed_at", STORED),
        created_at: builder.add_i64_field("created_at", INDEXED | FAST | STORED),
    };
    (builder.build(), fields)
}

/// The prose analyzer (also used by the query builder through the index's tokenizer manager).
pub fn text_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TEXT_TOKEN_LEN))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(StopWordFilter::remove(
            STOPWORDS.iter().map(|word| (*word).to_owned()),
        ))
        .filter(Stemmer::new(Language::English))
        .build()
}

/// The identifier analyzer.
pub fn code_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(CodeTokenizer)
        .filter(RemoveLongFilter::limit(MAX_CODE_TOKEN_LEN))
        .filter(AsciiFoldingFilter)
        .build()
}

/// Registers the analyzers the schema refers to. Must be called on every opened index, since
/// tantivy does not persist custom analyzers.
pub fn register_tokenizers(index: &Index) {
    let manager = index.tokenizers();
    manager.register(TEXT_ANALYZER, text_analyzer());
    manager.register(CODE_ANALYZER, code_analyzer());
}

/// One past case, as the index sees it.
#[derive(Debug, Clone, Copy)]
pub struct CaseDoc<'a> {
    pub tenant: &'a str,
    /// UUID string.
    pub case_id: &'a str,
    pub external_id: Option<&'a str>,
    pub title: &'a str,
    pub description: &'a str,
    /// Log digest templates of the attachments.
    pub templates: &'a [String],
    pub resolution: &'a str,
    pub service_group: Option<&'a str>,
    pub priority: Option<&'a str>,
    /// Unix seconds.
    pub closed_at: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
}

/// Turns a case into a tantivy document.
pub fn case_document(fields: &CaseFields, case: &CaseDoc) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_text(fields.tenant, case.tenant);
    doc.add_text(fields.case_id, case.case_id);
    if let Some(external_id) = case.external_id {
        doc.add_text(fields.external_id, external_id);
    }
    doc.add_text(fields.title, case.title);
    doc.add_text(fields.description, case.description);
    doc.add_text(fields.code, case.title);
    doc.add_text(fields.code, case.description);
    for template in case.templates {
        doc.add_text(fields.templates, template);
        doc.add_text(fields.code, template);
    }
    doc.add_text(fields.resolution, case.resolution);
    if let Some(group) = case.service_group {
        doc.add_text(fields.service_group, group);
    }
    if let Some(priority) = case.priority {
        doc.add_text(fields.priority, priority);
    }
    if let Some(closed_at) = case.closed_at {
        doc.add_i64(fields.closed_at, closed_at);
    }
    doc.add_i64(fields.created_at, case.created_at);
    doc
}

/// Emits whole dotted/underscored identifiers and camelCase pieces, lowercased. Plain words emit
/// nothing (the prose analyzer already has them).
#[derive(Debug, Clone, Copy, Default)]
pub struct CodeTokenizer;

/// Token stream over a precomputed token list; identifiers are rare enough per text that
/// collecting them eagerly costs less than a resumable state machine.
pub struct CodeTokenStream {
    tokens: Vec<Token>,
    next: usize,
    token: Token,
}

impl Tokenizer for CodeTokenizer {
    type TokenStream<'a> = CodeTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> CodeTokenStream {
        let mut tokens = Vec::new();
        code_tokens(text, &mut |from, to, piece| {
            tokens.push(Token {
                offset_from: from,
                offset_to: to,
                position: tokens.len(),
                text: piece.to_lowercase(),
                position_length: 1,
            });
        });
        CodeTokenStream {
            tokens,
            next: 0,
            token: Token::default(),
        }
    }
}

impl TokenStream for CodeTokenStream {
    fn advance(&mut self) -> bool {
        match self.tokens.get_mut(self.next) {
            Some(token) => {
                self.token = std::mem::take(token);
                self.next += 1;
                true
            }
            None => false,
        }
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '.' || c == '_' || c == '$'
}

fn is_joiner(c: char) -> bool {
    c == '.' || c == '_' || c == '$'
}

/// Calls `emit(byte_from, byte_to, text)` for every identifier token of `text`.
fn code_tokens(text: &str, emit: &mut dyn FnMut(usize, usize, &str)) {
    let mut rest = text;
    let mut base = 0;
    while let Some(start) = rest.find(is_ident_char) {
        let after = &rest[start..];
        let len = after.find(|c| !is_ident_char(c)).unwrap_or(after.len());
        // Trim joiners at the ends: a sentence-final period is not part of an identifier.
        let run = &after[..len];
        let trimmed_start = run.len() - run.trim_start_matches(is_joiner).len();
        let ident = run.trim_matches(is_joiner);
        if !ident.is_empty() {
            code_run(ident, base + start + trimmed_start, emit);
        }
        base += start + len;
        rest = &after[len..];
    }
}

fn code_run(ident: &str, offset: usize, emit: &mut dyn FnMut(usize, usize, &str)) {
    let segments = ident.split(is_joiner).filter(|s| !s.is_empty()).count();
    if segments >= 2 {
        emit(offset, offset + ident.len(), ident);
    }
    let mut seg_offset = offset;
    for segment in ident.split(is_joiner) {
        // Fast path for the common case (plain or Capitalised words): no boundary possible
        // without an uppercase letter after the first character.
        if !segment.is_ascii() || segment.bytes().skip(1).any(|b| b.is_ascii_uppercase()) {
            camel_pieces(segment, seg_offset, emit);
        }
        seg_offset += segment.len() + 1;
    }
}

/// Splits `HTTPServerError` into `HTTP`, `Server`, `Error`; emits nothing if there is no case
/// boundary. Pieces shorter than two characters carry no meaning and are dropped.
fn camel_pieces(word: &str, offset: usize, emit: &mut dyn FnMut(usize, usize, &str)) {
    let chars: Vec<(usize, char)> = word.char_indices().collect();
    let mut cuts = Vec::new();
    for i in 1..chars.len() {
        let prev = chars[i - 1].1;
        let cur = chars[i].1;
        let next_is_lower = chars.get(i + 1).is_some_and(|(_, c)| c.is_lowercase());
        if (prev.is_lowercase() && cur.is_uppercase())
            || (prev.is_uppercase() && cur.is_uppercase() && next_is_lower)
        {
            cuts.push(chars[i].0);
        }
    }
    if cuts.is_empty() {
        return;
    }
    let mut from = 0;
    for to in cuts.into_iter().chain(std::iter::once(word.len())) {
        let piece = &word[from..to];
        if piece.chars().count() >= 2 {
            emit(offset + from, offset + to, piece);
        }
        from = to;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyse(mut analyzer: TextAnalyzer, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut stream = analyzer.token_stream(text);
        while let Some(token) = stream.next() {
            out.push(token.text.clone());
        }
        out
    }

    #[test]
    fn text_analyzer_stems_and_drops_stopwords() {
        let tokens = analyse(text_analyzer(), "The Servers are FAILING with Café errors");
        assert_eq!(tokens, ["server", "fail", "cafe", "error"]);
    }

    #[test]
    fn code_analyzer_splits_identifiers() {
        let tokens = analyse(
            code_analyzer(),
            "NPE in org.apache.hadoop.fs.FileSystem. See HTTPServerError and plain words.",
        );
        assert_eq!(
            tokens,
            [
                "org.apache.hadoop.fs.filesystem",
                "file",
                "system",
                "http",
                "server",
                "error"
            ]
        );
    }

    #[test]
    fn code_analyzer_handles_non_ascii_and_edges() {
        assert!(analyse(code_analyzer(), "").is_empty());
        assert!(analyse(code_analyzer(), "... ___ $").is_empty());
        let tokens = analyse(code_analyzer(), "größeFehler ä.ö");
        assert_eq!(tokens, ["grosse", "fehler", "a.o"]);
    }

    #[test]
    fn document_has_raw_tenant_and_case_id() {
        let (schema, fields) = build_schema();
        let index = Index::create_in_ram(schema);
        register_tokenizers(&index);
        let templates = vec!["connection to <*> refused".to_owned()];
        let doc = case_document(
            &fields,
            &CaseDoc {
                tenant: "Tenant A",
                case_id: "0190-abc",
                external_id: None,
                title: "VPN down",
                description: "cannot connect",
                templates: &templates,
                resolution: "restarted gateway",
                service_group: Some("Network"),
                priority: Some("P2"),
                closed_at: None,
                created_at: 100,
            },
        );
        let mut writer = index
            .writer_with_num_threads(1, 15_000_000)
            .expect("writer");
        writer.add_document(doc).expect("add");
        writer.commit().expect("commit");
        let searcher = index.reader().expect("reader").searcher();
        // Raw terms: the exact string, with space and case, must be a single term.
        let tenant = tantivy::Term::from_field_text(fields.tenant, "Tenant A");
        assert_eq!(searcher.doc_freq(&tenant).expect("df"), 1);
        let case = tantivy::Term::from_field_text(fields.case_id, "0190-abc");
        assert_eq!(searcher.doc_freq(&case).expect("df"), 1);
        let templ = tantivy::Term::from_field_text(fields.templates, "refus");
        assert_eq!(searcher.doc_freq(&templ).expect("df"), 1);
    }
}
