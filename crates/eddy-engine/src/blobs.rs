//! Object bytes on disk. Each object version is one immutable file under `blobs/`,
//! named by a random id. A write goes to `tmp/` first, is fsynced, then renamed into
//! `blobs/` and the directory fsynced; only then does the database point at it. A copy
//! is a hard link, so it costs no bytes and no time whatever the size.
//!
//! Start-up removes everything left in `tmp/` and every blob no database row names
//! (a crash between placing a file and committing its row).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

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
    uuid::Uuid::new_v4().simple().to_string()
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
        Ok(Self { blobs_dir, tmp_dir })
    }

    /// The path of a placed blob.
    pub fn path(&self, id: &str) -> PathBuf {
        self.blobs_dir.join(id)
    }

    /// Writes a body to the staging area, fsyncs it, and reports its size and MD5.
    /// Bodies larger than `limit` are refused without being kept.
    pub async fn stage<S, E>(&self, mut body: S, limit: u64) -> Result<StagedBlob, StageError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let id = new_blob_id();
        let tmp_path = self.tmp_dir.join(&id);
        let file = tokio::fs::File::create(&tmp_path)
            .await
            .map_err(StoreError::from)?;
        let mut writer = tokio::io::BufWriter::with_capacity(1 << 20, file);
        let mut md5 = Md5::new();
        let mut size = 0u64;
        let result: Result<(), StageError> = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| StageError::Body(e.to_string()))?;
                size += chunk.len() as u64;
                if size > limit {
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
        if let Err(error) = result {
            let _ = tokio::fs::remove_file(&tmp_path).await;
            return Err(error);
        }
        Ok(StagedBlob {
            id,
            size,
            md5: finish_md5(md5),
            tmp_path,
        })
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

    /// Moves a staged blob into place (rename, then fsync of the directory).
    pub async fn place(&self, staged: &StagedBlob) -> Result<(), StoreError> {
        let from = staged.tmp_path.clone();
        let to = self.path(&staged.id);
        let dir = self.blobs_dir.clone();
        tokio::task::spawn_blocking(move || -> Result<(), StoreError> {
            std::fs::rename(&from, &to)?;
            fsync_dir(&dir)
        })
        .await
        .map_err(|e| StoreError::Io(e.to_string()))?
    }

    /// Drops a staged blob that will not be used.
    pub async fn discard(&self, staged: StagedBlob) {
        let _ = tokio::fs::remove_file(&staged.tmp_path).await;
    }

    /// Makes a new blob that shares the bytes of `source` (a hard link) and returns its
    /// id; `None` when `source` no longer exists (it was replaced or deleted).
    pub async fn link(&self, source: &str) -> Result<Option<String>, StoreError> {
        let id = new_blob_id();
        let from = self.path(source);
        let to = self.path(&id);
        let dir = self.blobs_dir.clone();
        let linked = tokio::task::spawn_blocking(move || -> Result<bool, StoreError> {
            match std::fs::hard_link(&from, &to) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(false),
                Err(error) => return Err(error.into()),
            }
            fsync_dir(&dir)?;
            Ok(true)
        })
        .await
        .map_err(|e| StoreError::Io(e.to_string()))??;
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
