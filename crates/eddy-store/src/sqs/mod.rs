//! The SQS side of the store: queues and messages with SQS semantics.
//!
//! - Handles: [`Queues`], [`Messages`], [`MoveTasks`].
//! - [`model`]: the values they take and return; [`error`]: their answers with AWS's
//!   codes; [`attributes`]: typed queue attributes; [`redrive`]: dead-letter policies;
//!   [`md5`]: the digests SQS returns.
//! - Inside, as statements on one connection: the `queue_rows`, `send` (with `fifo`
//!   deduplication), `receive`, `receipts`, `visibility` (delete and visibility
//!   changes), `permissions` (tags and the Policy AddPermission writes).

pub mod attributes;
pub mod error;
mod fifo;
pub mod md5;
mod messages;
pub mod model;
mod move_tasks;
mod permissions;
pub(crate) mod queue_rows;
mod queues;
mod receipts;
mod receive;
pub mod redrive;
pub mod regions;
pub(crate) mod send;
mod visibility;

pub use attributes::{
    DeduplicationScope, FifoAttributes, FifoThroughputLimit, QueueAttributes, RedriveAllowSetting,
};
pub use error::{SqsError, SqsErrorKind};
pub use md5::{md5_hex, md5_of_message_attributes};
pub use messages::{Messages, PeekedMessage};
pub use model::{
    MessageAttributeValue, Queue, QueueCounts, ReceiveRequest, ReceivedMessage, SendRequest,
    SendResult,
};
pub(crate) use move_tasks::recover_move_tasks;
pub use move_tasks::{MoveTask, MoveTasks, task_source_arn};
pub use queues::{Queues, queue_url_path};
pub use receive::MAX_IN_FLIGHT;
pub use redrive::{RedriveAllowPolicy, RedrivePolicy};
pub use regions::{queue_key, split_queue_key};
