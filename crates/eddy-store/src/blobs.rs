//! Object bytes. Each object version is one immutable blob named by a random id.
//!
//! A small single-request body (up to [`INLINE_MAX`] bytes) is an *inline* blob: its
//! bytes go into the database's `inline_blobs` table in the same transaction as the row
//! that names it, so storing it creates no file, no inode and no fsync of its own (the
//! group commit makes it durable). Its id starts with [`INLINE_PREFIX`].
//!
//! Any other body is a file under `blobs/`: written to `tmp/` first, fsynced, then
//! renamed into `blobs/` and the directory fsynced; only then does the database point
//! at it. A copy of a file is a hard link, so it costs no bytes and no time whatever
//! the size; a copy of an inline blob is a new row with the same bytes.
//!
//! An inline blob's bytes are deleted in the transaction that drops the last row naming
//! them. Start-up removes everything left in `tmp/` and every file no database row names
//! (a crash between placing a file and committing its row, or between dropping a row
//! and removing its file).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use md5::{Digest, Md5};

use crate::durability::Durability;
use crate::error::StoreError;

/// The directory that holds object files, and its staging area.
#[derive(Debug, Clone)]
pub struct Blobs {
    blobs_dir: PathBuf,
    tmp_dir: PathBuf,
    placer: Arc<DirPlacer>,
    durability: Durability,
}

/// Bodies up to this size are gathered in memory and written, fsynced and closed in one
/// blocking step; larger ones stream through a buffer of this size.
const SMALL_BODY: usize = 1 << 20;

/// How many received chunks of a large body may wait for the writer or MD5 thread.
const CHUNK_QUEUE: usize = 32;

/// A large body's file is synced every this many bytes while it is written, so that
/// the disk works during the upload and not all of it after the last byte.
const SYNC_EVERY: u64 = 16 << 20;

/// The largest body kept in the database instead of a file. SQLite reads and writes
/// blobs of this size faster than the file system creates, fsyncs and opens files.
pub const INLINE_MAX: usize = 64 * 1024;

/// How the id of an inline blob starts (file blob ids are 32 hex digits).
pub const INLINE_PREFIX: &str = "inline-";

/// Whether `id` names an inline blob (bytes in the database, no file).
pub fn is_inline(id: &str) -> bool {
    id.starts_with(INLINE_PREFIX)
}

/// A new id for an inline blob.
pub fn new_inline_id() -> String {
    format!("{INLINE_PREFIX}{}", new_blob_id())
}

/// Whether a body may be kept inline, or must be a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// A body of up to [`INLINE_MAX`] bytes becomes an inline blob.
    InlineIfSmall,
    /// Always a file (multipart parts, which completion concatenates file by file).
    File,
}

/// Stores an inline blob's bytes; runs inside the transaction that commits the row
/// naming it.
pub(crate) fn insert_inline(
    conn: &rusqlite::Connection,
    id: &str,
    data: &[u8],
) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO inline_blobs (id, data) VALUES (?1, ?2)")?
        .execute(rusqlite::params![id, data])?;
    Ok(())
}

/// Copies an inline blob's bytes under a new id; `false` when the source is gone.
pub(crate) fn copy_inline(
    conn: &rusqlite::Connection,
    source: &str,
    id: &str,
) -> Result<bool, StoreError> {
    let copied = conn
        .prepare_cached(
            "INSERT INTO inline_blobs (id, data) SELECT ?2, data FROM inline_blobs WHERE id = ?1",
        )?
        .execute(rusqlite::params![source, id])?;
    Ok(copied == 1)
}

/// The bytes of an inline blob, if it still exists.
pub(crate) fn read_inline(
    conn: &rusqlite::Connection,
    id: &str,
) -> Result<Option<Bytes>, StoreError> {
    use rusqlite::OptionalExtension;
    let data: Option<Vec<u8>> = conn
        .prepare_cached("SELECT data FROM inline_blobs WHERE id = ?1")?
        .query_row([id], |row| row.get(0))
        .optional()?;
    Ok(data.map(Bytes::from))
}

/// Deletes the inline blobs among `ids` (which no row names any more); runs inside the
/// transaction that dropped the rows. File ids are left to [`Blobs::remove`].
pub(crate) fn delete_inline(conn: &rusqlite::Connection, ids: &[String]) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached("DELETE FROM inline_blobs WHERE id = ?1")?;
    for id in ids.iter().filter(|id| is_inline(id)) {
        stmt.execute([id])?;
    }
    Ok(())
}

/// A blob's bytes as a stream of chunks, as an HTTP body wants them.
pub type ByteChunks =
    std::pin::Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send + Sync + 'static>>;

/// The bytes of a stored blob, ready to be read.
#[derive(Debug)]
pub enum BlobContent {
    File(tokio::fs::File),
    Inline(Bytes),
}

impl BlobContent {
    /// `length` bytes from offset `start`, as a stream of chunks.
    pub async fn into_stream(self, start: u64, length: u64) -> std::io::Result<ByteChunks> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        match self {
            BlobContent::File(mut file) => {
                if start > 0 {
                    file.seek(std::io::SeekFrom::Start(start)).await?;
                }
                let stream =
                    tokio_util::io::ReaderStream::with_capacity(file.take(length), 256 * 1024);
                Ok(Box::pin(stream))
            }
            BlobContent::Inline(bytes) => {
                let from = (start as usize).min(bytes.len());
                let to = from.saturating_add(length as usize).min(bytes.len());
                let slice = bytes.slice(from..to);
                Ok(Box::pin(futures::stream::iter([Ok(slice)])))
            }
        }
    }
}

/// A name change in `blobs/` that is durable only once the directory is fsynced.
#[derive(Debug)]
enum DirChange {
    /// Move a staged file into place.
    Rename { from: PathBuf, to: PathBuf },
    /// Hard-link a placed blob under a new name.
    Link { from: PathBuf, to: PathBuf },
}

/// What one change reports: `Ok(false)` for a link whose source no longer exists.
type ChangeReply = tokio::sync::oneshot::Sender<Result<bool, StoreError>>;

/// Applies renames and links in `blobs/` in rounds and makes each round durable with a
/// single fsync of the directory (like the database's group commit): changes that
/// arrive while a round runs go into the next one, so concurrent uploads and copies
/// share directory fsyncs. A caller hears back only after the fsync that covers its
/// change.
#[derive(Debug)]
struct DirPlacer {
    dir: PathBuf,
    queue: Mutex<PlacerQueue>,
    durability: Durability,
}

#[derive(Debug, Default)]
struct PlacerQueue {
    pending: Vec<(DirChange, ChangeReply)>,
    /// Whether a blocking task is applying rounds (it takes `pending` until empty).
    running: bool,
}

impl DirPlacer {
    /// Applies `change` in the next round; resolves once it is durable.
    async fn apply(self: &Arc<Self>, change: DirChange) -> Result<bool, StoreError> {
        let (reply, done) = tokio::sync::oneshot::channel();
        let start_runner = {
            let mut queue = self
                .queue
                .lock()
                .map_err(|_| StoreError::Stopped("blob placer"))?;
            queue.pending.push((change, reply));
            !std::mem::replace(&mut queue.running, true)
        };
        if start_runner {
            let placer = self.clone();
            tokio::task::spawn_blocking(move || placer.run_rounds());
        }
        done.await.map_err(|_| StoreError::Stopped("blob placer"))?
    }

    /// Runs rounds until no change is waiting.
    fn run_rounds(&self) {
        loop {
            let round = match self.queue.lock() {
                Ok(mut queue) => {
                    if queue.pending.is_empty() {
                        queue.running = false;
                        return;
                    }
                    std::mem::take(&mut queue.pending)
                }
                // Dropping nothing here: the waiters see the placer as stopped.
                Err(_) => return,
            };
            let outcomes: Vec<(Result<bool, StoreError>, ChangeReply)> = round
                .into_iter()
                .map(|(change, reply)| (apply_change(change), reply))
                .collect();
            let sync = if self.durability.syncs()
                && outcomes
                    .iter()
                    .any(|(outcome, _)| matches!(outcome, Ok(true)))
            {
                fsync_dir(&self.dir).map_err(Arc::new)
            } else {
                Ok(())
            };
            for (outcome, reply) in outcomes {
                let result = match (&sync, outcome) {
                    (Err(cause), Ok(true)) => Err(StoreError::SyncBlobs(cause.clone())),
                    (_, outcome) => outcome,
                };
                let _ = reply.send(result);
            }
        }
    }
}

/// Makes one name change (not yet durable).
fn apply_change(change: DirChange) -> Result<bool, StoreError> {
    match change {
        DirChange::Rename { from, to } => {
            std::fs::rename(&from, &to)?;
            Ok(true)
        }
        DirChange::Link { from, to } => match std::fs::hard_link(&from, &to) {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(error) => Err(error.into()),
        },
    }
}

/// Creates `path`, writes `chunks` and fsyncs it (unless `durability` skips fsync), all
/// in the calling (blocking) thread.
fn write_small_file(
    path: &Path,
    chunks: &[Bytes],
    durability: Durability,
) -> Result<(), StoreError> {
    use std::io::Write;
    let mut file = std::fs::File::create(path)?;
    for chunk in chunks {
        file.write_all(chunk)?;
    }
    if durability.syncs() {
        file.sync_all()?;
    }
    Ok(())
}

/// Writes the chunks coming from `input` to a new file at `path`, syncing every
/// [`SYNC_EVERY`] bytes; once `input` closes, syncs the file if `complete` says the
/// body arrived whole (a broken-off body is deleted, not synced). Runs on its own
/// thread.
fn write_synced_file(
    path: &Path,
    mut input: tokio::sync::mpsc::Receiver<Bytes>,
    complete: &AtomicBool,
    durability: Durability,
) -> Result<(), StoreError> {
    use std::io::Write;
    let mut writer = std::io::BufWriter::with_capacity(SMALL_BODY, std::fs::File::create(path)?);
    let mut unsynced = 0u64;
    while let Some(chunk) = input.blocking_recv() {
        writer.write_all(&chunk)?;
        unsynced += chunk.len() as u64;
        if unsynced >= SYNC_EVERY && durability.syncs() {
            writer.flush()?;
            writer.get_ref().sync_data()?;
            unsynced = 0;
        }
    }
    if !complete.load(Ordering::Acquire) {
        return Err(StoreError::BodyBrokeOff);
    }
    writer.flush()?;
    if durability.syncs() {
        writer.get_ref().sync_all()?;
    }
    Ok(())
}

/// Runs `work` on a new thread of its own (not tokio's blocking pool, which database
/// reads share and which a few hundred slow uploads could otherwise fill) and hands its
/// result back.
fn spawn_thread<T, F>(name: &str, work: F) -> Result<oneshot::Receiver<T>, StoreError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (reply, result) = oneshot::channel();
    std::thread::Builder::new()
        .name(name.to_owned())
        .stack_size(256 * 1024)
        .spawn(move || {
            let _ = reply.send(work());
        })
        .map_err(StoreError::from)?;
    Ok(result)
}

/// A received body, not yet visible: a fully written, fsynced file in the staging area,
/// or the bytes of an inline blob waiting for the transaction that stores its row.
#[derive(Debug)]
pub struct StagedBlob {
    pub id: String,
    pub size: u64,
    /// MD5 of the bytes, the ETag of a single-part upload.
    pub md5: [u8; 16],
    /// The staging file; `None` for an inline blob.
    tmp_path: Option<PathBuf>,
    /// The bytes of an inline blob.
    inline: Option<Bytes>,
}

impl StagedBlob {
    /// The bytes to store in the database with the blob's row, for an inline blob.
    pub fn inline_data(&self) -> Option<Bytes> {
        self.inline.clone()
    }
}

/// Why staging a body failed.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The request body broke off or failed its framing or signature checks.
    #[error("request body error: {0}")]
    Body(String),
    /// The body is larger than allowed.
    #[error("request body larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The 16 bytes of a finished MD5.
pub fn finish_md5(md5: Md5) -> [u8; 16] {
    let digest = md5.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(digest.as_slice());
    out
}

fn new_blob_id() -> String {
    crate::ids::random_uuid().simple().to_string()
}

fn fsync_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

impl Blobs {
    /// Opens the blob directories under `data_dir`, creating them if needed; with
    /// [`Durability::SkipFsync`] no file or directory is ever fsynced.
    pub fn open(data_dir: &Path, durability: Durability) -> Result<Self, StoreError> {
        let blobs_dir = data_dir.join("blobs");
        let tmp_dir = data_dir.join("tmp");
        std::fs::create_dir_all(&blobs_dir)?;
        std::fs::create_dir_all(&tmp_dir)?;
        let placer = Arc::new(DirPlacer {
            dir: blobs_dir.clone(),
            queue: Mutex::new(PlacerQueue::default()),
            durability,
        });
        Ok(Self {
            blobs_dir,
            tmp_dir,
            placer,
            durability,
        })
    }

    /// The path of a placed blob.
    pub fn path(&self, id: &str) -> PathBuf {
        self.blobs_dir.join(id)
    }

    /// Receives a body and reports its size and MD5: kept in memory as an inline blob
    /// when `placement` allows and it is small enough, otherwise written to the staging
    /// area and fsynced. Bodies larger than `limit` are refused without being kept. A
    /// body of up to `SMALL_BODY` bytes is gathered first and written in one blocking
    /// step.
    pub async fn stage<S, E>(
        &self,
        mut body: S,
        limit: u64,
        placement: Placement,
    ) -> Result<StagedBlob, StageError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let id = new_blob_id();
        let tmp_path = self.tmp_dir.join(&id);
        let mut md5 = Md5::new();
        let mut size = 0u64;
        let mut gathered: Vec<Bytes> = Vec::new();
        let mut gathered_len = 0usize;
        let mut ended = false;
        while gathered_len < SMALL_BODY {
            let Some(chunk) = body.next().await else {
                ended = true;
                break;
            };
            let chunk = chunk.map_err(|e| StageError::Body(e.to_string()))?;
            size += chunk.len() as u64;
            if size > limit {
                return Err(StageError::TooLarge { limit });
            }
            md5.update(&chunk);
            gathered_len += chunk.len();
            gathered.push(chunk);
        }
        if ended && placement == Placement::InlineIfSmall && gathered_len <= INLINE_MAX {
            let bytes = match gathered.len() {
                1 => gathered.pop().unwrap_or_default(),
                _ => Bytes::from(gathered.concat()),
            };
            return Ok(StagedBlob {
                id: new_inline_id(),
                size,
                md5: finish_md5(md5),
                tmp_path: None,
                inline: Some(bytes),
            });
        }
        if ended {
            let path = tmp_path.clone();
            let durability = self.durability;
            let written = tokio::task::spawn_blocking(move || {
                let written = write_small_file(&path, &gathered, durability);
                if written.is_err() {
                    let _ = std::fs::remove_file(&path);
                }
                written
            })
            .await
            .map_err(|_| StoreError::Stopped("blob staging task"))?;
            written?;
        } else {
            self.stage_stream(&tmp_path, gathered, body, &mut md5, &mut size, limit)
                .await?;
        }
        Ok(StagedBlob {
            id,
            size,
            md5: finish_md5(md5),
            tmp_path: Some(tmp_path),
            inline: None,
        })
    }

    /// The large-body path of `stage`: what was gathered, then the rest of the body as
    /// it arrives, goes to two threads: one writes the file (syncing as it goes, so the
    /// final fsync has little left to do), one computes the MD5. This task only
    /// receives. Removes the file on any failure.
    async fn stage_stream<S, E>(
        &self,
        tmp_path: &Path,
        gathered: Vec<Bytes>,
        mut body: S,
        md5: &mut Md5,
        size: &mut u64,
        limit: u64,
    ) -> Result<(), StageError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let (to_writer, writer_input) = tokio::sync::mpsc::channel::<Bytes>(CHUNK_QUEUE);
        let complete = Arc::new(AtomicBool::new(false));
        let path = tmp_path.to_owned();
        let body_complete = complete.clone();
        let durability = self.durability;
        let writer = spawn_thread("eddy-blob-writer", move || {
            write_synced_file(&path, writer_input, &body_complete, durability)
        })?;
        let (to_hasher, mut hasher_input) = tokio::sync::mpsc::channel::<Bytes>(CHUNK_QUEUE);
        let mut hashing = std::mem::replace(md5, Md5::new());
        let hasher = spawn_thread("eddy-blob-md5", move || {
            while let Some(chunk) = hasher_input.blocking_recv() {
                hashing.update(&chunk);
            }
            hashing
        })?;
        let received: Result<(), StageError> = async {
            // The gathered chunks are counted and hashed already.
            for chunk in gathered {
                if to_writer.send(chunk).await.is_err() {
                    return Ok(());
                }
            }
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| StageError::Body(e.to_string()))?;
                *size += chunk.len() as u64;
                if *size > limit {
                    return Err(StageError::TooLarge { limit });
                }
                // A closed channel means its thread stopped; its result says why.
                if to_hasher.send(chunk.clone()).await.is_err()
                    || to_writer.send(chunk).await.is_err()
                {
                    break;
                }
            }
            Ok(())
        }
        .await;
        complete.store(received.is_ok(), Ordering::Release);
        drop(to_writer);
        drop(to_hasher);
        let written = writer
            .await
            .map_err(|_| StoreError::Stopped("blob writer thread"))
            .and_then(|written| written);
        let hashed = hasher.await.map_err(|_| StoreError::Stopped("MD5 thread"));
        let result = match (received, written, hashed) {
            (Ok(()), Ok(()), Ok(finished)) => {
                *md5 = finished;
                Ok(())
            }
            (Err(error), _, _) => Err(error),
            (_, Err(error), _) | (_, _, Err(error)) => Err(error.into()),
        };
        if result.is_err() {
            let _ = tokio::fs::remove_file(tmp_path).await;
        }
        result
    }

    /// Stages a copy of `length` bytes of a blob from offset `start` (UploadPartCopy
    /// with a range); the copy is always a file, as parts are.
    pub async fn stage_range(
        &self,
        source: BlobContent,
        start: u64,
        length: u64,
    ) -> Result<StagedBlob, StageError> {
        let chunks = source
            .into_stream(start, length)
            .await
            .map_err(StoreError::from)?;
        self.stage(chunks, length, Placement::File).await
    }

    /// Concatenates placed blobs into one new staged blob (multipart completion).
    pub async fn concat(&self, parts: Vec<String>) -> Result<StagedBlob, StoreError> {
        let id = new_blob_id();
        let tmp_path = self.tmp_dir.join(&id);
        let sources: Vec<PathBuf> = parts.iter().map(|p| self.path(p)).collect();
        let target = tmp_path.clone();
        let durability = self.durability;
        let size = tokio::task::spawn_blocking(move || -> Result<u64, StoreError> {
            let mut out = std::fs::File::create(&target)?;
            let mut size = 0;
            for source in sources {
                let mut input = std::fs::File::open(&source)?;
                size += std::io::copy(&mut input, &mut out)?;
            }
            if durability.syncs() {
                out.sync_all()?;
            }
            Ok(size)
        })
        .await
        .map_err(|_| StoreError::Stopped("blob concatenation task"))??;
        Ok(StagedBlob {
            id,
            size,
            md5: [0; 16],
            tmp_path: Some(tmp_path),
            inline: None,
        })
    }

    /// Moves a staged blob into place (rename, then fsync of the directory, shared with
    /// the renames and links that run at the same time).
    /// An inline blob has nothing to place: its bytes go in with its row.
    pub async fn place(&self, staged: &StagedBlob) -> Result<(), StoreError> {
        let Some(tmp_path) = &staged.tmp_path else {
            return Ok(());
        };
        let change = DirChange::Rename {
            from: tmp_path.clone(),
            to: self.path(&staged.id),
        };
        self.placer.apply(change).await.map(|_| ())
    }

    /// Places a staged blob, or drops it when it cannot be placed.
    pub async fn place_or_discard(&self, staged: StagedBlob) -> Result<StagedBlob, StoreError> {
        match self.place(&staged).await {
            Ok(()) => Ok(staged),
            Err(error) => {
                self.discard(staged).await;
                Err(error)
            }
        }
    }

    /// Drops a staged blob that will not be used.
    pub async fn discard(&self, staged: StagedBlob) {
        if let Some(tmp_path) = &staged.tmp_path {
            let _ = tokio::fs::remove_file(tmp_path).await;
        }
    }

    /// Makes a new file blob that shares the bytes of the file blob `source` (a hard
    /// link) and returns its id; `None` when `source` no longer exists (it was replaced
    /// or deleted).
    pub async fn link(&self, source: &str) -> Result<Option<String>, StoreError> {
        let id = new_blob_id();
        let change = DirChange::Link {
            from: self.path(source),
            to: self.path(&id),
        };
        let linked = self.placer.apply(change).await?;
        Ok(linked.then_some(id))
    }

    /// Removes placed file blobs no longer referenced (after the commit that dropped
    /// them); inline ids are skipped (their rows' transactions delete them).
    pub async fn remove(&self, ids: Vec<String>) {
        let paths: Vec<PathBuf> = ids
            .iter()
            .filter(|id| !is_inline(id))
            .map(|id| self.path(id))
            .collect();
        if paths.is_empty() {
            return;
        }
        let _ = tokio::task::spawn_blocking(move || {
            for path in paths {
                if let Err(error) = std::fs::remove_file(&path)
                    && error.kind() != std::io::ErrorKind::NotFound
                {
                    tracing::warn!(path = %path.display(), %error, "could not remove an unreferenced object file");
                }
            }
        })
        .await;
    }

    /// Start-up recovery: empties the staging area and removes blobs that no row names.
    /// Returns how many files were removed.
    pub fn recover(&self, referenced: &HashSet<String>) -> Result<usize, StoreError> {
        let mut removed = 0;
        for entry in std::fs::read_dir(&self.tmp_dir)? {
            std::fs::remove_file(entry?.path())?;
            removed += 1;
        }
        for entry in std::fs::read_dir(&self.blobs_dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !referenced.contains(&name) {
                std::fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
        if removed > 0 && self.durability.syncs() {
            fsync_dir(&self.blobs_dir)?;
        }
        Ok(removed)
    }
}
