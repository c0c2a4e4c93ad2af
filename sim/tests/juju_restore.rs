//! What a restore asks of the controller, raw: resolving and adding a charm by revision,
//! `CheckCharmPlacement`, deploying by revision and base, `ScaleApplications` at Application 20
//! and 22. Each answer is Juju's, as the cited Go source gives it.

mod juju_support;

use juju_support::{Twin, error_of};
use serde_json::{Value, json};

/// The origin `juju refresh --channel C --revision N` resolves with: `MakeOrigin`, no id.
fn revision_origin(track: &str, revision: i64) -> Value {
    json!({"source": "charm-hub", "type": "", "id": "", "revision": revision, "track": track,
           "risk": "stable", "architecture": "amd64",
           "base": {"name": "ubuntu", "channel": "22.04/stable"}})
}

#[tokio::test]
async fn resolving_by_revision_without_id_answers_that_revision_the_asked_channel_and_no_id() {
    let twin = Twin::start().await;
    let mut client = twin.admin().await;

    let reply = client
        .ok(
            "Charms",
            7,
            "ResolveCharms",
            json!({"resolve": [
            {"reference": "ch:amd64/admission-webhook-406", "switch-charm": true,
             "charm-origin": revision_origin("2.0", 406)}]}),
        )
        .await;

    let result = &reply["Results"][0];
    assert_eq!(result["url"], "ch:amd64/admission-webhook-406");
    let origin = &result["charm-origin"];
    assert_eq!(
        (&origin["track"], &origin["risk"]),
        (&json!("2.0"), &json!("stable"))
    );
    assert_eq!(origin["revision"], 406);
    assert_eq!(
        origin["id"], "",
        "resolveWithPreferredChannel keeps the requested id"
    );
    assert!(origin.get("hash").is_none());
    assert!(twin.model.requests().violations.is_empty());
}

#[tokio::test]
async fn resolving_an_unknown_revision_is_jujus_selection_error_without_code() {
    let twin = Twin::start().await;
    let mut client = twin.admin().await;

    let reply = client
        .ok(
            "Charms",
            7,
            "ResolveCharms",
            json!({"resolve": [
            {"reference": "ch:amd64/admission-webhook-9", "switch-charm": true,
             "charm-origin": revision_origin("1.10", 9)}]}),
        )
        .await;

    let error = &reply["Results"][0]["error"];
    assert_eq!(
        error["message"],
        "selecting releases: charm or bundle not found for channel \"1.10/stable\", base \
         \"amd64/ubuntu/22.04\"\navailable releases are:\n  \
         channel \"1.10/stable\": available bases are: ubuntu@22.04\n  \
         channel \"2.0/edge\": available bases are: ubuntu@22.04"
    );
    assert_eq!(error["code"], "");
    assert!(twin.model.requests().violations.is_empty());
}

#[tokio::test]
async fn add_charm_gives_charmhubs_id_only_for_a_charm_already_in_the_model() {
    let twin = Twin::start().await;
    twin.model
        .deploy_settled(
            "admission-webhook",
            "admission-webhook",
            "1.10/stable",
            &[],
            true,
        )
        .expect("fixture");
    let mut client = twin.admin().await;
    let add = |url: &str, revision: i64| json!({"url": url, "charm-origin": revision_origin("1.10", revision), "force": false});

    let known = client
        .ok(
            "Charms",
            7,
            "AddCharm",
            add("ch:amd64/admission-webhook-406", 406),
        )
        .await;
    let new = client
        .ok(
            "Charms",
            7,
            "AddCharm",
            add("ch:amd64/admission-webhook-520", 520),
        )
        .await;

    let view = twin.model.application("admission-webhook").expect("app");
    assert_eq!(
        known["charm-origin"]["id"],
        json!(view.charm_id),
        "GetDownloadURL"
    );
    assert_eq!(
        new["charm-origin"]["id"], "",
        "the resolved origin, id as requested"
    );
    assert!(twin.model.has_charm("ch:amd64/admission-webhook-520"));
}

#[tokio::test]
async fn check_charm_placement_passes_on_a_kubernetes_model() {
    let twin = Twin::start().await;
    twin.model
        .deploy_settled("kfp-api", "kfp-api", "2.15/stable", &[], false)
        .expect("fixture");
    let mut client = twin.admin().await;

    let reply = client
        .ok(
            "Charms",
            7,
            "CheckCharmPlacement",
            json!({"placements": [
            {"application": "kfp-api", "charm-url": "ch:amd64/kfp-api-1871"},
            {"application": "not-yet", "charm-url": "ch:amd64/kfp-api-1871"}]}),
        )
        .await;

    assert_eq!(reply, json!({"results": [{}, {}]}));
    assert!(twin.model.requests().violations.is_empty());
}

#[tokio::test]
async fn deploying_on_a_base_the_revision_does_not_support_is_refused() {
    let twin = Twin::start().await;
    let mut client = twin.admin().await;

    let reply = client
        .ok(
            "Application",
            22,
            "DeployFromRepository",
            json!({"Args": [{
            "CharmName": "kfp-api", "ApplicationName": "kfp-api", "channel": "2.15/stable",
            "revision": 1871, "base": {"name": "ubuntu", "channel": "20.04/stable"},
            "AttachStorage": [], "ConfigYAML": "", "Cons": {}, "Devices": {}, "DryRun": false,
            "Placement": [], "Storage": {}, "Trust": false}]}),
        )
        .await;

    assert_eq!(
        reply["Results"][0]["Errors"][0]["message"],
        "base \"ubuntu@20.04/stable\" is not supported, supported bases are: ubuntu@22.04"
    );
    assert!(twin.model.application("kfp-api").is_none());
}

#[tokio::test]
async fn deploying_by_revision_answers_the_revision_and_base_in_the_info() {
    let twin = Twin::start().await;
    let mut client = twin.admin().await;

    let reply = client
        .ok(
            "Application",
            22,
            "DeployFromRepository",
            json!({"Args": [{
            "CharmName": "kfp-api", "ApplicationName": "kfp-api", "channel": "2.15/edge",
            "revision": 1871, "base": {"name": "ubuntu", "channel": "22.04/stable"},
            "num-units": 2, "AttachStorage": [], "ConfigYAML": "", "Cons": {}, "Devices": {},
            "DryRun": false, "Placement": [], "Storage": {}, "Trust": false}]}),
        )
        .await;

    let info = &reply["Results"][0]["Info"];
    assert_eq!(info["revision"], 1871);
    assert_eq!(info["channel"], "2.15/edge");
    assert_eq!(info["base"], json!({"name": "ubuntu", "channel": "22.04"}));
    let app = twin.model.application("kfp-api").expect("deployed");
    assert_eq!(
        (app.revision, app.channel.as_str(), app.units.len()),
        (1871, "2.15/edge", 2)
    );
    assert!(twin.model.requests().violations.is_empty());
}

#[tokio::test]
async fn scale_applications_sets_the_units_at_application_20_and_22() {
    let twin = Twin::start().await;
    twin.model
        .deploy_settled("kfp-api", "kfp-api", "2.15/stable", &[], false)
        .expect("fixture");
    let mut client = twin.admin().await;
    let scale = |n: i64| {
        json!({"applications": [{"application-tag": "application-kfp-api", "scale": n,
                                 "force": false}]})
    };

    let up = client
        .ok("Application", 22, "ScaleApplications", scale(3))
        .await;
    let units_up = twin.model.application("kfp-api").expect("app").units.len();
    let down = client
        .ok("Application", 20, "ScaleApplications", scale(1))
        .await;
    let units: Vec<String> = twin
        .model
        .application("kfp-api")
        .expect("app")
        .units
        .into_iter()
        .map(|u| u.name)
        .collect();

    assert_eq!(up, json!({"results": [{"info": {"num-units": 3}}]}));
    assert_eq!(units_up, 3);
    assert_eq!(down, json!({"results": [{"info": {"num-units": 1}}]}));
    assert_eq!(units, ["kfp-api/0"], "the highest ordinals go first");
    assert!(twin.model.requests().violations.is_empty());
    assert_eq!(twin.model.writes_since_start(), 2);
}

#[tokio::test]
async fn scale_applications_refuses_as_juju_does_per_item() {
    let twin = Twin::start().await;
    twin.model
        .deploy_settled("kfp-api", "kfp-api", "2.15/stable", &[], false)
        .expect("fixture");
    let mut client = twin.admin().await;

    let reply = client
        .ok(
            "Application",
            22,
            "ScaleApplications",
            json!({"applications": [
            {"application-tag": "application-kfp-api", "scale": -1, "force": false},
            {"application-tag": "application-kfp-api", "scale": 2, "scale-change": 1,
             "force": false},
            {"application-tag": "application-nope", "scale": 2, "force": false},
            {"application-tag": "application-kfp-api", "scale": 0, "scale-change": -5,
             "force": false}]}),
        )
        .await;
    let storage_at_20 = client
        .call(
            "Application",
            20,
            "ScaleApplications",
            json!({"applications": [
            {"application-tag": "application-kfp-api", "scale": 2, "force": false,
             "attach-storage": ["data/0"]}]}),
        )
        .await;

    let errors: Vec<(Value, Value)> = reply["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| (r["error"]["message"].clone(), r["error"]["code"].clone()))
        .collect();
    assert_eq!(
        errors,
        [
            (json!("scale < 0 not valid"), json!("not valid")),
            (
                json!("requesting both scale and scale-change not valid"),
                json!("not valid")
            ),
            (json!("application \"nope\" does not exist"), json!("")),
            (
                json!("cannot remove more units than currently exist not valid"),
                json!("not valid")
            ),
        ]
    );
    assert_eq!(
        error_of(&storage_at_20).1,
        "bad request",
        "no attach-storage before 21"
    );
    assert_eq!(
        twin.model.application("kfp-api").expect("app").units.len(),
        1
    );
}
