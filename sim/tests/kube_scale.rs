//! Pagination at the scale of the benchmark fixture: thousands of pods across namespaces.

// In a test a failed unwrap is the failure report.
#![allow(clippy::unwrap_used)]

mod kube_support;

use std::collections::HashSet;

use kube_support::*;
use serde_json::json;

fn fill(c: &Cluster, namespaces: usize, pods_per_ns: usize) {
    for n in 0..namespaces {
        let ns = format!("user-{n:03}");
        c.store.create(namespace(&ns)).unwrap();
        for p in 0..pods_per_ns {
            let app = if p % 2 == 0 { "even" } else { "odd" };
            c.store
                .create(pod(&ns, &format!("pod-{p:02}"), json!({"app": app})))
                .unwrap();
        }
    }
}

#[tokio::test]
async fn listing_2100_pods_with_limit_500_takes_five_pages_without_duplicates() {
    let c = Cluster::start().await;
    fill(&c, 105, 20);

    let mut seen = HashSet::new();
    let mut pages = 0;
    let mut token = String::new();
    let mut list_rv = None;
    loop {
        let path = if token.is_empty() {
            "/api/v1/pods?limit=500".to_string()
        } else {
            format!("/api/v1/pods?limit=500&continue={token}")
        };
        let page = c.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        pages += 1;
        let rv = page.body["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            list_rv.get_or_insert(rv.clone()),
            &rv,
            "every page reports the list's version"
        );
        for p in page.body["items"].as_array().unwrap() {
            let key = format!(
                "{}/{}",
                p["metadata"]["namespace"].as_str().unwrap(),
                p["metadata"]["name"].as_str().unwrap()
            );
            assert!(seen.insert(key.clone()), "{key} returned twice");
        }
        match page.body["metadata"]["continue"].as_str() {
            Some(t) if !t.is_empty() => token = t.to_string(),
            _ => break,
        }
    }

    assert_eq!(pages, 5);
    assert_eq!(seen.len(), 2100);
}

#[tokio::test]
async fn paginating_with_a_label_selector_returns_exactly_the_matches() {
    let c = Cluster::start().await;
    fill(&c, 30, 20);

    let mut total = 0;
    let mut pages = 0;
    let mut path = "/api/v1/pods?labelSelector=app%3Dodd&limit=100".to_string();
    loop {
        let page = c.get(&path).await;
        pages += 1;
        total += page.body["items"].as_array().unwrap().len();
        match page.body["metadata"]["continue"].as_str() {
            Some(t) if !t.is_empty() => {
                path = format!("/api/v1/pods?labelSelector=app%3Dodd&limit=100&continue={t}")
            }
            _ => break,
        }
    }

    assert_eq!(total, 300);
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn a_garbage_continue_token_is_a_400() {
    let c = Cluster::start().await;

    let r = c.get("/api/v1/pods?limit=5&continue=not-a-token").await;

    assert_eq!(r.status, 400);
    assert_eq!(r.body["reason"], "BadRequest");
}
