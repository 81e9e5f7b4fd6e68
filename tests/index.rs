//! The similar-case index folder over its life: built from the store, reopened, and rebuilt when
//! it is missing, half-built, of another schema version or corrupt; and owned by one process.

#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};

use triagegate::domain::Actor;
use triagegate::domain::case::{CaseDraft, ImportedCase};
use triagegate::search::{CaseIndex, IndexError, QueryConfig, SimilarQuery, sync};
use triagegate::store::{self, Store};

use support::{Backend, TestDb, seed, test_config};

struct Fixture {
    _db: TestDb,
    store: std::sync::Arc<dyn Store>,
    tenant: String,
    dir: PathBuf,
}

async fn fixture() -> Fixture {
    let db = TestDb::new(Backend::Sqlite).await;
    let config = test_config(&db, &[]);
    let store = store::connect(&config.database).await.expect("store");
    let seeded = seed(store.as_ref()).await;
    for (id, title) in [
        ("C-1", "Outlook cannot connect to Exchange"),
        ("C-2", "Printer jams on tray 2"),
    ] {
        let draft = CaseDraft {
            external_id: id.into(),
            title: title.into(),
            service_group: "Service Desk".into(),
            ..CaseDraft::default()
        };
        let case = ImportedCase::from_draft(seeded.acme.id, &draft).expect("valid case");
        store
            .upsert_case(&case, &Actor::cli())
            .await
            .expect("stored");
    }
    Fixture {
        dir: db.dir().join("index"),
        tenant: seeded.acme.id.0.to_string(),
        _db: db,
        store,
    }
}

fn digest() -> triagegate::digest::DigestOptions {
    let config = triagegate::config::Config::load_with_env(None, Vec::new()).expect("defaults");
    triagegate::digest::DigestOptions::from_config(&config.digest)
}

fn query(tenant: &str, title: &str) -> SimilarQuery {
    SimilarQuery {
        tenants: vec![tenant.to_string()],
        title: title.into(),
        ..SimilarQuery::default()
    }
}

async fn open_and_build(f: &Fixture) -> CaseIndex {
    let (index, needs_rebuild) = CaseIndex::open(&f.dir, QueryConfig::default()).expect("open");
    if needs_rebuild {
        let built = sync::rebuild(&index, f.store.as_ref(), digest(), &|_| {})
            .await
            .expect("rebuild");
        assert_eq!(built, 2);
    }
    index
}

/// Closes the index; the folder is free for the next owner at once.
async fn close(index: CaseIndex, _dir: &Path) {
    index.close().await;
}

fn versioned(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .expect("folder")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("cases-v"))
        })
        .expect("a versioned index folder")
}

async fn needs_rebuild(dir: &Path) -> bool {
    let (index, rebuild) = CaseIndex::open(dir, QueryConfig::default()).expect("open");
    index.close().await;
    rebuild
}

#[tokio::test]
async fn a_missing_index_is_built_and_an_intact_one_reused() {
    let f = fixture().await;
    let index = open_and_build(&f).await;
    let hits = index
        .search(query(&f.tenant, "outlook exchange"), 5)
        .await
        .expect("search");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].title, "Outlook cannot connect to Exchange");
    close(index, &f.dir).await;
    assert!(
        !needs_rebuild(&f.dir).await,
        "a complete index of this version is reused"
    );
}

#[tokio::test]
async fn half_built_unreadable_and_old_version_folders_are_rebuilt() {
    let f = fixture().await;
    close(open_and_build(&f).await, &f.dir).await;
    let folder = versioned(&f.dir);

    std::fs::remove_file(folder.join("triagegate-ready")).expect("unmark");
    assert!(
        needs_rebuild(&f.dir).await,
        "no ready marker: a rebuild stopped half-way"
    );

    close(open_and_build(&f).await, &f.dir).await;
    std::fs::write(folder.join("meta.json"), b"{ not json").expect("corrupt");
    assert!(needs_rebuild(&f.dir).await, "unreadable meta.json");
    let index = open_and_build(&f).await;
    assert_eq!(
        index
            .search(query(&f.tenant, "printer"), 5)
            .await
            .expect("search")
            .len(),
        1
    );
    close(index, &f.dir).await;

    // Another schema version's folder is removed; anything else in the folder is left alone.
    let old = f.dir.join("cases-v0");
    std::fs::create_dir_all(&old).expect("old version");
    std::fs::write(old.join("meta.json"), b"{}").expect("old file");
    std::fs::write(f.dir.join("README.md"), b"operator notes").expect("notes");
    let (index, _) = CaseIndex::open(&f.dir, QueryConfig::default()).expect("open");
    assert!(!old.exists(), "old schema version removed");
    assert!(f.dir.join("README.md").is_file(), "other files kept");
    drop(index);
}

#[tokio::test]
async fn corrupt_segments_make_searches_fail_into_a_rebuild() {
    let f = fixture().await;
    close(open_and_build(&f).await, &f.dir).await;
    let folder = versioned(&f.dir);
    for file in std::fs::read_dir(&folder).expect("files").flatten() {
        let name = file.file_name().to_string_lossy().into_owned();
        if name.ends_with(".term") || name.ends_with(".store") || name.ends_with(".idx") {
            std::fs::write(file.path(), b"garbage, not a tantivy file").expect("corrupt");
        }
    }
    let (index, rebuild) = CaseIndex::open(&f.dir, QueryConfig::default()).expect("open");
    if !rebuild {
        // Opened from meta.json alone: the first search meets the damage and asks for a rebuild.
        let result = index.search(query(&f.tenant, "outlook"), 5).await;
        assert!(result.is_err(), "a corrupt index answered {result:?}");
    }
    assert!(!index.is_ready(), "a rebuild is pending");
    let search = index.search(query(&f.tenant, "outlook"), 5).await;
    assert!(matches!(search, Err(IndexError::Rebuilding)), "{search:?}");
    sync::rebuild(&index, f.store.as_ref(), digest(), &|_| {})
        .await
        .expect("rebuild");
    assert!(index.is_ready());
    assert_eq!(
        index
            .search(query(&f.tenant, "outlook"), 5)
            .await
            .expect("search")
            .len(),
        1
    );
}

#[tokio::test]
async fn one_process_owns_the_folder() {
    let f = fixture().await;
    let index = open_and_build(&f).await;
    let second = CaseIndex::open(&f.dir, QueryConfig::default());
    assert!(
        matches!(second, Err(IndexError::Busy(_))),
        "a second owner was let in"
    );
    close(index, &f.dir).await;
}

#[tokio::test]
async fn other_tenants_cases_never_match() {
    let f = fixture().await;
    let index = open_and_build(&f).await;
    let other = uuid::Uuid::now_v7().to_string();
    let hits = index
        .search(query(&other, "outlook exchange printer"), 5)
        .await
        .expect("search");
    assert!(hits.is_empty(), "{hits:?}");
    let none = index
        .search(query(&f.tenant, ""), 5)
        .await
        .expect("empty text");
    assert!(none.is_empty());
}
