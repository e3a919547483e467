//! The conformance suite every [`SyncStore`] passes: the same assertions on SQLite, on
//! PostgreSQL and on [`super::memory::MemorySyncStore`], written from the port's contract
//! (see the module docs of [`super`]). Call [`run`] with an empty store.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::json;
use uuid::Uuid;

use super::{
    Fence, JobRecord, Link, LinkOrigin, LinkQuery, LogQuery, LogRow, Staleness, SyncStore,
    SyncStoreError,
};

/// The store under test.
pub type Store = Arc<dyn SyncStore>;

/// Lease clock readings, in the RFC 3339 form the engine writes (they compare as text).
const T0: &str = "2024-05-01T10:00:00.000Z";
const T1: &str = "2024-05-01T10:01:00.000Z";
const T2: &str = "2024-05-01T10:02:00.000Z";
const T3: &str = "2024-05-01T10:03:00.000Z";
const T4: &str = "2024-05-01T10:04:00.000Z";

/// Runs every check against `store`, which must be empty.
pub async fn run(store: Store) {
    // First: it counts every log row older than a time, which later checks add to.
    logs(&store).await;
    log_pages(&store).await;
    jobs(&store).await;
    job_json_keeps_its_text(&store).await;
    secrets(&store).await;
    links(&store).await;
    link_filters(&store).await;
    link_pages(&store).await;
    target_taken(&store).await;
    links_in_one_write(&store).await;
    leases(&store).await;
    fencing(&store).await;
    watermarks(&store).await;
    delete_job_cascades(&store).await;
    concurrent_acquirers(&store).await;
}

fn job_record(service_principal: Uuid) -> JobRecord {
    let id = format!("scim.{}", Uuid::new_v4().simple());
    JobRecord {
        job: json!({"id": id, "templateId": "scim", "schedule": {"state": "Disabled"}}),
        schema: json!({"id": id, "directories": [], "synchronizationRules": []}),
        id,
        service_principal_id: service_principal,
        template_id: "scim".to_string(),
        // Ignored: a new job is at version 1 whatever it says.
        version: 7,
        created: "2024-05-01T09:00:00.000Z".to_string(),
    }
}

async fn create_job(s: &Store) -> JobRecord {
    s.create_job(job_record(Uuid::new_v4()))
        .await
        .expect("create job")
}

/// A job whose lease `worker` holds from [`T0`] to [`T1`].
async fn leased_job(s: &Store, worker: &str) -> (JobRecord, Fence) {
    let job = create_job(s).await;
    let fence = s
        .acquire_lease(&job.id, worker, T0, T1)
        .await
        .expect("acquire")
        .expect("a new job's lease is free");
    (job, fence)
}

fn link(job: &str, object_type: &str, source_id: Uuid, target_id: &str) -> Link {
    Link {
        job_id: job.to_string(),
        object_type: object_type.to_string(),
        source_id,
        target_id: target_id.to_string(),
        display_name: Some(format!("object {target_id}")),
        origin: LinkOrigin::Created,
        made: "2024-05-01T10:00:30.000Z".to_string(),
        shadow: None,
        stale: None,
    }
}

fn stale(would_choose: Option<&str>) -> Option<Staleness> {
    Some(Staleness {
        found: "2024-05-01T10:00:40.000Z".to_string(),
        would_choose: would_choose.map(str::to_string),
        reason: "matched by userName = \"ann@contoso.com\"".to_string(),
    })
}

fn ids(links: &[Link]) -> Vec<Uuid> {
    links.iter().map(|l| l.source_id).collect()
}

fn all_links() -> LinkQuery {
    LinkQuery {
        limit: 1000,
        ..LinkQuery::default()
    }
}

async fn jobs(s: &Store) {
    let principal = Uuid::new_v4();
    let first = s
        .create_job(job_record(principal))
        .await
        .expect("create job");
    assert_eq!(first.version, 1, "a new job is at version 1");
    let second = s
        .create_job(job_record(principal))
        .await
        .expect("create another job");
    let elsewhere = create_job(s).await;

    assert_eq!(s.job(&first.id).await.expect("get"), Some(first.clone()));
    assert_eq!(s.job("scim.missing").await.expect("get"), None);

    // A second job with the same id is refused and the first one stays as it was.
    let mut again = job_record(principal);
    again.id = first.id.clone();
    assert_eq!(
        s.create_job(again).await,
        Err(SyncStoreError::JobExists(first.id.clone()))
    );
    assert_eq!(s.job(&first.id).await.expect("get"), Some(first.clone()));

    let mut expected = vec![first.clone(), second.clone()];
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(s.jobs(principal).await.expect("jobs"), expected);
    assert_eq!(s.jobs(Uuid::new_v4()).await.expect("jobs"), vec![]);

    let all = s.all_jobs().await.expect("all jobs");
    let all_ids: Vec<&str> = all.iter().map(|j| j.id.as_str()).collect();
    assert!(
        all_ids.windows(2).all(|w| w[0] < w[1]),
        "by id: {all_ids:?}"
    );
    for job in [&first, &second, &elsewhere] {
        assert!(all.contains(job), "{} missing from all jobs", job.id);
    }

    // Updates name the version they read.
    let job = json!({"id": first.id, "schedule": {"state": "Active"}});
    let schema = json!({"id": first.id, "synchronizationRules": [{"name": "r"}]});
    let updated = s
        .update_job(&first.id, 1, job.clone(), schema.clone(), None)
        .await
        .expect("update");
    assert_eq!(
        updated,
        JobRecord {
            job: job.clone(),
            schema: schema.clone(),
            version: 2,
            ..first.clone()
        }
    );
    assert_eq!(s.job(&first.id).await.expect("get"), Some(updated.clone()));
    assert_eq!(
        s.update_job(&first.id, 1, json!({}), json!({}), None).await,
        Err(SyncStoreError::VersionConflict {
            job: first.id.clone(),
            current: 2
        }),
        "an outdated version is refused"
    );
    assert_eq!(s.job(&first.id).await.expect("get"), Some(updated.clone()));
    assert_eq!(
        s.update_job("scim.missing", 1, json!({}), json!({}), None)
            .await,
        Err(SyncStoreError::JobNotFound("scim.missing".to_string()))
    );

    assert!(s.delete_job(&second.id).await.expect("delete"));
    assert!(!s.delete_job(&second.id).await.expect("delete again"));
    assert_eq!(s.job(&second.id).await.expect("get"), None);
    assert_eq!(s.jobs(principal).await.expect("jobs"), vec![updated]);
}

/// The job's JSON comes back as it was written, key order included: Graph returns it as
/// stored.
async fn job_json_keeps_its_text(s: &Store) {
    let mut record = job_record(Uuid::new_v4());
    record.job = json!({"zeta": 1, "alpha": {"y": [1.5, "ü"], "b": null}, "mid": true});
    let created = s.create_job(record.clone()).await.expect("create");
    let read = s.job(&created.id).await.expect("get").expect("exists");
    assert_eq!(
        serde_json::to_string(&read.job).expect("json"),
        serde_json::to_string(&record.job).expect("json")
    );
}

async fn secrets(s: &Store) {
    let principal = Uuid::new_v4();
    let other = Uuid::new_v4();
    assert_eq!(s.secrets(principal).await.expect("secrets"), None);
    // Sealed bytes are arbitrary, not text.
    let sealed = vec![0_u8, 255, 1, 0, 128, 10];
    s.put_secrets(principal, sealed.clone()).await.expect("put");
    assert_eq!(s.secrets(principal).await.expect("secrets"), Some(sealed));
    s.put_secrets(principal, vec![7; 3]).await.expect("replace");
    s.put_secrets(other, vec![]).await.expect("put empty");
    assert_eq!(
        s.secrets(principal).await.expect("secrets"),
        Some(vec![7; 3])
    );
    assert_eq!(s.secrets(other).await.expect("secrets"), Some(vec![]));
}

async fn links(s: &Store) {
    let (job, fence) = leased_job(s, "w1").await;
    let (other_job, other_fence) = leased_job(s, "w1").await;
    let source = Uuid::new_v4();
    let written = Link {
        origin: LinkOrigin::Matched {
            target_attribute: "externalId".to_string(),
            source_attribute: "mailNickname".to_string(),
            value: "ann".to_string(),
        },
        shadow: Some(json!({"userName": "ann@contoso.com", "active": true})),
        stale: stale(Some("t-other")),
        ..link(&job.id, "User", source, "t-1")
    };
    assert_eq!(s.link(&job.id, "User", source).await.expect("get"), None);
    s.put_link(fence, written.clone()).await.expect("put");
    assert_eq!(
        s.link(&job.id, "User", source).await.expect("get"),
        Some(written.clone())
    );
    assert_eq!(s.link(&job.id, "Group", source).await.expect("get"), None);
    assert_eq!(
        s.link(&other_job.id, "User", source).await.expect("get"),
        None
    );
    assert_eq!(
        s.link_by_target(&job.id, "t-1").await.expect("by target"),
        Some(written.clone())
    );
    assert_eq!(
        s.link_by_target(&other_job.id, "t-1")
            .await
            .expect("by target"),
        None
    );

    // Writing the same (job, type, source) replaces the link, target included.
    let replaced = Link {
        display_name: None,
        origin: LinkOrigin::Manual,
        ..link(&job.id, "User", source, "t-2")
    };
    s.put_link(fence, replaced.clone()).await.expect("replace");
    assert_eq!(
        s.link(&job.id, "User", source).await.expect("get"),
        Some(replaced.clone())
    );
    assert_eq!(s.link_by_target(&job.id, "t-1").await.expect("get"), None);
    assert_eq!(
        s.link_by_target(&job.id, "t-2").await.expect("get"),
        Some(replaced.clone())
    );
    assert_eq!(
        s.links(&job.id, &all_links()).await.expect("list"),
        vec![replaced.clone()]
    );

    // A link of the other job, to be left alone by this job's deletes.
    let kept = link(&other_job.id, "User", source, "t-2");
    s.put_link(other_fence, kept.clone()).await.expect("put");

    assert!(s
        .delete_link(&job.id, "User", source)
        .await
        .expect("delete"));
    assert!(!s
        .delete_link(&job.id, "User", source)
        .await
        .expect("delete again"));
    assert_eq!(s.link(&job.id, "User", source).await.expect("get"), None);

    for i in 0..3 {
        s.put_link(
            fence,
            link(&job.id, "Group", Uuid::new_v4(), &format!("g{i}")),
        )
        .await
        .expect("put");
    }
    assert_eq!(s.clear_links(fence, &job.id).await.expect("clear"), 3);
    assert_eq!(s.links(&job.id, &all_links()).await.expect("list"), vec![]);
    assert_eq!(s.clear_links(fence, &job.id).await.expect("clear again"), 0);
    assert_eq!(
        s.links(&other_job.id, &all_links()).await.expect("list"),
        vec![kept]
    );
}

async fn link_filters(s: &Store) {
    let (job, fence) = leased_job(s, "w1").await;
    let mut written = Vec::new();
    for i in 0..12 {
        let object_type = if i % 3 == 0 { "Group" } else { "User" };
        let mut l = link(&job.id, object_type, Uuid::new_v4(), &format!("t{i}"));
        if i % 4 == 0 {
            l.stale = stale(None);
        }
        s.put_link(fence, l.clone()).await.expect("put");
        written.push(l);
    }
    written.sort_by_key(|l| l.source_id);
    let expect = |keep: &dyn Fn(&Link) -> bool| -> Vec<Link> {
        written.iter().filter(|l| keep(l)).cloned().collect()
    };
    let cases: Vec<(&str, LinkQuery, Vec<Link>)> = vec![
        ("all", all_links(), written.clone()),
        (
            "users",
            LinkQuery {
                object_type: Some("User".to_string()),
                ..all_links()
            },
            expect(&|l| l.object_type == "User"),
        ),
        (
            "stale",
            LinkQuery {
                stale: Some(true),
                ..all_links()
            },
            expect(&|l| l.stale.is_some()),
        ),
        (
            "not stale",
            LinkQuery {
                stale: Some(false),
                ..all_links()
            },
            expect(&|l| l.stale.is_none()),
        ),
        (
            "stale groups",
            LinkQuery {
                object_type: Some("Group".to_string()),
                stale: Some(true),
                ..all_links()
            },
            expect(&|l| l.object_type == "Group" && l.stale.is_some()),
        ),
        (
            "unknown type",
            LinkQuery {
                object_type: Some("Device".to_string()),
                ..all_links()
            },
            vec![],
        ),
        (
            "first five",
            LinkQuery {
                limit: 5,
                ..all_links()
            },
            written[..5].to_vec(),
        ),
        (
            "after the sixth",
            LinkQuery {
                after: Some(written[5].source_id),
                ..all_links()
            },
            written[6..].to_vec(),
        ),
        (
            "none",
            LinkQuery {
                limit: 0,
                ..all_links()
            },
            vec![],
        ),
    ];
    for (name, query, expected) in cases {
        assert_eq!(
            s.links(&job.id, &query).await.expect("list"),
            expected,
            "{name}"
        );
    }
}

/// Keyset pages while links are written between them: every link that exists throughout
/// comes once, in source id order, and so does every link written after the page cursor.
async fn link_pages(s: &Store) {
    let (job, fence) = leased_job(s, "w1").await;
    let mut present = BTreeSet::new();
    for i in 0..40 {
        let object_type = if i % 2 == 0 { "User" } else { "Group" };
        let id = Uuid::new_v4();
        s.put_link(fence, link(&job.id, object_type, id, &format!("p{i}")))
            .await
            .expect("put");
        present.insert(id);
    }
    for object_type in [None, Some("User")] {
        let mut seen: Vec<Uuid> = Vec::new();
        let mut must_see = present.clone();
        let mut after = None;
        let mut page_number = 0;
        loop {
            let page = s
                .links(
                    &job.id,
                    &LinkQuery {
                        object_type: object_type.map(str::to_string),
                        stale: None,
                        after,
                        limit: 7,
                    },
                )
                .await
                .expect("page");
            let Some(last) = page.last() else { break };
            after = Some(last.source_id);
            seen.extend(ids(&page));
            // Rows written between pages (of the first few), on both sides of the cursor.
            page_number += 1;
            for _ in 0..if page_number <= 10 { 3 } else { 0 } {
                let id = Uuid::new_v4();
                let t = if page_number % 2 == 0 {
                    "User"
                } else {
                    "Group"
                };
                s.put_link(fence, link(&job.id, t, id, &format!("n{id}")))
                    .await
                    .expect("put between pages");
                let wanted = object_type.is_none_or(|o| o == t);
                if wanted && Some(id) > after {
                    must_see.insert(id);
                }
                present.insert(id);
            }
        }
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "{object_type:?}: pages repeat or go back"
        );
        let seen: BTreeSet<Uuid> = seen.into_iter().collect();
        let all = s.links(&job.id, &all_links()).await.expect("all");
        for id in &must_see {
            let l = all.iter().find(|l| l.source_id == *id).expect("written");
            if object_type.is_none_or(|o| o == l.object_type) {
                assert!(seen.contains(id), "{object_type:?}: page skipped {id}");
            }
        }
        assert!(
            all.iter()
                .filter(|l| seen.contains(&l.source_id))
                .all(|l| object_type.is_none_or(|o| o == l.object_type)),
            "{object_type:?}: a page ignored the filter"
        );
    }
}

async fn target_taken(s: &Store) {
    let (job, fence) = leased_job(s, "w1").await;
    let (other_job, other_fence) = leased_job(s, "w1").await;
    let holder = Uuid::new_v4();
    let newcomer = Uuid::new_v4();
    s.put_link(fence, link(&job.id, "User", holder, "acct-1"))
        .await
        .expect("put");
    assert_eq!(
        s.put_link(fence, link(&job.id, "User", newcomer, "acct-1"))
            .await,
        Err(SyncStoreError::TargetTaken {
            target_id: "acct-1".to_string(),
            source_id: holder
        }),
        "a target is linked to one source object of a job and type"
    );
    assert_eq!(s.link(&job.id, "User", newcomer).await.expect("get"), None);
    // An existing link of the newcomer is left as it was too.
    s.put_link(fence, link(&job.id, "User", newcomer, "acct-2"))
        .await
        .expect("put");
    assert!(matches!(
        s.put_link(fence, link(&job.id, "User", newcomer, "acct-1"))
            .await,
        Err(SyncStoreError::TargetTaken { .. })
    ));
    assert_eq!(
        s.link(&job.id, "User", newcomer)
            .await
            .expect("get")
            .map(|l| l.target_id),
        Some("acct-2".to_string())
    );

    // The holder writing its own link again is no conflict.
    let rewritten = Link {
        shadow: Some(json!({"userName": "a"})),
        ..link(&job.id, "User", holder, "acct-1")
    };
    s.put_link(fence, rewritten).await.expect("rewrite");
    // Another type, or another job, may link the same target id.
    s.put_link(fence, link(&job.id, "Group", newcomer, "acct-1"))
        .await
        .expect("another type");
    s.put_link(other_fence, link(&other_job.id, "User", newcomer, "acct-1"))
        .await
        .expect("another job");

    // Once the holder lets go, the target is free.
    assert!(s
        .delete_link(&job.id, "User", holder)
        .await
        .expect("delete"));
    s.put_link(fence, link(&job.id, "User", newcomer, "acct-1"))
        .await
        .expect("taken over");
    assert_eq!(
        s.link_by_target(&job.id, "acct-2").await.expect("get"),
        None
    );
}

async fn leases(s: &Store) {
    let job = create_job(s).await;
    assert_eq!(
        s.acquire_lease("scim.missing", "w1", T0, T1).await,
        Err(SyncStoreError::JobNotFound("scim.missing".to_string()))
    );
    let first = s
        .acquire_lease(&job.id, "w1", T0, T1)
        .await
        .expect("acquire")
        .expect("free");
    // The holder asking again extends its lease and keeps its fence.
    assert_eq!(
        s.acquire_lease(&job.id, "w1", T0, T2).await.expect("again"),
        Some(first)
    );
    // A live lease refuses another worker (it was extended to T2).
    assert_eq!(
        s.acquire_lease(&job.id, "w2", T1, T3).await.expect("other"),
        None
    );
    assert!(s
        .renew_lease(&job.id, "w1", first, T3)
        .await
        .expect("renew"));
    assert_eq!(
        s.acquire_lease(&job.id, "w2", T2, T4).await.expect("other"),
        None,
        "renewed until T3"
    );
    assert!(!s
        .renew_lease(&job.id, "w2", first, T4)
        .await
        .expect("renew another's"));
    assert!(!s
        .renew_lease(&job.id, "w1", Fence(first.0 + 1), T4)
        .await
        .expect("renew with a wrong fence"));

    // Released: free at once, and the next holder gets a greater fence.
    s.release_lease(&job.id, first).await.expect("release");
    let second = s
        .acquire_lease(&job.id, "w2", T2, T3)
        .await
        .expect("acquire")
        .expect("free once released");
    assert!(second > first);
    // A release with an outdated fence leaves the current lease alone.
    s.release_lease(&job.id, first).await.expect("release");
    assert_eq!(
        s.acquire_lease(&job.id, "w3", T2, T3).await.expect("other"),
        None
    );
    // The former holder coming back after a release is a change of hands too.
    s.release_lease(&job.id, second).await.expect("release");
    let third = s
        .acquire_lease(&job.id, "w2", T2, T3)
        .await
        .expect("acquire")
        .expect("free");
    assert!(third > second);
    // Expired at T3: another worker takes it without a release.
    let fourth = s
        .acquire_lease(&job.id, "w1", T3, T4)
        .await
        .expect("acquire")
        .expect("expired");
    assert!(fourth > third);
    assert!(!s
        .renew_lease(&job.id, "w2", third, T4)
        .await
        .expect("renew"));
}

async fn fencing(s: &Store) {
    let (job, old) = leased_job(s, "w1").await;
    let source = Uuid::new_v4();
    let before = link(&job.id, "User", source, "t-1");
    s.put_link(old, before.clone()).await.expect("put");
    s.set_watermark(old, &job.id, Some(10))
        .await
        .expect("watermark");

    // The lease expires (T1) and another worker takes it.
    let new = s
        .acquire_lease(&job.id, "w2", T2, T3)
        .await
        .expect("acquire")
        .expect("expired");
    assert!(new > old);
    let fenced = Err(SyncStoreError::Fenced(job.id.clone()));
    let late = Link {
        shadow: Some(json!({"late": true})),
        ..link(&job.id, "User", source, "t-late")
    };
    assert_eq!(s.put_link(old, late).await, fenced);
    assert_eq!(
        s.put_link(old, link(&job.id, "User", Uuid::new_v4(), "t-9"))
            .await,
        fenced
    );
    assert_eq!(s.set_watermark(old, &job.id, Some(99)).await, fenced);
    assert_eq!(s.set_watermark(old, &job.id, None).await, fenced);
    assert_eq!(
        s.clear_links(old, &job.id).await,
        Err(SyncStoreError::Fenced(job.id.clone()))
    );
    // The old holder's status write (the job's JSON at the version it read) is refused too.
    let status = |by: &str| json!({"id": job.id, "status": {"by": by}});
    assert_eq!(
        s.update_job(
            &job.id,
            job.version,
            status("w1"),
            job.schema.clone(),
            Some(old)
        )
        .await,
        Err(SyncStoreError::Fenced(job.id.clone()))
    );
    // Nothing changed.
    assert_eq!(
        s.links(&job.id, &all_links()).await.expect("list"),
        vec![before]
    );
    assert_eq!(s.watermark(&job.id).await.expect("watermark"), Some(10));
    assert_eq!(s.job(&job.id).await.expect("job"), Some(job.clone()));
    // The new holder writes.
    s.put_link(new, link(&job.id, "User", source, "t-2"))
        .await
        .expect("put with the new fence");
    let updated = s
        .update_job(
            &job.id,
            job.version,
            status("w2"),
            job.schema.clone(),
            Some(new),
        )
        .await
        .expect("update with the new fence");
    assert_eq!(updated.job, status("w2"));
    // The API's writes carry no fence and go through whoever holds the lease.
    s.update_job(
        &job.id,
        updated.version,
        status("api"),
        job.schema.clone(),
        None,
    )
    .await
    .expect("update without a fence");

    // A job never leased accepts no fence, and a job's fence is no other job's.
    let unleased = create_job(s).await;
    for fence in [Fence(0), Fence(1), new] {
        assert_eq!(
            s.put_link(fence, link(&unleased.id, "User", Uuid::new_v4(), "x"))
                .await,
            Err(SyncStoreError::Fenced(unleased.id.clone())),
            "{fence:?}"
        );
        assert_eq!(
            s.set_watermark(fence, &unleased.id, Some(1)).await,
            Err(SyncStoreError::Fenced(unleased.id.clone()))
        );
        assert_eq!(
            s.update_job(&unleased.id, 1, json!({}), json!({}), Some(fence))
                .await,
            Err(SyncStoreError::Fenced(unleased.id.clone()))
        );
    }
    assert_eq!(
        s.links(&unleased.id, &all_links()).await.expect("list"),
        vec![]
    );
    assert_eq!(s.watermark(&unleased.id).await.expect("watermark"), None);
}

async fn watermarks(s: &Store) {
    let (job, fence) = leased_job(s, "w1").await;
    let (other, other_fence) = leased_job(s, "w1").await;
    assert_eq!(s.watermark(&job.id).await.expect("watermark"), None);
    assert_eq!(s.watermark("scim.missing").await.expect("watermark"), None);
    for (set, expected) in [
        (Some(5), Some(5)),
        (Some(0), Some(0)),
        (Some(i64::MAX), Some(i64::MAX)),
        (None, None),
        (None, None),
        (Some(3), Some(3)),
    ] {
        s.set_watermark(fence, &job.id, set).await.expect("set");
        assert_eq!(
            s.watermark(&job.id).await.expect("watermark"),
            expected,
            "{set:?}"
        );
    }
    s.set_watermark(other_fence, &other.id, Some(77))
        .await
        .expect("set");
    assert_eq!(s.watermark(&job.id).await.expect("watermark"), Some(3));
    assert_eq!(s.watermark(&other.id).await.expect("watermark"), Some(77));
}

fn log_row(job: &str, cycle: Uuid, activity: &str, i: usize) -> LogRow {
    const ACTIONS: [&str; 3] = ["create", "update", "delete"];
    const STATUSES: [&str; 4] = ["success", "warning", "failure", "skipped"];
    LogRow {
        id: Uuid::new_v4(),
        job_id: job.to_string(),
        cycle_id: cycle,
        activity: activity.to_string(),
        action: ACTIONS[i % ACTIONS.len()].to_string(),
        status: STATUSES[i % STATUSES.len()].to_string(),
        source_id: (i % 5 != 0).then(|| format!("src-{}", i % 4)),
        target_id: (i % 7 != 0).then(|| format!("tgt-{}", i % 3)),
        summary: json!({"id": i.to_string(), "provisioningAction": ACTIONS[i % ACTIONS.len()],
                        "details": {"z": 1, "a": [i]}}),
    }
}

/// `2031-03-01T00:00:<s>.<ms>Z`: rows of one second share an activity time.
fn activity(second: usize, ms: usize) -> String {
    format!("2031-03-01T00:00:{second:02}.{ms:03}Z")
}

fn sorted(mut rows: Vec<LogRow>) -> Vec<LogRow> {
    rows.sort_by(|a, b| (&a.activity, a.id).cmp(&(&b.activity, b.id)));
    rows
}

async fn logs(s: &Store) {
    let jobs = [create_job(s).await.id, create_job(s).await.id];
    let cycles = [Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4()];
    let mut written = Vec::new();
    for i in 0..60 {
        // Every three rows share an activity time, so the id orders them.
        let row = log_row(&jobs[i % 2], cycles[i % 3], &activity(i / 3, 0), i);
        written.push(row);
    }
    s.append_logs(written[..25].iter().map(LogRow::to_new).collect())
        .await
        .expect("append");
    s.append_logs(written[25..].iter().map(LogRow::to_new).collect())
        .await
        .expect("append");
    s.append_logs(vec![]).await.expect("append nothing");
    let written = sorted(written);
    let all = LogQuery {
        limit: 1000,
        ..LogQuery::default()
    };
    assert_eq!(s.logs(&all).await.expect("logs"), written);

    let text = |v: &str| Some(v.to_string());
    type Keep = Box<dyn Fn(&LogRow) -> bool>;
    let cases: Vec<(&str, LogQuery, Keep)> = vec![
        (
            "job",
            LogQuery {
                job_id: text(&jobs[1]),
                ..all.clone()
            },
            Box::new({
                let job = jobs[1].clone();
                move |r| r.job_id == job
            }),
        ),
        (
            "cycle",
            LogQuery {
                cycle_id: Some(cycles[2]),
                ..all.clone()
            },
            Box::new(move |r| r.cycle_id == cycles[2]),
        ),
        (
            "from",
            LogQuery {
                from: Some(activity(7, 0)),
                ..all.clone()
            },
            Box::new(|r| r.activity >= activity(7, 0)),
        ),
        (
            "to",
            LogQuery {
                to: Some(activity(7, 0)),
                ..all.clone()
            },
            Box::new(|r| r.activity < activity(7, 0)),
        ),
        (
            "between, with times between rows",
            LogQuery {
                from: Some(activity(3, 500)),
                to: Some(activity(9, 0)),
                ..all.clone()
            },
            Box::new(|r| r.activity >= activity(3, 500) && r.activity < activity(9, 0)),
        ),
        (
            "action",
            LogQuery {
                action: text("update"),
                ..all.clone()
            },
            Box::new(|r| r.action == "update"),
        ),
        (
            "status",
            LogQuery {
                status: text("failure"),
                ..all.clone()
            },
            Box::new(|r| r.status == "failure"),
        ),
        (
            "source",
            LogQuery {
                source_id: text("src-1"),
                ..all.clone()
            },
            Box::new(|r| r.source_id.as_deref() == Some("src-1")),
        ),
        (
            "target",
            LogQuery {
                target_id: text("tgt-2"),
                ..all.clone()
            },
            Box::new(|r| r.target_id.as_deref() == Some("tgt-2")),
        ),
        (
            "every filter at once",
            LogQuery {
                job_id: text(&jobs[0]),
                cycle_id: Some(cycles[0]),
                from: Some(activity(1, 0)),
                to: Some(activity(19, 0)),
                action: text("create"),
                status: text("failure"),
                source_id: text("src-2"),
                target_id: text("tgt-0"),
                ..all.clone()
            },
            Box::new({
                let job = jobs[0].clone();
                move |r| {
                    r.job_id == job
                        && r.cycle_id == cycles[0]
                        && r.activity >= activity(1, 0)
                        && r.activity < activity(19, 0)
                        && r.action == "create"
                        && r.status == "failure"
                        && r.source_id.as_deref() == Some("src-2")
                        && r.target_id.as_deref() == Some("tgt-0")
                }
            }),
        ),
        (
            "unknown job",
            LogQuery {
                job_id: text("scim.missing"),
                ..all.clone()
            },
            Box::new(|_| false),
        ),
    ];
    for (name, query, keep) in cases {
        let expected: Vec<LogRow> = written.iter().filter(|r| keep(r)).cloned().collect();
        assert!(
            name == "unknown job" || !expected.is_empty(),
            "{name}: the case selects nothing"
        );
        assert_eq!(s.logs(&query).await.expect("logs"), expected, "{name}");
        let limited = LogQuery {
            limit: 2,
            ..query.clone()
        };
        assert_eq!(
            s.logs(&limited).await.expect("logs"),
            expected.iter().take(2).cloned().collect::<Vec<_>>(),
            "{name}, first two"
        );
    }

    // Purging removes exactly the rows older than the time given, of every job.
    let cut = activity(10, 0);
    let older = s
        .logs(&LogQuery {
            to: Some(cut.clone()),
            limit: 100_000,
            ..LogQuery::default()
        })
        .await
        .expect("logs")
        .len();
    assert!(older > 0);
    assert_eq!(
        s.purge_logs_before(&cut).await.expect("purge"),
        older as u64
    );
    assert_eq!(s.purge_logs_before(&cut).await.expect("purge again"), 0);
    let left = s.logs(&all).await.expect("logs");
    assert_eq!(
        left,
        written
            .iter()
            .filter(|r| r.activity >= cut)
            .cloned()
            .collect::<Vec<_>>()
    );
}

/// Keyset pages of the log while a cycle appends rows: no row twice, none skipped that
/// sorts after the cursor, oldest first.
async fn log_pages(s: &Store) {
    let job = create_job(s).await.id;
    let cycle = Uuid::new_v4();
    let mut must_see = Vec::new();
    for i in 0..30 {
        let row = log_row(
            &job,
            cycle,
            &format!("2032-01-01T00:00:{:02}.000Z", i / 2),
            i,
        );
        must_see.push(row);
    }
    s.append_logs(must_see.iter().map(LogRow::to_new).collect())
        .await
        .expect("append");
    let mut seen: Vec<LogRow> = Vec::new();
    let mut after: Option<(String, Uuid)> = None;
    let mut extra = 100;
    loop {
        let page = s
            .logs(&LogQuery {
                job_id: Some(job.clone()),
                after: after.clone(),
                limit: 4,
                ..LogQuery::default()
            })
            .await
            .expect("page");
        let Some(last) = page.last() else { break };
        after = Some((last.activity.clone(), last.id));
        seen.extend(page);
        // One row at the cursor's own time (the id decides whether it is ahead), one later.
        if extra < 110 {
            let cursor = after.clone().expect("set above");
            let at_cursor = log_row(&job, cycle, &cursor.0, extra);
            let later = log_row(&job, cycle, "2032-01-01T00:00:59.000Z", extra + 1);
            extra += 2;
            if (at_cursor.activity.clone(), at_cursor.id) > cursor {
                must_see.push(at_cursor.clone());
            }
            must_see.push(later.clone());
            s.append_logs(vec![at_cursor.to_new(), later.to_new()])
                .await
                .expect("append");
        }
    }
    let keys: Vec<(String, Uuid)> = seen.iter().map(|r| (r.activity.clone(), r.id)).collect();
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "pages repeat or go back"
    );
    for row in &must_see {
        assert!(seen.contains(row), "page skipped {:?}", row.id);
    }
}

async fn delete_job_cascades(s: &Store) {
    let (job, fence) = leased_job(s, "w1").await;
    let (kept, kept_fence) = leased_job(s, "w1").await;
    let source = Uuid::new_v4();
    for (j, f) in [(&job, fence), (&kept, kept_fence)] {
        s.put_link(f, link(&j.id, "User", source, "acct"))
            .await
            .expect("put");
        s.set_watermark(f, &j.id, Some(42)).await.expect("set");
        s.append_logs(vec![log_row(
            &j.id,
            Uuid::new_v4(),
            "2033-01-01T00:00:00.000Z",
            1,
        )
        .to_new()])
            .await
            .expect("append");
    }
    let logs_of = |id: &str| LogQuery {
        job_id: Some(id.to_string()),
        limit: 100,
        ..LogQuery::default()
    };

    assert!(s.delete_job(&job.id).await.expect("delete"));
    assert_eq!(s.link(&job.id, "User", source).await.expect("get"), None);
    assert_eq!(s.link_by_target(&job.id, "acct").await.expect("get"), None);
    assert_eq!(s.links(&job.id, &all_links()).await.expect("list"), vec![]);
    assert_eq!(s.watermark(&job.id).await.expect("watermark"), None);
    assert_eq!(s.logs(&logs_of(&job.id)).await.expect("logs"), vec![]);
    assert_eq!(
        s.acquire_lease(&job.id, "w2", T0, T1).await,
        Err(SyncStoreError::JobNotFound(job.id.clone()))
    );
    // The deleted job's worker writes nothing more.
    assert_eq!(
        s.put_link(fence, link(&job.id, "User", Uuid::new_v4(), "late"))
            .await,
        Err(SyncStoreError::Fenced(job.id.clone()))
    );

    // The other job has all it had.
    assert!(s
        .link(&kept.id, "User", source)
        .await
        .expect("get")
        .is_some());
    assert_eq!(s.watermark(&kept.id).await.expect("watermark"), Some(42));
    assert_eq!(s.logs(&logs_of(&kept.id)).await.expect("logs").len(), 1);

    // A job made again under the same id starts empty, and the old worker's fence is not
    // its new holder's.
    let again = s
        .create_job(JobRecord {
            id: job.id.clone(),
            ..job_record(Uuid::new_v4())
        })
        .await
        .expect("create again");
    assert_eq!(
        s.links(&again.id, &all_links()).await.expect("list"),
        vec![]
    );
    let new = s
        .acquire_lease(&again.id, "w2", T0, T1)
        .await
        .expect("acquire")
        .expect("free");
    assert_ne!(new, fence);
    assert_eq!(
        s.set_watermark(fence, &again.id, Some(1)).await,
        Err(SyncStoreError::Fenced(again.id.clone()))
    );
}

/// Workers racing for one free lease: exactly one gets it. Racing for different jobs:
/// each gets its own.
async fn concurrent_acquirers(s: &Store) {
    let job = create_job(s).await;
    let mut racers = Vec::new();
    for w in 0..8 {
        let s = Arc::clone(s);
        let id = job.id.clone();
        racers.push(tokio::spawn(async move {
            s.acquire_lease(&id, &format!("w{w}"), T0, T1).await
        }));
    }
    let mut won = 0;
    for racer in racers {
        if racer.await.expect("task").expect("acquire").is_some() {
            won += 1;
        }
    }
    assert_eq!(won, 1, "one worker holds a lease");

    let mut racers = Vec::new();
    for w in 0..8 {
        let s = Arc::clone(s);
        let id = create_job(&s).await.id;
        racers.push(tokio::spawn(async move {
            s.acquire_lease(&id, &format!("w{w}"), T0, T1).await
        }));
    }
    for racer in racers {
        assert!(racer.await.expect("task").expect("acquire").is_some());
    }
}

async fn links_in_one_write(s: &Store) {
    let (job, fence) = leased_job(s, "w1").await;
    let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    s.put_links(
        fence,
        vec![
            link(&job.id, "User", a, "acct-a"),
            link(&job.id, "User", b, "acct-b"),
            link(&job.id, "Group", c, "acct-c"),
        ],
    )
    .await
    .expect("put links");
    let targets = |links: Vec<Link>| links.into_iter().map(|l| l.target_id).collect::<Vec<_>>();
    let all = |kind: &'static str| {
        let job = job.id.clone();
        async move {
            s.links(
                &job,
                &LinkQuery {
                    object_type: Some(kind.to_string()),
                    stale: None,
                    after: None,
                    limit: 10,
                },
            )
            .await
            .expect("links")
        }
    };
    assert_eq!(all("User").await.len(), 2);
    assert_eq!(targets(all("Group").await), vec!["acct-c".to_string()]);
    assert_eq!(
        s.put_links(fence, Vec::new()).await,
        Ok(()),
        "nothing to write"
    );

    // One link of the batch takes a target another source holds: none is written.
    let d = Uuid::new_v4();
    let refused = s
        .put_links(
            fence,
            vec![
                Link {
                    shadow: Some(json!({"userName": "changed"})),
                    ..link(&job.id, "User", a, "acct-a")
                },
                link(&job.id, "User", d, "acct-d"),
                link(&job.id, "User", c, "acct-b"),
            ],
        )
        .await;
    assert_eq!(
        refused,
        Err(SyncStoreError::TargetTaken {
            target_id: "acct-b".to_string(),
            source_id: b
        })
    );
    assert_eq!(s.link(&job.id, "User", d).await.expect("get"), None);
    assert_eq!(
        s.link(&job.id, "User", a)
            .await
            .expect("get")
            .and_then(|l| l.shadow),
        None,
        "the batch's first write was rolled back"
    );
    // Within a batch, a target freed by an earlier link can be taken by a later one.
    s.put_links(
        fence,
        vec![
            link(&job.id, "User", a, "acct-a2"),
            link(&job.id, "User", d, "acct-a"),
        ],
    )
    .await
    .expect("move then take");
    assert_eq!(
        s.link(&job.id, "User", d)
            .await
            .expect("get")
            .map(|l| l.target_id),
        Some("acct-a".to_string())
    );

    // A writer whose lease passed on writes nothing.
    let next = s
        .acquire_lease(&job.id, "w2", T2, T3)
        .await
        .expect("acquire");
    assert!(next.is_some(), "the first lease expired at T1");
    let e = Uuid::new_v4();
    assert!(matches!(
        s.put_links(fence, vec![link(&job.id, "User", e, "acct-e")])
            .await,
        Err(SyncStoreError::Fenced(_))
    ));
    assert_eq!(s.link(&job.id, "User", e).await.expect("get"), None);
}
