//! Real recorded ARM responses (tests/fixtures/arm/, each with its source and what its
//! recorder scrubbed) served over loopback to the real ARM client: deployments of three API
//! versions (camelCase `rateLimits`, none at all, capacity in `scaleSettings`), an accounts
//! list, a region's quota usages, and two 404s (ARM's JSON and an IIS HTML page). What the
//! client reads must equal the facts derived from the recorded bodies by a separate script.

use std::path::Path;
use std::time::Duration;

use aoai::azure::arm::{ArmClient, ArmError};
use aoai::azure::{Auth, Secret};
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
