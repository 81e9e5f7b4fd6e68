//! Template mining in the style of Drain: lines are masked, then grouped by token count and
//! leading token, and joined to the most similar template above a threshold, whose differing
//! positions become wildcards. Two additions make it fast and stable on long streams:
//! an exact-match cache of masked lines in front of the tree (most lines hit it and cost one
//! hash), and wildcard positions that count as matches, so lines seen before never found new
//! templates. Memory is bounded: past `max_clusters` the least used templates are evicted, and
//! the evicted lines are counted, never dropped silently.

use rustc_hash::FxHashMap;

use super::mask::{WILDCARD, mask_token};

/// One generic configuration for every log.
#[derive(Debug, Clone, Copy)]
pub struct MinerConfig {
    /// Share of positions that must match (wildcards count) to join a template.
    pub similarity: f64,
    /// Templates kept at most; beyond it the least used tenth is evicted.
    pub max_clusters: usize,
    /// Masked lines remembered for the fast path; the cache is emptied when it grows past this.
    pub max_cached_lines: usize,
    /// Tokens considered per line; the rest of a longer line is ignored for grouping.
    pub max_tokens: usize,
    /// A line may differ from a template in one plain word per this many tokens; short
    /// messages that differ in a word ("Link ok", "Link error") are different events.
    pub words_per_clash: usize,
    /// Templates differing in one position are joined when this many share the rest.
    pub min_variant_values: usize,
}

impl Default for MinerConfig {
    fn default() -> Self {
        Self {
            similarity: 0.5,
            max_clusters: 20_000,
            max_cached_lines: 200_000,
            max_tokens: 256,
            words_per_clash: 8,
            min_variant_values: 3,
        }
    }
}

pub type ClusterId = u32;

/// A template and what the miner knows about its lines.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// Masked tokens; `<*>` where the lines differ.
    pub tokens: Vec<Box<str>>,
    /// The first line that founded the template, as given.
    pub example: Box<str>,
    pub count: u64,
    /// Whether the cluster was absorbed by another (its lines were moved there).
    merged_into: Option<ClusterId>,
    evicted: bool,
}

impl Cluster {
    /// The template text, tokens separated by single spaces.
    pub fn template(&self) -> String {
        self.tokens.join(" ")
    }

    pub fn is_live(&self) -> bool {
        self.merged_into.is_none() && !self.evicted
    }
}

/// Counts of what bounded memory cost, reported with the digest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct MinerLosses {
    /// Templates evicted to keep memory bounded.
    pub evicted_templates: u64,
    /// Lines that had been counted in evicted templates.
    pub evicted_lines: u64,
    /// Lines with more tokens than `max_tokens`, grouped by their first tokens only.
    pub long_lines: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct BucketKey {
    token_count: u32,
    first: Box<str>,
}

pub struct Miner {
    config: MinerConfig,
    clusters: Vec<Cluster>,
    buckets: FxHashMap<BucketKey, Vec<ClusterId>>,
    cache: FxHashMap<Box<str>, ClusterId>,
    live: usize,
    losses: MinerLosses,
    // Scratch space reused for every line, so the hot path does not allocate.
    masked: String,
    token_ends: Vec<usize>,
}

impl Miner {
    pub fn new(config: MinerConfig) -> Self {
        Self {
            config,
            clusters: Vec::new(),
            buckets: FxHashMap::default(),
            cache: FxHashMap::default(),
            live: 0,
            losses: MinerLosses::default(),
            masked: String::with_capacity(1024),
            token_ends: Vec::with_capacity(64),
        }
    }

    /// Adds one line's content and returns the template it joined.
    pub fn add(&mut self, content: &str) -> ClusterId {
        self.mask_line(content);
        if let Some(&id) = self.cache.get(self.masked.as_str()) {
            let id = self.resolve(id);
            if !self.clusters[id as usize].evicted {
                self.clusters[id as usize].count += 1;
                return id;
            }
        }
        let id = self.place(content);
        self.clusters[id as usize].count += 1;
        if self.cache.len() >= self.config.max_cached_lines {
            self.cache.clear();
        }
        self.cache.insert(self.masked.as_str().into(), id);
        id
    }

    /// Follows merges to the template that now holds a cluster's lines.
    pub fn resolve(&self, mut id: ClusterId) -> ClusterId {
        while let Some(next) = self.clusters[id as usize].merged_into {
            id = next;
        }
        id
    }

    pub fn cluster(&self, id: ClusterId) -> &Cluster {
        &self.clusters[id as usize]
    }

    /// Live templates with their ids, in the order they were founded.
    pub fn clusters(&self) -> impl Iterator<Item = (ClusterId, &Cluster)> {
        self.clusters
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_live())
            .map(|(i, c)| (i as ClusterId, c))
    }

    pub fn losses(&self) -> MinerLosses {
        self.losses
    }

    /// Masks `content` into `self.masked`, tokens separated by one space.
    fn mask_line(&mut self, content: &str) {
        self.masked.clear();
        self.token_ends.clear();
        for token in content.split_ascii_whitespace() {
            if self.token_ends.len() == self.config.max_tokens {
                self.losses.long_lines += 1;
                break;
            }
            if !self.masked.is_empty() {
                self.masked.push(' ');
            }
            mask_token(token, &mut self.masked);
            self.token_ends.push(self.masked.len());
        }
    }

    fn masked_tokens(&self) -> impl Iterator<Item = &str> {
        split_at_ends(&self.masked, &self.token_ends)
    }

    /// The slow path: finds the most similar template in the line's bucket or founds one.
    fn place(&mut self, content: &str) -> ClusterId {
        let token_count = self.token_ends.len();
        let first = self.masked_tokens().next().unwrap_or("");
        let key = BucketKey {
            token_count: token_count as u32,
            first: if first.contains(WILDCARD) {
                WILDCARD
            } else {
                first
            }
            .into(),
        };
        let needed = ((self.config.similarity * token_count as f64).ceil() as usize).max(1);
        let clashes_allowed = token_count / self.config.words_per_clash;
        let mut best: Option<(ClusterId, Comparison)> = None;
        if let Some(candidates) = self.buckets.get(&key) {
            for &id in candidates {
                let cluster = &self.clusters[id as usize];
                let found = compare(&cluster.tokens, self.masked_tokens());
                if found.equal + found.wild < needed || found.word_clashes > clashes_allowed {
                    continue;
                }
                let better = best.is_none_or(|(_, b)| {
                    (found.equal + found.wild, found.equal) > (b.equal + b.wild, b.equal)
                });
                if better {
                    best = Some((id, found));
                }
            }
        }
        if let Some((id, _)) = best {
            self.widen(id);
            return id;
        }
        self.found(key, content)
    }

    /// Turns the positions where the current line differs into wildcards.
    fn widen(&mut self, id: ClusterId) {
        let tokens = split_at_ends(&self.masked, &self.token_ends);
        let cluster = &mut self.clusters[id as usize];
        for (slot, token) in cluster.tokens.iter_mut().zip(tokens) {
            if &**slot != token && &**slot != WILDCARD {
                *slot = WILDCARD.into();
            }
        }
    }

    fn found(&mut self, key: BucketKey, content: &str) -> ClusterId {
        if self.live >= self.config.max_clusters {
            self.evict();
        }
        let id = self.clusters.len() as ClusterId;
        let tokens = self.masked_tokens().map(Box::from).collect();
        self.clusters.push(Cluster {
            tokens,
            example: content.into(),
            count: 0,
            merged_into: None,
            evicted: false,
        });
        self.buckets.entry(key).or_default().push(id);
        self.live += 1;
        id
    }

    /// Evicts the least used tenth of the templates, counting what they held.
    fn evict(&mut self) {
        let mut live: Vec<(u64, ClusterId)> = self
            .clusters()
            .map(|(id, cluster)| (cluster.count, id))
            .collect();
        live.sort_unstable();
        let victims = (live.len() / 10).max(1);
        for &(count, id) in &live[..victims] {
            self.clusters[id as usize].evicted = true;
            self.losses.evicted_templates += 1;
            self.losses.evicted_lines += count;
        }
        self.live -= victims;
        let clusters = &self.clusters;
        self.buckets.retain(|_, ids| {
            ids.retain(|&id| !clusters[id as usize].evicted);
            !ids.is_empty()
        });
        self.cache.clear();
    }

    /// Joins templates that differ in one position only, when at least `min_values` of them
    /// share everything else: a position that takes several values in identical context is a
    /// parameter, even where each value is a plain word (user names, states). The leading
    /// token is left alone; it names the event more often than not.
    pub fn merge_variants(&mut self) {
        let min_values = self.config.min_variant_values;
        const MAX_LEN: usize = 64;
        for position in 1..MAX_LEN {
            let mut groups: FxHashMap<Vec<&str>, Vec<ClusterId>> = FxHashMap::default();
            for (id, cluster) in self.clusters() {
                let len = cluster.tokens.len();
                if position >= len || len > MAX_LEN || &*cluster.tokens[position] == WILDCARD {
                    continue;
                }
                let mut key: Vec<&str> = cluster.tokens.iter().map(|t| &**t).collect();
                key[position] = WILDCARD;
                groups.entry(key).or_default().push(id);
            }
            let merges: Vec<Vec<ClusterId>> = groups
                .into_values()
                .filter(|ids| ids.len() >= min_values)
                .collect();
            for ids in merges {
                let target = ids[0];
                self.clusters[target as usize].tokens[position] = WILDCARD.into();
                for &id in &ids[1..] {
                    let count = self.clusters[id as usize].count;
                    self.clusters[target as usize].count += count;
                    self.clusters[id as usize].merged_into = Some(target);
                    self.live -= 1;
                }
            }
        }
    }
}

/// The tokens of a masked line, given where each ends.
fn split_at_ends<'a>(masked: &'a str, ends: &'a [usize]) -> impl Iterator<Item = &'a str> {
    let mut start = 0;
    ends.iter().map(move |&end| {
        let token = &masked[start..end];
        start = end + 1;
        token
    })
}

/// How a line compares with a template, position by position.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Comparison {
    /// Positions with the same token.
    equal: usize,
    /// Positions the template already holds as a wildcard.
    wild: usize,
    /// Positions where two different plain words meet: evidence of a different event, since
    /// values rarely look like dictionary words ("startup" against "shutdown").
    word_clashes: usize,
}

fn compare<'a>(template: &[Box<str>], line: impl Iterator<Item = &'a str>) -> Comparison {
    let mut result = Comparison::default();
    for (slot, token) in template.iter().zip(line) {
        if &**slot == token {
            result.equal += 1;
        } else if &**slot == WILDCARD {
            result.wild += 1;
        } else if is_plain_word(slot) && is_plain_word(token) {
            result.word_clashes += 1;
        }
    }
    result
}

/// A word of letters, perhaps with punctuation around it: `startup`, `finalization.`, `(ok)`.
fn is_plain_word(token: &str) -> bool {
    let core = token.trim_matches(|c: char| c.is_ascii_punctuation());
    core.len() >= 2 && core.bytes().all(|b| b.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_differing_in_values_share_a_template() {
        let mut miner = Miner::new(MinerConfig::default());
        let a = miner.add("PacketResponder 1 for block blk_3886 terminating");
        let b = miner.add("PacketResponder 0 for block blk_-695 terminating");
        let c = miner.add("Receiving block blk_1073 src: /10.0.0.1:50010 dest: /10.0.0.2:50010");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            miner.cluster(a).template(),
            "PacketResponder <*> for block <*> terminating"
        );
        assert_eq!(miner.cluster(a).count, 2);
        assert_eq!(
            miner.cluster(c).template(),
            "Receiving block <*> src: <*>:<*> dest: <*>:<*>"
        );
    }

    #[test]
    fn a_word_that_takes_several_values_becomes_a_wildcard() {
        let mut miner = Miner::new(MinerConfig::default());
        let ids: Vec<ClusterId> = ["root", "alice", "bob"]
            .iter()
            .map(|user| miner.add(&format!("session opened for user {user} by admin")))
            .collect();
        miner.merge_variants();
        let id = miner.resolve(ids[0]);
        assert!(ids.iter().all(|&i| miner.resolve(i) == id));
        assert_eq!(
            miner.cluster(id).template(),
            "session opened for user <*> by admin"
        );
        assert_eq!(miner.cluster(id).count, 3);
    }

    #[test]
    fn short_messages_differing_in_a_word_are_different_events() {
        let mut miner = Miner::new(MinerConfig::default());
        let ok = miner.add("Link ok");
        let error = miner.add("Link error");
        let startup = miner.add("cupsd startup succeeded");
        let shutdown = miner.add("cupsd shutdown succeeded");
        miner.merge_variants();
        assert_ne!(miner.resolve(ok), miner.resolve(error));
        assert_ne!(miner.resolve(startup), miner.resolve(shutdown));
    }

    #[test]
    fn templates_join_tokens_with_single_spaces() {
        let mut miner = Miner::new(MinerConfig::default());
        let id = miner.add("  took  12 ms");
        assert_eq!(miner.cluster(id).template(), "took <*> ms");
    }

    #[test]
    fn feeding_the_same_lines_again_creates_no_templates() {
        let lines = [
            "Connection from 10.0.0.1 port 22",
            "Connection from host-a port 22",
            "Connection closed by 10.0.0.9",
            "Accepted password for root from 10.0.0.1 port 51234 ssh2",
            "Accepted password for bob from 10.0.0.2 port 51235 ssh2",
            "Invalid user test from 10.0.0.3",
            "Invalid user <*> from 10.0.0.4",
        ];
        let mut miner = Miner::new(MinerConfig {
            max_cached_lines: 2, // force the slow path on repeats
            ..MinerConfig::default()
        });
        let mut counts = Vec::new();
        for _ in 0..5 {
            for line in lines {
                miner.add(line);
            }
            counts.push(miner.clusters().count());
        }
        assert!(counts.windows(2).all(|w| w[0] == w[1]), "{counts:?}");
    }

    #[test]
    fn eviction_is_counted() {
        let mut miner = Miner::new(MinerConfig {
            max_clusters: 10,
            ..MinerConfig::default()
        });
        // Words without digits, so masking cannot fold them together.
        let word = |n: u8| format!("{}{}", (b'a' + n / 26) as char, (b'a' + n % 26) as char);
        for n in 0..100u8 {
            miner.add(&format!("{} {} {}", word(n), word(n), word(n)));
        }
        assert!(miner.clusters().count() <= 10);
        let losses = miner.losses();
        assert!(losses.evicted_templates >= 90, "{losses:?}");
        let kept: u64 = miner.clusters().map(|(_, c)| c.count).sum();
        assert_eq!(kept + losses.evicted_lines, 100);
    }
}
