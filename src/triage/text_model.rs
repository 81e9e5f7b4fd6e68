//! Text featurizer and multi-class linear model for ticket routing.
//!
//! Features: TF-IDF over lowercase word n-grams plus character n-grams taken inside word
//! boundaries, with sublinear tf and one L2 norm per block. N-grams are hashed into a fixed
//! space and only the buckets seen in training are kept (a compact vocabulary), so the
//! weight matrix grows with the history, not with the hash space.
//!
//! Model: one-vs-rest linear SVM (squared hinge, L2 regularised) trained by dual coordinate
//! descent with shrinking, the algorithm behind LIBLINEAR / scikit-learn's `LinearSVC`.
//! Everything is deterministic for a given config and input order; there is no I/O.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Tunable knobs. `Default` is the one generic configuration tuned across data sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelConfig {
    /// Hash space is `2^hash_bits` buckets before vocabulary compaction.
    pub hash_bits: u32,
    /// Longest word n-gram (1 = unigrams only, 2 = unigrams + bigrams).
    pub word_ngram_max: usize,
    /// Character n-gram range inside padded words; `char_ngram_max == 0` disables the block.
    pub char_ngram_min: usize,
    pub char_ngram_max: usize,
    /// Weight of the char block relative to the word block before the final L2 norm.
    pub char_weight: f32,
    /// Buckets seen in fewer training documents are dropped.
    pub min_df: u32,
    /// SVM cost parameter (larger = less regularisation).
    pub svm_c: f32,
    /// When not empty, C is chosen per training set from these values by out-of-fold
    /// accuracy on the calibration folds (ties go to the earlier entry); `svm_c` is ignored.
    pub svm_c_grid: Vec<f32>,
    /// Dual coordinate descent: maximum passes and stopping tolerance on the projected gradient.
    pub max_passes: usize,
    pub tolerance: f32,
    /// Only the first `max_text_bytes` bytes are featurized: beyond that a ticket is pasted
    /// logs, which cost time and carry little routing signal.
    pub max_text_bytes: usize,
    /// Seed for the coordinate order (and for fold assignment in calibration).
    pub seed: u64,
    /// Calibration: number of folds for out-of-fold predictions.
    pub folds: usize,
    /// Calibration: how many neighbours vote and how much their vote adds to SVM scores.
    pub knn_k: usize,
    pub knn_weight: f32,
}

/// Measured on three data sets (ATA groups, Endava category/service, Hadoop priority):
/// char 3-4-grams add ~0.5 pt over words alone at about twice the cost; a fixed C = 2 or 3
/// gains 0.2-0.4 pt on ATA but loses up to 1 pt on Endava business service, so C is chosen
/// per training set from {1, 2} on the calibration folds (about 1.6x the training time);
/// ten passes lose nothing measurable against fifty and bound training time.
impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            hash_bits: 20,
            word_ngram_max: 2,
            char_ngram_min: 3,
            char_ngram_max: 4,
            char_weight: 1.0,
            min_df: 1,
            svm_c: 1.0,
            svm_c_grid: vec![1.0, 2.0],
            max_passes: 10,
            tolerance: 0.1,
            max_text_bytes: 32 * 1024,
            seed: 0x5EED_7A6E,
            folds: 5,
            knn_k: 5,
            knn_weight: 0.5,
        }
    }
}

/// Why a model could not be trained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrainError {
    /// A classifier needs at least two distinct labels in the history.
    TooFewLabels { found: usize },
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooFewLabels { found } => {
                write!(f, "need at least 2 distinct labels to train, found {found}")
            }
        }
    }
}

impl std::error::Error for TrainError {}

/// Small deterministic PRNG (SplitMix64); good enough for shuffles and fold assignment.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }

    /// Uniform in `0..n` (n > 0); the modulo bias is irrelevant for shuffling.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

// Distinct seeds per n-gram kind so a word and a char n-gram with equal text do not share a bucket.
const WORD_SEED: u64 = 0x0123_4567_89AB_CDEF;
const CHAR_SEED: u64 = 0x0F1E_2D3C_4B5A_6978;

/// FNV-1a over chars, finalised with a strong mixer so low bits are usable as a bucket.
fn hash_chars(seed: u64, chars: &[char]) -> u64 {
    let mut h = 0xCBF2_9CE4_8422_2325 ^ seed;
    for &c in chars {
        h ^= u64::from(u32::from(c));
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    mix64(h)
}

/// Sparse vector as (index, value) pairs, sorted by index, no duplicates.
pub type SparseVec = Vec<(u32, f32)>;

/// Hashed term counts of one document, before IDF weighting; reusable across folds.
#[derive(Debug, Clone, Default)]
pub struct HashedDoc {
    words: SparseVec,
    chars: SparseVec,
}

/// Cuts `text` to at most `max` bytes without splitting a UTF-8 character.
fn truncate_utf8(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Lowercase alphanumeric tokens (Unicode-aware, so German umlauts stay inside words).
fn tokenize(text: &str) -> Vec<Vec<char>> {
    let mut tokens = Vec::new();
    let mut current = Vec::new();
    for c in text.chars() {
        if c.is_alphanumeric() {
            current.extend(c.to_lowercase());
        } else if !current.is_empty() {
            tokens.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

/// Sorts bucket ids and turns repeats into counts.
fn count_buckets(mut buckets: Vec<u32>) -> SparseVec {
    buckets.sort_unstable();
    let mut out: SparseVec = Vec::with_capacity(buckets.len());
    for b in buckets {
        match out.last_mut() {
            Some((last, count)) if *last == b => *count += 1.0,
            _ => out.push((b, 1.0)),
        }
    }
    out
}

fn word_buckets(tokens: &[Vec<char>], max_n: usize, mask: u64) -> Vec<u32> {
    let hashes: Vec<u64> = tokens.iter().map(|t| hash_chars(WORD_SEED, t)).collect();
    let mut out = Vec::with_capacity(hashes.len() * max_n.max(1));
    for start in 0..hashes.len() {
        let mut h = 0u64;
        for n in 0..max_n.min(hashes.len() - start) {
            // Order-sensitive combination so "a b" and "b a" differ.
            h = mix64(h.rotate_left(17) ^ hashes[start + n] ^ (n as u64));
            out.push((h & mask) as u32);
        }
    }
    out
}

fn char_buckets(tokens: &[Vec<char>], min_n: usize, max_n: usize, mask: u64) -> Vec<u32> {
    let mut out = Vec::new();
    if max_n == 0 || min_n == 0 || min_n > max_n {
        return out;
    }
    let mut padded: Vec<char> = Vec::new();
    for token in tokens {
        // Spaces mark word starts and ends, as in scikit-learn's `char_wb` analyzer.
        padded.clear();
        padded.push(' ');
        padded.extend_from_slice(token);
        padded.push(' ');
        for n in min_n..=max_n.min(padded.len()) {
            for window in padded.windows(n) {
                out.push((hash_chars(CHAR_SEED ^ n as u64, window) & mask) as u32);
            }
        }
    }
    out
}

/// Hashes a text into raw term counts. Cheap enough to call once per ticket and reuse.
pub fn hash_text(text: &str, config: &ModelConfig) -> HashedDoc {
    let text = truncate_utf8(text, config.max_text_bytes);
    let tokens = tokenize(text);
    let mask = (1u64 << config.hash_bits.clamp(8, 30)) - 1;
    HashedDoc {
        words: count_buckets(word_buckets(&tokens, config.word_ngram_max, mask)),
        chars: count_buckets(char_buckets(
            &tokens,
            config.char_ngram_min,
            config.char_ngram_max,
            mask,
        )),
    }
}

/// Maps hashed buckets to compact feature ids and IDF weights learned from training docs.
#[derive(Debug, Clone)]
struct Vocabulary {
    index: FxHashMap<u32, u32>,
    idf: Vec<f32>,
    char_weight: f32,
}

impl Vocabulary {
    fn fit(docs: &[&HashedDoc], min_df: u32, char_weight: f32) -> Self {
        let mut df: FxHashMap<u32, u32> = FxHashMap::default();
        for doc in docs {
            for &(b, _) in doc.words.iter().chain(doc.chars.iter()) {
                *df.entry(b).or_insert(0) += 1;
            }
        }
        let mut kept: Vec<(u32, u32)> = df.into_iter().filter(|&(_, d)| d >= min_df).collect();
        // Frequent features first: the SVM's random weight accesses then mostly hit a small,
        // cache-resident prefix. The bucket tie-break makes ids independent of hash-map order.
        kept.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let n = docs.len() as f32;
        let mut index = FxHashMap::default();
        let mut idf = Vec::with_capacity(kept.len());
        for (i, (bucket, d)) in kept.into_iter().enumerate() {
            index.insert(bucket, i as u32);
            // Smoothed IDF as in scikit-learn: never zero, so common terms still count a little.
            idf.push(((1.0 + n) / (1.0 + d as f32)).ln() + 1.0);
        }
        Self {
            index,
            idf,
            char_weight,
        }
    }

    fn dim(&self) -> usize {
        self.idf.len()
    }

    /// Sublinear TF-IDF of one block, L2-normalised, scaled by `weight`.
    fn block(&self, counts: &SparseVec, weight: f32, out: &mut SparseVec) {
        let start = out.len();
        let mut norm2 = 0.0f32;
        for &(b, tf) in counts {
            if let Some(&id) = self.index.get(&b) {
                let v = (1.0 + tf.ln()) * self.idf[id as usize];
                norm2 += v * v;
                out.push((id, v));
            }
        }
        if norm2 > 0.0 {
            let scale = weight / norm2.sqrt();
            for entry in &mut out[start..] {
                entry.1 *= scale;
            }
        }
    }

    /// Final document vector: both blocks, merged, renormalised to unit length.
    fn vectorize(&self, doc: &HashedDoc) -> SparseVec {
        let mut out = Vec::with_capacity(doc.words.len() + doc.chars.len());
        self.block(&doc.words, 1.0, &mut out);
        self.block(&doc.chars, self.char_weight, &mut out);
        merge_sorted(&mut out);
        let norm2: f32 = out.iter().map(|&(_, v)| v * v).sum();
        if norm2 > 0.0 {
            let inv = 1.0 / norm2.sqrt();
            for entry in &mut out {
                entry.1 *= inv;
            }
        }
        out
    }
}

/// Sorts by index and sums entries that share one (hash collisions across blocks).
fn merge_sorted(v: &mut SparseVec) {
    v.sort_unstable_by_key(|&(i, _)| i);
    let mut write = 0;
    for read in 0..v.len() {
        if write > 0 && v[write - 1].0 == v[read].0 {
            v[write - 1].1 += v[read].1;
        } else {
            v[write] = v[read];
            write += 1;
        }
    }
    v.truncate(write);
}

/// Trained, immutable one-vs-rest linear model. `Send + Sync` (plain data only).
#[derive(Debug, Clone)]
pub struct TextModel {
    config: ModelConfig,
    labels: Vec<String>,
    vocab: Vocabulary,
    /// Feature-major sparse weights: entries of feature `j` are `entries[start[j]..start[j+1]]`,
    /// so scoring touches only the columns of features present in the text.
    start: Vec<u32>,
    entries: Vec<(u32, f32)>,
    bias: Vec<f32>,
}

/// Weights smaller than this are dropped: they never change a ranking in practice and
/// dropping them keeps memory proportional to the informative features.
const PRUNE_EPS: f32 = 1e-4;

impl TextModel {
    /// Trains on `(text, label)` pairs. Fails when fewer than two distinct labels exist.
    pub fn train(examples: &[(&str, &str)], config: &ModelConfig) -> Result<Self, TrainError> {
        let docs: Vec<HashedDoc> = examples.iter().map(|(t, _)| hash_text(t, config)).collect();
        let labels: Vec<&str> = examples.iter().map(|&(_, l)| l).collect();
        let refs: Vec<&HashedDoc> = docs.iter().collect();
        Self::train_hashed(&refs, &labels, config)
    }

    /// Trains from pre-hashed documents (lets k-fold calibration hash each text once).
    pub fn train_hashed(
        docs: &[&HashedDoc],
        labels: &[&str],
        config: &ModelConfig,
    ) -> Result<Self, TrainError> {
        let mut names: Vec<String> = labels.iter().map(|s| (*s).to_owned()).collect();
        names.sort_unstable();
        names.dedup();
        if names.len() < 2 {
            return Err(TrainError::TooFewLabels { found: names.len() });
        }
        let label_of: FxHashMap<&str, u32> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i as u32))
            .collect();
        let y: Vec<u32> = labels.iter().map(|l| label_of[l]).collect();
        let vocab = Vocabulary::fit(docs, config.min_df, config.char_weight);
        let vectors: Vec<SparseVec> = docs.iter().map(|d| vocab.vectorize(d)).collect();
        let xs = Rows::new(&vectors);
        drop(vectors);
        let mut triplets: Vec<(u32, u32, f32)> = Vec::new();
        let mut bias = Vec::with_capacity(names.len());
        let mut rng = SplitMix64::new(config.seed);
        for class in 0..names.len() as u32 {
            let signs: Vec<f32> = y
                .iter()
                .map(|&c| if c == class { 1.0 } else { -1.0 })
                .collect();
            let (w, b) = train_binary_svm(&xs, &signs, vocab.dim(), config, &mut rng);
            for (j, &wj) in w.iter().enumerate() {
                if wj.abs() > PRUNE_EPS {
                    triplets.push((j as u32, class, wj));
                }
            }
            bias.push(b);
        }
        let (start, entries) = to_feature_major(triplets, vocab.dim());
        Ok(Self {
            config: config.clone(),
            labels: names,
            vocab,
            start,
            entries,
            bias,
        })
    }

    /// The configuration the model was trained with (also used to featurize queries).
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Label names; score indices refer to this list.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Index of a label name, if the model knows it.
    pub fn label_index(&self, label: &str) -> Option<usize> {
        self.labels.binary_search_by(|l| l.as_str().cmp(label)).ok()
    }

    /// Number of stored (non-pruned) weights, for memory reporting.
    pub fn weight_count(&self) -> usize {
        self.entries.len()
    }

    /// Raw SVM decision values in label order.
    pub fn decision_values(&self, text: &str) -> Vec<f32> {
        self.decision_values_hashed(&hash_text(text, &self.config))
    }

    /// Same as [`Self::decision_values`] for an already hashed document.
    pub fn decision_values_hashed(&self, doc: &HashedDoc) -> Vec<f32> {
        let x = self.vocab.vectorize(doc);
        let mut scores = self.bias.clone();
        for (j, v) in x {
            let lo = self.start[j as usize] as usize;
            let hi = self.start[j as usize + 1] as usize;
            for &(class, w) in &self.entries[lo..hi] {
                scores[class as usize] += v * w;
            }
        }
        scores
    }

    /// Labels with their decision values, best first.
    pub fn scores(&self, text: &str) -> Vec<(String, f32)> {
        rank(&self.decision_values(text))
            .into_iter()
            .map(|(i, s)| (self.labels[i].clone(), s))
            .collect()
    }
}

/// Indices with scores, sorted best first; ties broken by index for determinism.
pub fn rank(scores: &[f32]) -> Vec<(usize, f32)> {
    let mut ranked: Vec<(usize, f32)> = scores.iter().copied().enumerate().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked
}

/// Counting sort of (feature, class, weight) into a feature-major CSR layout.
fn to_feature_major(triplets: Vec<(u32, u32, f32)>, dim: usize) -> (Vec<u32>, Vec<(u32, f32)>) {
    let mut start = vec![0u32; dim + 1];
    for &(j, _, _) in &triplets {
        start[j as usize + 1] += 1;
    }
    for j in 0..dim {
        start[j + 1] += start[j];
    }
    let mut fill = start.clone();
    let mut entries = vec![(0u32, 0f32); triplets.len()];
    for (j, c, w) in triplets {
        let slot = &mut fill[j as usize];
        entries[*slot as usize] = (c, w);
        *slot += 1;
    }
    (start, entries)
}

/// Training rows in one flat CSR block: contiguous memory is friendlier to the cache than a
/// `Vec` per row, and separate index/value arrays let the dot product run four sums at once.
struct Rows {
    start: Vec<usize>,
    idx: Vec<u32>,
    val: Vec<f32>,
}

impl Rows {
    fn new(xs: &[SparseVec]) -> Self {
        let mut start = Vec::with_capacity(xs.len() + 1);
        start.push(0);
        let total = xs.iter().map(Vec::len).sum();
        let (mut idx, mut val) = (Vec::with_capacity(total), Vec::with_capacity(total));
        for x in xs {
            idx.extend(x.iter().map(|&(j, _)| j));
            val.extend(x.iter().map(|&(_, v)| v));
            start.push(idx.len());
        }
        Self { start, idx, val }
    }

    fn len(&self) -> usize {
        self.start.len() - 1
    }

    fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let (lo, hi) = (self.start[i], self.start[i + 1]);
        (&self.idx[lo..hi], &self.val[lo..hi])
    }
}

/// Sparse-dense dot product with four independent accumulators: the serial add chain, not
/// memory, was the training bottleneck.
fn dot(w: &[f32], idx: &[u32], val: &[f32]) -> f32 {
    let mut acc = [0f32; 4];
    let (i4, v4) = (idx.chunks_exact(4), val.chunks_exact(4));
    let (ir, vr) = (i4.remainder(), v4.remainder());
    for (i, v) in i4.zip(v4) {
        for k in 0..4 {
            acc[k] += w[i[k] as usize] * v[k];
        }
    }
    let tail: f32 = ir.iter().zip(vr).map(|(&j, &v)| w[j as usize] * v).sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// L2-regularised squared-hinge SVM, dual coordinate descent with shrinking
/// (Hsieh et al. 2008, as in LIBLINEAR). The bias is an extra constant feature of value 1,
/// regularised like the other weights. Returns (weights, bias).
fn train_binary_svm(
    xs: &Rows,
    y: &[f32],
    dim: usize,
    config: &ModelConfig,
    rng: &mut SplitMix64,
) -> (Vec<f32>, f32) {
    let n = xs.len();
    let diag = 0.5 / config.svm_c.max(1e-6);
    let mut w = vec![0f32; dim];
    let mut b = 0f32;
    let mut alpha = vec![0f32; n];
    let qd: Vec<f32> = (0..n)
        .map(|i| diag + 1.0 + xs.row(i).1.iter().map(|v| v * v).sum::<f32>())
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    let mut active = n;
    // Without an upper bound on alpha (squared hinge), only the max side drives shrinking.
    let mut pg_max_old = f32::INFINITY;
    let mut pass = 0;
    while pass < config.max_passes {
        let (mut pg_max, mut pg_min) = (f32::NEG_INFINITY, f32::INFINITY);
        rng.shuffle(&mut order[..active]);
        let mut s = 0;
        while s < active {
            let i = order[s];
            let (idx, val) = xs.row(i);
            let g = y[i] * (dot(&w, idx, val) + b) - 1.0 + alpha[i] * diag;
            let mut pg = g;
            if alpha[i] == 0.0 {
                if g > pg_max_old {
                    // Confidently outside the margin: skip it until the final check.
                    active -= 1;
                    order.swap(s, active);
                    continue;
                }
                pg = g.min(0.0);
            }
            pg_max = pg_max.max(pg);
            pg_min = pg_min.min(pg);
            if pg.abs() > 1e-12 {
                let old = alpha[i];
                alpha[i] = (old - g / qd[i]).max(0.0);
                let d = (alpha[i] - old) * y[i];
                for (&j, &v) in idx.iter().zip(val) {
                    w[j as usize] += d * v;
                }
                b += d;
            }
            s += 1;
        }
        pass += 1;
        if pg_max - pg_min <= config.tolerance {
            if active == n {
                break;
            }
            // Converged on the shrunk set: recheck everything once before stopping.
            active = n;
            pg_max_old = f32::INFINITY;
            continue;
        }
        pg_max_old = if pg_max <= 0.0 { f32::INFINITY } else { pg_max };
    }
    (w, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Vec<(&'static str, &'static str)> {
        let mut v = Vec::new();
        for _ in 0..5 {
            v.push(("cannot login password reset account locked", "access"));
            v.push(("password expired please reset my login", "access"));
            v.push(("printer out of toner paper jam", "hardware"));
            v.push(("laptop screen broken keyboard not working", "hardware"));
        }
        v
    }

    #[test]
    fn separates_two_obvious_classes() {
        let model = TextModel::train(&toy(), &ModelConfig::default()).expect("two labels");
        assert_eq!(model.scores("reset my password")[0].0, "access");
        assert_eq!(model.scores("printer jam again")[0].0, "hardware");
    }

    #[test]
    fn scores_are_ranked_and_cover_all_labels() {
        let model = TextModel::train(&toy(), &ModelConfig::default()).expect("two labels");
        let s = model.scores("keyboard broken");
        assert_eq!(s.len(), 2);
        assert!(s[0].1 >= s[1].1);
    }

    #[test]
    fn one_label_is_an_error() {
        let ex = [("a", "x"), ("b", "x")];
        assert_eq!(
            TextModel::train(&ex, &ModelConfig::default()).err(),
            Some(TrainError::TooFewLabels { found: 1 })
        );
        assert!(TextModel::train(&[], &ModelConfig::default()).is_err());
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        let model = TextModel::train(&toy(), &ModelConfig::default()).expect("two labels");
        assert_eq!(model.scores("").len(), 2);
        let huge = "ä€x ".repeat(300_000); // > 1 MB, multi-byte chars at the cut
        assert_eq!(model.scores(&huge).len(), 2);
        let german = [
            ("Drucker druckt nicht, Papierstau", "hw"),
            ("Passwort zurücksetzen", "acc"),
        ];
        let m = TextModel::train(&german, &ModelConfig::default()).expect("two labels");
        assert_eq!(m.scores("Papierstau im Drucker")[0].0, "hw");
    }

    #[test]
    fn training_is_deterministic() {
        let c = ModelConfig::default();
        let a = TextModel::train(&toy(), &c)
            .expect("ok")
            .decision_values("toner");
        let b = TextModel::train(&toy(), &c)
            .expect("ok")
            .decision_values("toner");
        assert_eq!(a, b);
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_utf8("äb", 1), "");
        assert_eq!(truncate_utf8("äb", 2), "ä");
        assert_eq!(truncate_utf8("ab", 10), "ab");
    }

    #[test]
    fn tokenizer_lowercases_and_keeps_umlauts() {
        let t: Vec<String> = tokenize("Über-Grö_ße 42")
            .into_iter()
            .map(|c| c.into_iter().collect())
            .collect();
        assert_eq!(t, vec!["über", "grö", "ße", "42"]);
    }
}
