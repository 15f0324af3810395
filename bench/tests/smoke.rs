//! Smoke tests of the load generator (never the benchmark itself): its SigV4 signatures
//! pass eddy's own verifier, and a short closed-loop run against the stub endpoint
//! counts every response.

use std::sync::Arc;

use bytes::Bytes;
use http::Method;

use eddy_bench::http::Api;
use eddy_bench::load::{Budget, closed_loop};
use eddy_bench::workloads::SendMessage;
use eddy_server::sigv4::{AuthError, SignedRequest, verify};
use eddy_testing::sign::Signer;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

fn verify_with_eddy(
    request: &http::Request<eddy_bench::http::Body>,
    body: &[u8],
    secret: &str,
) -> bool {
    let signed = SignedRequest {
        method: request.method().as_str(),
        path: request.uri().path(),
        query: request.uri().query().unwrap_or(""),
        headers: request.headers(),
        body,
    };
    let secret = secret.to_owned();
    verify(&signed, now(), move |key, _token| {
        if key == "test" {
            Ok(secret.clone())
        } else {
            Err(AuthError::UnknownAccessKey)
        }
    })
    .is_ok()
}

#[test]
fn sqs_requests_pass_eddys_signature_check() {
    let api = Api::new(
        "http://127.0.0.1:4566",
        Signer::new("test", "test", "us-east-1"),
    )
    .expect("api");
    let body = Bytes::from_static(
        br#"{"QueueUrl":"http://127.0.0.1:4566/000000000000/q","MessageBody":"hi"}"#,
    );
    let request = api
        .sqs_request("SendMessage", body.clone())
        .expect("signed");
    assert_eq!(request.headers()["x-amz-target"], "AmazonSQS.SendMessage");
    assert!(verify_with_eddy(&request, &body, "test"));
    // The check is real: another body or another secret fails it.
    assert!(!verify_with_eddy(&request, b"{}", "test"));
    assert!(!verify_with_eddy(&request, &body, "not-the-secret"));
}

#[test]
fn s3_requests_pass_eddys_signature_check() {
    let api = Api::new(
        "http://127.0.0.1:4566",
        Signer::new("test", "test", "us-east-1"),
    )
    .expect("api");
    let body = Bytes::from(vec![7u8; 4096]);
    let request = api
        .s3_request(Method::PUT, "/bench-put/obj/00000001", body.clone())
        .expect("signed");
    assert!(request.headers().contains_key("x-amz-content-sha256"));
    assert_eq!(request.headers()[http::header::CONTENT_LENGTH], "4096");
    assert!(verify_with_eddy(&request, &body, "test"));
    assert!(!verify_with_eddy(&request, &body, "not-the-secret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_counts_every_response_from_the_stub() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(eddy_bench::stub::serve(listener));
    let api = Api::new(
        &format!("http://{address}"),
        Signer::new("test", "test", "us-east-1"),
    )
    .expect("api");
    let workload = Arc::new(SendMessage::new(&format!(
        "http://{address}/000000000000/bench-send"
    )));
    let mut stats = closed_loop(&api, 4, Budget::Requests(200), workload, true)
        .await
        .expect("run");
    assert_eq!(stats.errors, 0, "{:?}", stats.first_error);
    assert_eq!(stats.items, 200);
    assert_eq!(stats.requests, 200);
    assert_eq!(stats.latencies.len(), 200);
    assert_eq!(stats.reconnects, 0);
    let mut sequences: Vec<u64> = stats.acks.iter().map(|(s, _)| *s).collect();
    sequences.sort_unstable();
    assert_eq!(sequences, (0..200).collect::<Vec<_>>());
    assert!(stats.latencies.quantile_ms(0.99).is_some());
}
