//! Content-addressed blob storage: `blobs/ab/cdef…`, one file per distinct content, named by
//! its SHA-256. Every read and write streams through a fixed-size buffer, so memory stays
//! flat whatever the file size.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{io_err, RollbackError};

/// The copy and hash buffer.
const BUFFER: usize = 64 * 1024;

/// A SHA-256 digest as the store spells it: 64 lowercase hex digits.
pub fn is_digest(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Copies `reader` to `writer`, hashing on the way; returns the digest and the byte count.
pub fn copy_hashing(reader: &mut impl Read, writer: &mut impl Write) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; BUFFER];
    let mut total = 0u64;
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buffer[..read]);
        writer.write_all(&buffer[..read])?;
        total += read as u64;
    }
    Ok((hex(&hasher.finalize()), total))
}

/// The digest and size of a file.
pub fn hash_file(path: &Path) -> Result<(String, u64), RollbackError> {
    let mut file = File::open(path).map_err(io_err("open", path))?;
    copy_hashing(&mut file, &mut io::sink()).map_err(io_err("read", path))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The blob directory of a store.
pub struct Blobs {
    dir: PathBuf,
}

/// A file stored as a blob.
pub struct Stored {
    pub digest: String,
    pub size: u64,
    /// The blob was not in the store before.
    pub new: bool,
}

impl Blobs {
    pub fn new(store: &Path) -> Blobs {
        Blobs {
            dir: store.join("blobs"),
        }
    }

    /// Where a blob is written before it is renamed to its digest (the same file system).
    fn staging(&self) -> PathBuf {
        self.dir.join("tmp")
    }

    /// Where the blob with this digest lives (the digest must be valid: see [`is_digest`]).
    pub fn path(&self, digest: &str) -> PathBuf {
        self.dir.join(&digest[..2]).join(&digest[2..])
    }

    /// Stores a file's content. A file whose content is already stored is only read (that is
    /// what makes snapshots incremental); a new one is copied to staging, hashed as it is
    /// copied (so the digest is that of the bytes stored, even if the file changes meanwhile),
    /// synced and renamed to its digest.
    pub fn put(&self, file: &Path) -> Result<Stored, RollbackError> {
        let (digest, size) = hash_file(file)?;
        if self.path(&digest).exists() {
            return Ok(Stored {
                digest,
                size,
                new: false,
            });
        }
        self.copy_in(file)
    }

    fn copy_in(&self, file: &Path) -> Result<Stored, RollbackError> {
        let staging = self.staging();
        std::fs::create_dir_all(&staging).map_err(io_err("create", &staging))?;
        let mut temp = tempfile::NamedTempFile::new_in(&staging)
            .map_err(io_err("create a file in", &staging))?;
        let mut source = File::open(file).map_err(io_err("open", file))?;
        let (digest, size) =
            copy_hashing(&mut source, temp.as_file_mut()).map_err(io_err("copy", file))?;
        let dest = self.path(&digest);
        if dest.exists() {
            return Ok(Stored {
                digest,
                size,
                new: false,
            });
        }
        temp.as_file()
            .sync_all()
            .map_err(io_err("sync", temp.path()))?;
        let shard = self.dir.join(&digest[..2]);
        std::fs::create_dir_all(&shard).map_err(io_err("create", &shard))?;
        temp.persist(&dest)
            .map_err(|e| io_err("store blob", &dest)(e.error))?;
        Ok(Stored {
            digest,
            size,
            new: true,
        })
    }

    /// Re-hashes a blob: `None` when it is missing, else the digest of its content.
    pub fn rehash(&self, digest: &str) -> Result<Option<String>, RollbackError> {
        let path = self.path(digest);
        match File::open(&path) {
            Ok(mut file) => {
                let (actual, _) =
                    copy_hashing(&mut file, &mut io::sink()).map_err(io_err("read", &path))?;
                Ok(Some(actual))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("open", &path)(e)),
        }
    }

    /// Every blob in the store: digest and size. Stray files (not named by a digest) are
    /// left out, so they are never mistaken for blobs.
    pub fn all(&self) -> Result<Vec<(String, u64)>, RollbackError> {
        let mut found = Vec::new();
        for shard in read_dir_or_empty(&self.dir)? {
            let Some(prefix) = shard.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if prefix.len() != 2 || !shard.path().is_dir() {
                continue;
            }
            for blob in read_dir_or_empty(&shard.path())? {
                let digest = format!("{prefix}{}", blob.file_name().to_string_lossy());
                if is_digest(&digest) {
                    let size = blob.metadata().map(|m| m.len()).unwrap_or(0);
                    found.push((digest, size));
                }
            }
        }
        Ok(found)
    }

    /// Deletes the staging files a killed snapshot left (call only under the store lock).
    pub fn clear_staging(&self) -> Result<(), RollbackError> {
        for stray in read_dir_or_empty(&self.staging())? {
            let path = stray.path();
            std::fs::remove_file(&path).map_err(io_err("remove", &path))?;
        }
        Ok(())
    }

    pub fn remove(&self, digest: &str) -> Result<(), RollbackError> {
        let path = self.path(digest);
        std::fs::remove_file(&path).map_err(io_err("remove", &path))
    }
}

/// The entries of a directory; none when it does not exist.
pub fn read_dir_or_empty(dir: &Path) -> Result<Vec<std::fs::DirEntry>, RollbackError> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .collect::<Result<Vec<_>, _>>()
            .map_err(io_err("list", dir)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io_err("list", dir)(e)),
    }
}
