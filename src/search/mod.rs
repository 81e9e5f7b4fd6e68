//! Similar past cases: a tantivy index on disk (`index.rs`), its schema and analyzers
//! (`schema.rs`), how a ticket becomes a query (`query.rs`), and how the index follows the store
//! (`sync.rs`). The store is the truth; the index can always be rebuilt from it.

pub mod index;
pub mod query;
pub mod schema;
pub mod sync;

pub use index::{CaseIndex, IndexError, IndexedCase, SimilarQuery};
pub use query::{Hit, QueryConfig};
