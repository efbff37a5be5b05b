//! Queries and maintenance: listing with filters and pages, purges, counts.

use std::sync::Arc;

use durafn_core::RuntimeStatus;

use crate::{FetchRequest, InstanceFilter, Store, StoreError};

use super::fixture::Fixture;
use super::support::*;

/// Listing filters by name, status, created time and id prefix, and pages with a continuation.
pub async fn list_filters_and_pages(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
    for i in 0..7 {
        let name = if i % 2 == 0 { "even" } else { "odd" };
        store
            .create_instance(new_instance(name, &format!("job-{i}"), at(i)))
            .await
            .expect("create");
    }
    store
        .create_instance(new_instance("even", "other-1", at(3)))
        .await
        .expect("create");
    let all = InstanceFilter::default();
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = store
            .list_instances(&all, 3, token.as_deref())
            .await
            .expect("list");
        assert!(page.instances.len() <= 3);
        seen.extend(page.instances.iter().map(|r| r.instance_id.to_string()));
        match page.continuation {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "job-0", "job-1", "job-2", "job-3", "other-1", "job-4", "job-5", "job-6"
        ]
    );
    let filter = InstanceFilter {
        name: Some("even".into()),
        instance_id_prefix: Some("job-".into()),
        created_from: Some(at(1)),
        created_to: Some(at(5)),
        statuses: vec![RuntimeStatus::Pending],
        version: None,
    };
    let page = store
        .list_instances(&filter, 100, None)
        .await
        .expect("list");
    let ids: Vec<String> = page
        .instances
        .iter()
        .map(|r| r.instance_id.to_string())
        .collect();
    assert_eq!(ids, ["job-2", "job-4"]);
    assert_eq!(page.continuation, None);
    let none = InstanceFilter {
        statuses: vec![RuntimeStatus::Completed],
        ..Default::default()
    };
    assert!(
        store
            .list_instances(&none, 10, None)
            .await
            .expect("list")
            .instances
            .is_empty()
    );
    assert!(matches!(
        store.list_instances(&all, 10, Some("garbage")).await,
        Err(StoreError::InvalidInput(_))
    ));
}

/// Listing filters by version: exactly the version given, the empty one meaning none.
pub async fn list_filters_by_version(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
    for (i, version) in [Some("1.0"), Some("2.0"), None, Some("1.0")]
        .into_iter()
        .enumerate()
    {
        let mut instance = new_instance("o", &format!("v-{i}"), at(i as i64));
        instance.version = version.map(String::from);
        store.create_instance(instance).await.expect("create");
    }
    let ids = |version: &str| {
        let store = store.clone();
        let filter = InstanceFilter {
            version: Some(version.to_string()),
            ..Default::default()
        };
        async move {
            let page = store.list_instances(&filter, 10, None).await.expect("list");
            page.instances
                .iter()
                .map(|r| r.instance_id.to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(ids("1.0").await, ["v-0", "v-3"]);
    assert_eq!(ids("2.0").await, ["v-1"]);
    assert_eq!(ids("").await, ["v-2"]);
    assert!(ids("3.0").await.is_empty());
}

/// Purging deletes terminal instances with everything they own, and refuses active ones.
pub async fn purge_one_and_many(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
    for i in 0..4 {
        store
            .create_instance(new_instance("o", &format!("i{i}"), at(i)))
            .await
            .expect("create");
    }
    let items = store
        .fetch_orchestration_work(fetch(at(10), "h"))
        .await
        .expect("fetch");
    for item in &items {
        let status = if item.instance_id == id("i3") {
            RuntimeStatus::Running
        } else {
            RuntimeStatus::Completed
        };
        commit_ok(store.as_ref(), commit_of(item, status, at(11))).await;
    }
    assert!(matches!(
        store.purge_instance(&id("i3")).await,
        Err(StoreError::NotTerminal { .. })
    ));
    assert!(store.purge_instance(&id("i0")).await.expect("purge"));
    assert!(!store.purge_instance(&id("i0")).await.expect("purge again"));
    assert!(store.get_instance(&id("i0")).await.expect("get").is_none());
    assert!(
        store
            .get_history(&id("i0"))
            .await
            .expect("history")
            .is_empty()
    );
    let filter = InstanceFilter {
        created_from: Some(at(2)),
        ..Default::default()
    };
    assert_eq!(
        store.purge_instances(&filter).await.expect("purge many"),
        1,
        "i2 only: i3 is running"
    );
    assert!(store.get_instance(&id("i1")).await.expect("get").is_some());
    assert!(store.get_instance(&id("i3")).await.expect("get").is_some());
}

/// Instances are counted by status.
pub async fn count_by_status(hub: &Fixture) {
    let store: Arc<dyn Store> = hub.store().clone();
    for i in 0..3 {
        store
            .create_instance(new_instance("o", &format!("i{i}"), t0()))
            .await
            .expect("create");
    }
    let item = store
        .fetch_orchestration_work(FetchRequest {
            max_items: 1,
            ..fetch(at(1), "h")
        })
        .await
        .expect("fetch")
        .remove(0);
    commit_ok(
        store.as_ref(),
        commit_of(&item, RuntimeStatus::Completed, at(2)),
    )
    .await;
    let counts = store.count_by_status().await.expect("count");
    let get = |s: RuntimeStatus| {
        counts
            .iter()
            .find(|(k, _)| *k == s)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    assert_eq!(
        (
            get(RuntimeStatus::Pending),
            get(RuntimeStatus::Completed),
            get(RuntimeStatus::Running)
        ),
        (2, 1, 0)
    );
}
