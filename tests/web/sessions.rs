//! The session store on its own: lock-out counting and expiry, session lookup with the user's
//! tenants, sign-out, and password changes ending sessions.

use chrono::TimeDelta;
use triagegate::auth;
use triagegate::domain::Actor;
use triagegate::domain::user::TenantAccess;
use triagegate::store::{FailedSignIn, LockoutPolicy, NewSession, SessionOpened};

use crate::on_both_backends;
use crate::support::{Backend, spawn_app};

on_both_backends!(
    failures_count_up_to_the_limit_and_a_finished_lock_starts_afresh,
    a_session_reads_back_with_its_user_and_tenants_and_closes_once,
    setting_a_password_ends_sessions_and_keeps_the_hash_out_of_the_audit,
);

fn new_session(user: triagegate::domain::user::UserId) -> (String, NewSession) {
    let token = auth::generate_token();
    let now = triagegate::domain::now();
    let session = NewSession {
        session_hash: auth::hash_token(&token),
        user_id: user,
        csrf_token: "csrf".into(),
        created_at: now,
        expires_at: now + TimeDelta::hours(1),
    };
    (token, session)
}

async fn failures_count_up_to_the_limit_and_a_finished_lock_starts_afresh(backend: Backend) {
    let app = spawn_app(backend).await;
    let store = app.store.as_ref();
    let user = store
        .sign_in_state("ann-l1")
        .await
        .expect("store")
        .expect("user");
    let long = LockoutPolicy {
        max_failed_logins: 2,
        lockout: TimeDelta::minutes(15),
    };

    let first = store
        .record_failed_sign_in(user.user_id, &long)
        .await
        .expect("count");
    let second = store
        .record_failed_sign_in(user.user_id, &long)
        .await
        .expect("count");
    let while_locked = store
        .record_failed_sign_in(user.user_id, &long)
        .await
        .expect("count");
    let (_, session) = new_session(user.user_id);
    let opened = store.open_session(&session).await.expect("open");

    assert_eq!(first, FailedSignIn::Counted(1));
    let FailedSignIn::Locked { until } = second else {
        panic!("the second failure locks: {second:?}");
    };
    assert_eq!(
        while_locked,
        FailedSignIn::Locked { until },
        "a lock is not extended"
    );
    assert_eq!(
        opened,
        SessionOpened::Locked { until },
        "no session while locked"
    );
    let state = store
        .sign_in_state("ann-l1")
        .await
        .expect("store")
        .expect("user");
    assert!(state.locked_at(triagegate::domain::now()));

    // A lock of no length is over at once: the next failure counts from one again.
    let other = store
        .sign_in_state("bob-approver")
        .await
        .expect("store")
        .expect("user");
    let instant = LockoutPolicy {
        max_failed_logins: 1,
        lockout: TimeDelta::zero(),
    };
    let locked = store
        .record_failed_sign_in(other.user_id, &instant)
        .await
        .expect("count");
    assert!(matches!(locked, FailedSignIn::Locked { .. }));
    let after = store
        .record_failed_sign_in(other.user_id, &long)
        .await
        .expect("count");
    assert_eq!(after, FailedSignIn::Counted(1));
    let (_, session) = new_session(other.user_id);
    assert_eq!(
        store.open_session(&session).await.expect("open"),
        SessionOpened::Opened
    );
    let reset = store
        .sign_in_state("bob-approver")
        .await
        .expect("store")
        .expect("user");
    assert_eq!(reset.failed_logins, 0, "signing in clears the count");
    assert_eq!(reset.locked_until, None);
}

async fn a_session_reads_back_with_its_user_and_tenants_and_closes_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let store = app.store.as_ref();
    let user = store
        .sign_in_state("ann-l1")
        .await
        .expect("store")
        .expect("user");
    let (_, session) = new_session(user.user_id);
    assert_eq!(
        store.open_session(&session).await.expect("open"),
        SessionOpened::Opened
    );

    let found = store
        .session(&session.session_hash)
        .await
        .expect("store")
        .expect("the session");
    let closed = store
        .close_session(&session.session_hash)
        .await
        .expect("close");
    let closed_again = store
        .close_session(&session.session_hash)
        .await
        .expect("close");
    let gone = store.session(&session.session_hash).await.expect("store");

    assert_eq!(found.user.name, "ann-l1");
    assert_eq!(
        found.user.tenants,
        TenantAccess::Only(vec![app.seeded.acme.id])
    );
    assert_eq!(found.csrf_token, "csrf");
    assert_eq!(found.expires_at, session.expires_at);
    assert!(!found.expired_at(triagegate::domain::now()));
    assert!(closed);
    assert!(!closed_again, "a closed session cannot be closed twice");
    assert!(gone.is_none());
    let all = store
        .sign_in_state("dan-admin")
        .await
        .expect("store")
        .expect("user");
    let (_, admin_session) = new_session(all.user_id);
    store.open_session(&admin_session).await.expect("open");
    let admin = store
        .session(&admin_session.session_hash)
        .await
        .expect("store")
        .expect("the session");
    assert_eq!(admin.user.tenants, TenantAccess::All);
}

async fn setting_a_password_ends_sessions_and_keeps_the_hash_out_of_the_audit(backend: Backend) {
    let app = spawn_app(backend).await;
    let store = app.store.as_ref();
    let user = store
        .sign_in_state("cat-qa")
        .await
        .expect("store")
        .expect("user");
    let (_, first) = new_session(user.user_id);
    let (_, second) = new_session(user.user_id);
    store.open_session(&first).await.expect("open");
    store.open_session(&second).await.expect("open");
    let hash = auth::hash_password("another password").expect("hash");

    store
        .set_password("cat-qa", &hash, &Actor::cli())
        .await
        .expect("set");
    let missing = store.set_password("nobody", &hash, &Actor::cli()).await;

    assert!(
        store
            .session(&first.session_hash)
            .await
            .expect("store")
            .is_none()
    );
    assert!(
        store
            .session(&second.session_hash)
            .await
            .expect("store")
            .is_none()
    );
    let state = store
        .sign_in_state("cat-qa")
        .await
        .expect("store")
        .expect("user");
    assert_eq!(state.password_hash.as_deref(), Some(hash.as_str()));
    assert!(matches!(
        missing,
        Err(triagegate::store::Error::NotFound { .. })
    ));
    let events = store
        .audit_events_for("user", &user.user_id.0.to_string())
        .await
        .expect("events");
    let set = events
        .iter()
        .find(|e| e.action == "user.password_set")
        .expect("a password_set event");
    assert!(
        set.payload.contains("\"sessions_ended\":2"),
        "{}",
        set.payload
    );
    assert!(!set.payload.contains("argon2"), "{}", set.payload);
    assert_eq!(set.actor, "cli");
    let report = triagegate::store::verify_audit_chain(store)
        .await
        .expect("verify");
    assert!(report.ok, "{report:?}");
}
