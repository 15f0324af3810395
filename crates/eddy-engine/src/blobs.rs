//! Object bytes on disk. Each object version is one immutable file under `blobs/`,
//! named by a random id. A write goes to `tmp/` first, is fsynced, then renamed into
//! `blobs/` and the directory fsynced; only then does the database point at it. A copy
//! is a hard link, so it costs no bytes and no time whatever the size.
//!
//! Start-up removes everything left in `tmp/` and every blob no database row names
//! (a crash between placing a file and committing its row).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use md5::{Digest, Md5};
use tokio::io::AsyncWriteExt;

use crate::error::StoreError;

/// The directory that holds object files, and its staging area.
#[derive(Debug, Clone)]
pub struct Blobs {
    blobs_dir: PathBuf,
    tmp_dir: PathBuf,
    placer: Arc<DirPlacer>,
}

/// Bodies up to this size are gathered in memory and written, fsynced and closed in one
/// blocking step; larger ones stream through a buffer of this size.
const SMALL_BODY: usize = 1 << 20;

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
                .map_err(|_| StoreError::Io("blob placer lock poisoned".into()))?;
            queue.pending.push((change, reply));
            !std::mem::replace(&mut queue.running, true)
        };
        if start_runner {
            let placer = self.clone();
            tokio::task::spawn_blocking(move || placer.run_rounds());
        }
        done.await
            .map_err(|_| StoreError::Io("the blob placer stopped".into()))?
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
            let sync = if outcomes
                .iter()
                .any(|(outcome, _)| matches!(outcome, Ok(true)))
            {
                fsync_dir(&self.dir)
            } else {
                Ok(())
            };
            for (outcome, reply) in outcomes {
                let result = match (&sync, outcome) {
                    (Err(error), Ok(true)) => Err(error.clone()),
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

/// Creates `path`, writes `chunks` and fsyncs it, all in the calling (blocking) thread.
fn write_small_file(path: &Path, chunks: &[Bytes]) -> Result<(), StoreError> {
    use std::io::Write;
    let mut file = std::fs::File::create(path)?;
    for chunk in chunks {
        file.write_all(chunk)?;
    }
    file.sync_all()?;
    Ok(())
}

/// A fully written, fsynced file in the staging area, not yet visible.
#[derive(Debug)]
pub struct StagedBlob {
    pub id: String,
    pub size: u64,
    /// MD5 of the bytes, the ETag of a single-part upload.
    pub md5: [u8; 16],
    tmp_path: PathBuf,
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
    /// Opens the blob directories under `data_dir`, creating them if needed.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let blobs_dir = data_dir.join("blobs");
        let tmp_dir = data_dir.join("tmp");
        std::fs::create_dir_all(&blobs_dir)?;
        std::fs::create_dir_all(&tmp_dir)?;
        let placer = Arc::new(DirPlacer {
            dir: blobs_dir.clone(),
            queue: Mutex::new(PlacerQueue::default()),
        });
        Ok(Self {
            blobs_dir,
            tmp_dir,
            placer,
        })
    }

    /// The path of a placed blob.
    pub fn path(&self, id: &str) -> PathBuf {
        self.blobs_dir.join(id)
    }

    /// Writes a body to the staging area, fsyncs it, and reports its size and MD5.
    /// Bodies larger than `limit` are refused without being kept. A body of up to
    /// `SMALL_BODY` bytes is gathered first and written in one blocking step.
    pub async fn stage<S, E>(&self, mut body: S, limit: u64) -> Result<StagedBlob, StageError>
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
        if ended {
            let path = tmp_path.clone();
            let written = tokio::task::spawn_blocking(move || {
                let written = write_small_file(&path, &gathered);
                if written.is_err() {
                    let _ = std::fs::remove_file(&path);
                }
                written
            })
            .await
            .map_err(|e| StoreError::Io(format!("blob staging task failed: {e}")))?;
            written?;
        } else {
            self.stage_stream(&tmp_path, gathered, body, &mut md5, &mut size, limit)
                .await?;
        }
        Ok(StagedBlob {
            id,
            size,
            md5: finish_md5(md5),
            tmp_path,
        })
    }

    /// The large-body path of `stage`: writes what was gathered, then the rest of the
    /// body as it arrives, then fsyncs; removes the file on any failure.
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
        let file = tokio::fs::File::create(tmp_path)
            .await
            .map_err(StoreError::from)?;
        let mut writer = tokio::io::BufWriter::with_capacity(SMALL_BODY, file);
        let result: Result<(), StageError> = async {
            for chunk in gathered {
                writer.write_all(&chunk).await.map_err(StoreError::from)?;
            }
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| StageError::Body(e.to_string()))?;
                *size += chunk.len() as u64;
                if *size > limit {
                    return Err(StageError::TooLarge { limit });
                }
                md5.update(&chunk);
                writer.write_all(&chunk).await.map_err(StoreError::from)?;
            }
            writer.flush().await.map_err(StoreError::from)?;
            writer
                .get_ref()
                .sync_all()
                .await
                .map_err(StoreError::from)?;
            Ok(())
        }
        .await;
        drop(writer);
        if result.is_err() {
            let _ = tokio::fs::remove_file(tmp_path).await;
        }
        result
    }

    /// Stages a copy of `length` bytes of a placed blob from offset `start`
    /// (UploadPartCopy with a range).
    pub async fn stage_range(
        &self,
        source: &str,
        start: u64,
        length: u64,
    ) -> Result<StagedBlob, StageError> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let mut file = tokio::fs::File::open(self.path(source))
            .await
            .map_err(StoreError::from)?;
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(StoreError::from)?;
        let chunks = futures::stream::unfold(file.take(length), |mut reader| async move {
            let mut buffer = vec![0u8; 256 * 1024];
            match reader.read(&mut buffer).await {
                Ok(0) => None,
                Ok(n) => {
                    buffer.truncate(n);
                    Some((Ok::<_, std::io::Error>(Bytes::from(buffer)), reader))
                }
                Err(error) => Some((Err(error), reader)),
            }
        });
        self.stage(Box::pin(chunks), length).await
    }

    /// Concatenates placed blobs into one new staged blob (multipart completion).
    pub async fn concat(&self, parts: Vec<String>) -> Result<StagedBlob, StoreError> {
        let id = new_blob_id();
        let tmp_path = self.tmp_dir.join(&id);
        let sources: Vec<PathBuf> = parts.iter().map(|p| self.path(p)).collect();
        let target = tmp_path.clone();
        let size = tokio::task::spawn_blocking(move || -> Result<u64, StoreError> {
            let mut out = std::fs::File::create(&target)?;
            let mut size = 0;
            for source in sources {
                let mut input = std::fs::File::open(&source)?;
                size += std::io::copy(&mut input, &mut out)?;
            }
            out.sync_all()?;
            Ok(size)
        })
        .await
        .map_err(|e| StoreError::Io(e.to_string()))??;
        Ok(StagedBlob {
            id,
            size,
            md5: [0; 16],
            tmp_path,
        })
    }

    /// Moves a staged blob into place (rename, then fsync of the directory, shared with
    /// the renames and links that run at the same time).
    pub async fn place(&self, staged: &StagedBlob) -> Result<(), StoreError> {
        let change = DirChange::Rename {
            from: staged.tmp_path.clone(),
            to: self.path(&staged.id),
        };
        self.placer.apply(change).await.map(|_| ())
    }

    /// Drops a staged blob that will not be used.
    pub async fn discard(&self, staged: StagedBlob) {
        let _ = tokio::fs::remove_file(&staged.tmp_path).await;
    }

    /// Makes a new blob that shares the bytes of `source` (a hard link) and returns its
    /// id; `None` when `source` no longer exists (it was replaced or deleted).
    pub async fn link(&self, source: &str) -> Result<Option<String>, StoreError> {
        let id = new_blob_id();
        let change = DirChange::Link {
            from: self.path(source),
            to: self.path(&id),
        };
        let linked = self.placer.apply(change).await?;
        Ok(linked.then_some(id))
    }

    /// Removes placed blobs no longer referenced (after the commit that dropped them).
    pub async fn remove(&self, ids: Vec<String>) {
        if ids.is_empty() {
            return;
        }
        let paths: Vec<PathBuf> = ids.iter().map(|id| self.path(id)).collect();
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
        if removed > 0 {
            fsync_dir(&self.blobs_dir)?;
        }
        Ok(removed)
    }
}
