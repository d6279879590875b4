//! Real recorded ARM responses (tests/fixtures/arm/, each with its source and what its
//! recorder scrubbed) served over loopback to the real ARM client: deployments of three API
//! versions (camelCase `rateLimits`, none at all, capacity in `scaleSettings`), an accounts
//! list, a region's quota usages, and two 404s (ARM's JSON and an IIS HTML page). What the
//! client reads must equal the facts derived from the recorded bodies by a separate script.
//! Every recorded body also reads as the `wire::arm` types, and what those write back is
//! part of what was recorded.

use std::path::Path;
use std::time::Duration;

use aoai::azure::arm::{ArmClient, ArmError};
use aoai::azure::{Auth, Secret};
use aoai::wire::arm as w;
use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/arm");
    let path = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(name))
        .unwrap_or_else(|| panic!("no fixture {name}"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A loopback "ARM" that answers every GET with the fixture's recorded response.
async fn serve(f: &Value) -> String {
    let status = f["response"]["status"].as_u64().unwrap() as u16;
    let body = match &f["response"]["body"] {
        Value::String(s) => s.clone(),
        v => serde_json::to_string(v).unwrap(),
    };
    let content_type = f["response"]["headers"]["content-type"]
        .as_str()
        .unwrap_or("application/json; charset=utf-8")
        .to_string();
    let app = axum::Router::new().fallback(move || {
        let body = body.clone();
        let content_type = content_type.clone();
        async move {
            let mut r = Response::new(Body::from(body));
            *r.status_mut() = StatusCode::from_u16(status).unwrap();
            r.headers_mut().insert(
                "content-type",
                HeaderValue::from_str(&content_type).unwrap(),
            );
            r
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

async fn arm_for(f: &Value) -> ArmClient {
    ArmClient::with_auth(
        &serve(f).await,
        Auth::Bearer(Secret::new("t")),
        "00000000-0000-0000-0000-000000000000",
    )
    .unwrap()
}

async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("bounded")
}

const ACCOUNT: &str =
    "/subscriptions/0/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a";

#[tokio::test]
async fn deployments_of_every_recorded_api_version() {
    for name in ["01-", "03-"] {
        let f = fixture(name);
        let got = bounded(arm_for(&f).await.deployments(ACCOUNT))
            .await
            .unwrap();
        let want = f["facts"]["deployments"].as_array().unwrap();
        assert_eq!(got.len(), want.len(), "{name}");
        for (d, w) in got.iter().zip(want) {
            assert_eq!(d.name, w["name"].as_str().unwrap(), "{name}");
            assert_eq!(d.model, w["model"].as_str().unwrap(), "{name}");
            assert_eq!(d.version, w["version"].as_str().unwrap(), "{name}");
            let capacity = w["capacity"]
                .as_u64()
                .or(w["scale_settings"]["capacity"].as_u64())
                .unwrap();
            assert_eq!(d.capacity, capacity, "{name}: capacity");
            assert_eq!(d.rpm, w["rpm"].as_u64(), "{name}: rpm");
            assert_eq!(d.tpm, w["tpm"].as_u64(), "{name}: tpm");
        }
    }
}

#[tokio::test]
async fn accounts_list() {
    let f = fixture("07-");
    let got = bounded(arm_for(&f).await.accounts()).await.unwrap();
    let want = f["facts"]["accounts"].as_array().unwrap();
    assert_eq!(got.len(), want.len());
    assert_eq!(got[0].name, want[0]["name"].as_str().unwrap());
    assert_eq!(got[0].kind, want[0]["kind"].as_str().unwrap());
    assert_eq!(got[0].endpoint.as_deref(), want[0]["endpoint"].as_str());
}

#[tokio::test]
async fn quota_usages_of_a_region() {
    let f = fixture("08-");
    let got = bounded(arm_for(&f).await.usages("westeurope"))
        .await
        .unwrap();
    let want = f["facts"]["usages"].as_array().unwrap();
    assert_eq!(
        got.len(),
        f["facts"]["value_count"].as_u64().unwrap() as usize
    );
    for w in want {
        let u = got
            .iter()
            .find(|u| u.name == w["name"].as_str().unwrap())
            .unwrap();
        assert_eq!(u.current, w["currentValue"].as_f64().unwrap());
        assert_eq!(u.limit, w["limit"].as_f64().unwrap());
    }
}

#[tokio::test]
async fn recorded_404s_are_clear_errors() {
    let f = fixture("10-");
    let e = bounded(arm_for(&f).await.deployments(ACCOUNT))
        .await
        .unwrap_err();
    let want = f["response"]["body"]["error"]["message"].as_str().unwrap();
    assert!(
        matches!(&e, ArmError::Http { status: 404, code, message } if code == "ResourceNotFound" && message == want),
        "{e:?}"
    );
    // An IIS HTML page instead of JSON: said in a line, not dumped.
    let f = fixture("11-");
    let e = bounded(arm_for(&f).await.accounts()).await.unwrap_err();
    let text = e.to_string();
    assert!(matches!(&e, ArmError::Http { status: 404, .. }), "{e:?}");
    assert!(
        text.contains("HTML") && !text.contains("<html") && !text.contains("DOCTYPE"),
        "{text}"
    );
}

/// Every field `written` holds is in `recorded` with the same value (numbers compared as
/// numbers; the wire types write `ratelimits` in its newer spelling `rateLimits`).
fn assert_part_of(written: &Value, recorded: &Value, at: &str) {
    match (written, recorded) {
        (Value::Object(w), Value::Object(r)) => {
            for (k, v) in w {
                let rv = r
                    .get(k)
                    .or_else(|| (k == "rateLimits").then(|| r.get("ratelimits")).flatten())
                    .unwrap_or_else(|| panic!("{at}.{k} written but not recorded"));
                assert_part_of(v, rv, &format!("{at}.{k}"));
            }
        }
        (Value::Array(w), Value::Array(r)) => {
            assert_eq!(w.len(), r.len(), "{at}");
            for (i, (a, b)) in w.iter().zip(r).enumerate() {
                assert_part_of(a, b, &format!("{at}[{i}]"));
            }
        }
        (Value::Number(a), Value::Number(b)) => assert_eq!(a.as_f64(), b.as_f64(), "{at}"),
        (a, b) => assert_eq!(a, b, "{at}"),
    }
}

fn reads_as<T: serde::de::DeserializeOwned + serde::Serialize>(name: &str) -> T {
    let body = &fixture(name)["response"]["body"];
    let read: T = serde_json::from_value(body.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_part_of(&serde_json::to_value(&read).unwrap(), body, name);
    read
}

#[test]
fn recorded_bodies_read_as_the_wire_types() {
    for name in ["01-", "03-"] {
        let page: w::Page<w::DeploymentResource> = reads_as(name);
        assert!(!page.value.is_empty() && page.next_link.is_none(), "{name}");
    }
    for name in ["02-", "04-"] {
        let d: w::DeploymentResource = reads_as(name);
        assert_eq!(d.name, "dpy", "{name}");
    }
    for name in ["05-", "06-"] {
        let a: w::AccountResource = reads_as(name);
        assert_eq!(a.kind, "OpenAI", "{name}");
    }
    let list: w::Page<w::AccountResource> = reads_as("07-");
    assert_eq!(list.value.len(), 1);
    let usages: w::Page<w::Usage> = reads_as("08-");
    assert!(usages.value.iter().all(|u| u.unit == "Count"));
    // The account-scope models list has flat items (no `{kind, model}` wrapper) and spells
    // the SKUs' rate limits `ratelimits`.
    let models: w::Page<w::CatalogModel> = reads_as("09-");
    assert!(models.value.iter().any(|m| m.skus.is_empty()));
    assert!(
        models
            .value
            .iter()
            .flat_map(|m| &m.skus)
            .any(|s| !s.rate_limits.is_empty())
    );
    let e: w::ErrorResponse = reads_as("10-");
    assert_eq!(e.error.code, "ResourceNotFound");
}
