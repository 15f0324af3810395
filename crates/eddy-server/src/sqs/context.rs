//! What an SQS operation knows of its request besides its input: the shared state, the
//! region the request was signed for, the account, and the host the client reached,
//! with the queue URL conversions that depend on them. Queues live in the region the
//! request is signed for: a queue's name in the store is region-qualified outside the
//! store's own region (`eddy_store::sqs::regions`), and a request sees only the queues
//! of its region.

use eddy_store::Store;
use eddy_store::sqs::{SqsError, SqsErrorKind, queue_key, queue_url_path, split_queue_key};

use super::decode::Member;
use crate::state::{AppState, QueueUrlHost};

/// The request an operation serves.
pub struct RequestContext<'a> {
    pub state: &'a AppState,
    /// The region of the request's signature (its credential scope).
    pub region: &'a str,
    /// The account whose queues the request addresses.
    pub account_id: &'a str,
    /// The request's Host header: queue URLs are built on it so that the client can
    /// reach them.
    pub host: &'a str,
    /// The request's `X-Amzn-Trace-Id` header: SendMessage keeps it as the message's
    /// `AWSTraceHeader` system attribute.
    pub trace_header: Option<&'a str>,
}

impl<'a> RequestContext<'a> {
    /// A request signed for `region` that reached eddy as `host`, in the store's account.
    pub fn new(state: &'a AppState, region: &'a str, host: &'a str) -> Self {
        Self {
            state,
            region,
            account_id: &state.store.settings().account_id,
            host,
            trace_header: None,
        }
    }

    pub fn store(&self) -> &'a Store {
        &self.state.store
    }

    /// The store's own region: its queues' store names are their bare names.
    fn home(&self) -> &'a str {
        &self.state.store.settings().region
    }

    /// The store name of queue `name` of the request's region. A name with a `/` names
    /// no queue (SQS names never have one; the store uses it to qualify regions).
    pub fn key(&self, name: &str) -> Result<String, SqsError> {
        if name.contains('/') {
            return Err(SqsError::queue_does_not_exist());
        }
        Ok(queue_key(self.home(), self.region, name))
    }

    /// Whether a store name is of a queue of the request's region.
    pub fn in_region(&self, key: &str) -> bool {
        split_queue_key(self.home(), key).0 == self.region
    }

    /// The URL of the queue of a store name, on the host form the settings choose
    /// (by default the host the client reached).
    pub fn queue_url(&self, key: &str) -> String {
        let (region, name) = split_queue_key(self.home(), key);
        let port = self
            .host
            .rsplit_once(':')
            .map_or(String::new(), |(_, port)| format!(":{port}"));
        let host = match self.state.queue_url_host {
            QueueUrlHost::Request => self.host.to_owned(),
            QueueUrlHost::SqsRegion => format!("sqs.{region}.localhost{port}"),
            QueueUrlHost::RegionQueue => format!("{region}.queue.localhost{port}"),
        };
        format!("http://{host}{}", queue_url_path(self.account_id, name))
    }

    /// The store name of the queue of a required `QueueUrl` member.
    pub fn queue(&self, queue_url: Member<String>) -> Result<String, SqsError> {
        let name = self.queue_name(&queue_url.required("QueueUrl")?)?;
        self.key(&name)
    }

    /// The queue name of a queue URL (its last path segment), checking the account. A
    /// bare path and a bare name are accepted as well.
    pub fn queue_name(&self, url: &str) -> Result<String, SqsError> {
        let without_query = url.split('?').next().unwrap_or(url);
        let path = match without_query.split_once("://") {
            Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
            None => without_query,
        };
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        match segments.as_slice() {
            [account, name] if *account == self.account_id => Ok((*name).to_owned()),
            [_, _] => Err(SqsError::queue_does_not_exist()),
            [name] => Ok((*name).to_owned()),
            // A URL that names no queue (AWS: QueueDoesNotExist, as moto's
            // AWS-verified test of `http://whatever-incorrect-queue-address` shows).
            [] => Err(SqsError::queue_does_not_exist()),
            _ => Err(SqsError::new(
                SqsErrorKind::InvalidAddress,
                format!("The address {url} is not valid for this endpoint."),
            )),
        }
    }
}
