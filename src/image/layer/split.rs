//! Tar-split: keep an uncompressed layer tar without keeping its bytes
//! twice.
//!
//! A layer received as a plain tar (`load`, `commit`, `import`) is stored
//! once, extracted. While it is extracted, every byte of the tar that is
//! not a regular file's content (headers, PAX records, padding, the
//! end-of-archive blocks) is recorded verbatim in `tar-split`, and each
//! file's content is recorded as a reference to the extracted file. `save`
//! and `push` rebuild the exact tar from the two, so its digest (the
//! layer's diff ID) stays what it was, and the store never writes the
//! layer's bytes a second time. Docker keeps layers the same way.
//!
//! A file that a later entry of the same tar replaces or removes (a
//! duplicate path, a whiteout) is first hard-linked into `keep/<n>`, so
//! the record still finds the content it referred to.
//!
//! Format (zstd-compressed): `b"rdock-tar-split 1\n"`, then records:
//! `R` u32 len, bytes (verbatim); `F` u64 size, u32 len, path relative to
//! the layer dir (a file's content); `E` (end). Integers little-endian.

use crate::util::openat2;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::rc::Rc;

pub const FILE_NAME: &str = "tar-split";
const KEEP_DIR: &str = "keep";
const MAGIC: &[u8] = b"rdock-tar-split 1\n";
const RESOLVE: u64 =
    libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
/// Verbatim bytes are flushed as one record once this many are pending.
const FLUSH_AT: usize = 64 << 10;

fn other(msg: impl Into<String>) -> io::Error {
    io::Error::other(msg.into())
}

struct State {
    out: zstd::stream::write::Encoder<'static, BufWriter<File>>,
    pending: Vec<u8>,
    /// Bytes of the current file's content still to pass unrecorded.
    content_left: u64,
    next_index: u64,
    /// Diff-relative path → index of the record naming its content.
    live: HashMap<Vec<u8>, u64>,
    layer_dir: OwnedFd,
    diff_dir: OwnedFd,
    keep: Option<OwnedFd>,
}

impl State {
    fn flush_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let len = u32::try_from(self.pending.len()).map_err(|_| other("record too large"))?;
        self.out.write_all(b"R")?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(&self.pending)?;
        self.pending.clear();
        Ok(())
    }

    fn take(&mut self, bytes: &[u8]) -> io::Result<()> {
        let content = usize::try_from(self.content_left).unwrap_or(usize::MAX);
        let (content, rest) = bytes.split_at_checked(content).unwrap_or((bytes, &[]));
        // content is at most content_left.
        self.content_left = self.content_left.saturating_sub(content.len() as u64);
        self.pending.extend_from_slice(rest);
        if self.pending.len() >= FLUSH_AT {
            self.flush_pending()?;
        }
        Ok(())
    }

    fn keep_dir(&mut self) -> io::Result<&OwnedFd> {
        if self.keep.is_none() {
            match nix::sys::stat::mkdirat(
                Some(self.layer_dir.as_raw_fd()),
                KEEP_DIR,
                nix::sys::stat::Mode::from_bits_truncate(0o700),
            ) {
                Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
                Err(e) => return Err(e.into()),
            }
            let fd = openat2(
                self.layer_dir.as_fd(),
                KEEP_DIR.as_bytes(),
                libc::O_PATH | libc::O_DIRECTORY,
                RESOLVE,
            )?;
            self.keep = Some(fd);
        }
        self.keep.as_ref().ok_or_else(|| other("keep dir"))
    }

    /// Hard-link the file at diff-relative `path` to keep/<index>.
    fn keep_file(&mut self, path: &[u8], index: u64) -> io::Result<()> {
        let mut from_end = path.rsplitn(2, |b| *b == b'/');
        let (parent, name) = match (from_end.next(), from_end.next()) {
            (Some(name), Some(parent)) => (parent, name),
            _ => (&b"."[..], path),
        };
        let dir = openat2(
            self.diff_dir.as_fd(),
            parent,
            libc::O_PATH | libc::O_DIRECTORY,
            RESOLVE,
        )?;
        let name = std::ffi::CString::new(name).map_err(|_| other("NUL in path"))?;
        let keep = self.keep_dir()?.as_raw_fd();
        let new_name =
            std::ffi::CString::new(index.to_string()).map_err(|_| other("NUL in name"))?;
        nix::unistd::linkat(
            Some(dir.as_raw_fd()),
            name.as_c_str(),
            Some(keep),
            new_name.as_c_str(),
            nix::fcntl::AtFlags::empty(),
        )?;
        Ok(())
    }
}

/// Records a tar-split while a layer is extracted. Cloned handles share
/// one recording: the [`Tee`] feeds it bytes, the extractor marks file
/// contents and removals.
#[derive(Clone)]
pub struct Recorder(Rc<RefCell<State>>);

impl Recorder {
    /// Start recording into `<layer_dir>/tar-split` for a layer being
    /// extracted into `<layer_dir>/diff`.
    pub fn create(layer_dir: &Path) -> io::Result<Self> {
        let file = File::create_new(layer_dir.join(FILE_NAME))?;
        // Level 1: the records are mostly zero-filled headers, which any
        // level shrinks ~10×; higher levels only cost time.
        let mut out =
            zstd::stream::write::Encoder::new(BufWriter::with_capacity(64 << 10, file), 1)?;
        out.write_all(MAGIC)?;
        let open = |p: &Path| -> io::Result<OwnedFd> { Ok(File::open(p)?.into()) };
        Ok(Recorder(Rc::new(RefCell::new(State {
            out,
            pending: Vec::with_capacity(FLUSH_AT + 1024),
            content_left: 0,
            next_index: 0,
            live: HashMap::new(),
            layer_dir: open(layer_dir)?,
            diff_dir: open(&layer_dir.join("diff"))?,
            keep: None,
        }))))
    }

    /// The next `size` bytes read are the content of the file at
    /// diff-relative `path`, which the extractor writes out whole.
    pub fn begin_file(&self, path: &[u8], size: u64) -> io::Result<()> {
        let mut s = self.0.borrow_mut();
        if s.content_left != 0 {
            return Err(other("tar-split: file content not fully read"));
        }
        s.flush_pending()?;
        let index = s.next_index;
        s.next_index = index
            .checked_add(1)
            .ok_or_else(|| other("tar-split: too many files"))?;
        let mut rel = b"diff/".to_vec();
        rel.extend_from_slice(path);
        let len = u32::try_from(rel.len()).map_err(|_| other("path too long"))?;
        s.out.write_all(b"F")?;
        s.out.write_all(&size.to_le_bytes())?;
        s.out.write_all(&len.to_le_bytes())?;
        s.out.write_all(&rel)?;
        s.live.insert(path.to_vec(), index);
        s.content_left = size;
        Ok(())
    }

    /// What is at diff-relative `path` is about to be removed (replaced by
    /// a later entry, or whited out): keep the contents records refer to.
    pub fn before_remove(&self, path: &[u8], is_dir: bool) -> io::Result<()> {
        let mut s = self.0.borrow_mut();
        let mut doomed: Vec<(Vec<u8>, u64)> = Vec::new();
        if let Some(i) = s.live.remove(path) {
            doomed.push((path.to_vec(), i));
        }
        if is_dir {
            let mut prefix = path.to_vec();
            prefix.push(b'/');
            let under: Vec<Vec<u8>> = s
                .live
                .keys()
                .filter(|k| k.starts_with(&prefix))
                .cloned()
                .collect();
            for k in under {
                if let Some(i) = s.live.remove(&k) {
                    doomed.push((k, i));
                }
            }
        }
        for (p, i) in doomed {
            s.keep_file(&p, i)?;
        }
        Ok(())
    }

    /// End the recording (after the tar's last byte went through the tee).
    pub fn finish(self) -> io::Result<()> {
        let cell = Rc::try_unwrap(self.0).map_err(|_| other("tar-split still in use"))?;
        let mut s = cell.into_inner();
        if s.content_left != 0 {
            return Err(other("tar-split: the tar ended inside a file"));
        }
        s.flush_pending()?;
        s.out.write_all(b"E")?;
        let mut buf = s.out.finish()?;
        buf.flush()?;
        Ok(())
    }
}

/// Passes a tar stream through, feeding every byte to a [`Recorder`].
pub struct Tee<R> {
    inner: R,
    rec: Recorder,
}

impl<R: Read> Tee<R> {
    pub fn new(inner: R, rec: Recorder) -> Self {
        Tee { inner, rec }
    }
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.rec.0.borrow_mut().take(crate::util::filled(buf, n)?)?;
        Ok(n)
    }
}

/// One stretch of the rebuilt tar.
pub enum Piece {
    Bytes(Vec<u8>),
    /// A file's whole content: exactly `.1` bytes from offset 0.
    File(File, u64),
}

/// Rebuilds a layer's tar from its dir and tar-split, piece by piece.
pub struct Rebuild {
    records: zstd::stream::read::Decoder<'static, io::BufReader<File>>,
    layer_dir: OwnedFd,
    kept: HashSet<u64>,
    next_index: u64,
    done: bool,
}

impl Rebuild {
    /// `None` if the layer dir has no tar-split.
    pub fn open(layer_dir: &Path) -> io::Result<Option<Self>> {
        let file = match File::open(layer_dir.join(FILE_NAME)) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut records = zstd::stream::read::Decoder::new(file)?;
        let mut magic = [0u8; MAGIC.len()];
        records.read_exact(&mut magic)?;
        if magic != MAGIC {
            return Err(other(format!(
                "{}: not a tar-split file",
                layer_dir.join(FILE_NAME).display()
            )));
        }
        let mut kept = HashSet::new();
        if let Ok(rd) = std::fs::read_dir(layer_dir.join(KEEP_DIR)) {
            for e in rd.flatten() {
                if let Some(i) = e.file_name().to_str().and_then(|n| n.parse().ok()) {
                    kept.insert(i);
                }
            }
        }
        Ok(Some(Rebuild {
            records,
            layer_dir: File::open(layer_dir)?.into(),
            kept,
            next_index: 0,
            done: false,
        }))
    }

    fn damaged(what: impl std::fmt::Display) -> io::Error {
        other(format!("the stored layer is damaged: {what}"))
    }

    pub fn next_piece(&mut self) -> io::Result<Option<Piece>> {
        if self.done {
            return Ok(None);
        }
        let mut tag = [0u8; 1];
        self.records
            .read_exact(&mut tag)
            .map_err(|e| Self::damaged(format!("tar-split: {e}")))?;
        match tag[0] {
            b'R' => {
                let len = self.u32()? as usize;
                let mut b = vec![0u8; len];
                self.records.read_exact(&mut b)?;
                Ok(Some(Piece::Bytes(b)))
            }
            b'F' => {
                let size = self.u64()?;
                let len = self.u32()? as usize;
                let mut path = vec![0u8; len];
                self.records.read_exact(&mut path)?;
                let index = self.next_index;
                self.next_index = index
                    .checked_add(1)
                    .ok_or_else(|| other("tar-split: too many files"))?;
                let path = if self.kept.contains(&index) {
                    format!("{KEEP_DIR}/{index}").into_bytes()
                } else {
                    path
                };
                let fd = openat2(self.layer_dir.as_fd(), &path, libc::O_RDONLY, RESOLVE).map_err(
                    |e| Self::damaged(format!("{}: {e}", String::from_utf8_lossy(&path))),
                )?;
                let f = File::from(fd);
                let meta = f.metadata()?;
                if !meta.is_file() || meta.len() != size {
                    return Err(Self::damaged(format!(
                        "{} is not the file it was",
                        String::from_utf8_lossy(&path)
                    )));
                }
                Ok(Some(Piece::File(f, size)))
            }
            b'E' => {
                self.done = true;
                Ok(None)
            }
            t => Err(Self::damaged(format!("tar-split record {t:#x}"))),
        }
    }

    fn u32(&mut self) -> io::Result<u32> {
        let mut b = [0u8; 4];
        self.records.read_exact(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self) -> io::Result<u64> {
        let mut b = [0u8; 8];
        self.records.read_exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// The rebuilt tar as a byte stream.
    pub fn into_reader(self) -> RebuildReader {
        RebuildReader {
            rebuild: self,
            cur: None,
        }
    }
}

enum Cur {
    Bytes(Vec<u8>, usize),
    File(io::Take<File>),
}

pub struct RebuildReader {
    rebuild: Rebuild,
    cur: Option<Cur>,
}

impl Read for RebuildReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match &mut self.cur {
                Some(Cur::Bytes(b, pos)) if *pos < b.len() => {
                    let mut rest = b.get(*pos..).unwrap_or_default();
                    let n = rest.read(buf)?;
                    // n is at most what was left: pos stays within b.
                    *pos = pos.saturating_add(n);
                    return Ok(n);
                }
                Some(Cur::File(f)) if f.limit() > 0 => {
                    let n = f.read(buf)?;
                    if n == 0 && !buf.is_empty() {
                        return Err(other("the stored layer is damaged: a file shrank"));
                    }
                    return Ok(n);
                }
                _ => {}
            }
            self.cur = match self.rebuild.next_piece()? {
                None => return Ok(0),
                Some(Piece::Bytes(b)) => Some(Cur::Bytes(b, 0)),
                Some(Piece::File(f, n)) => Some(Cur::File(f.take(n))),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Extract `tar` into a fresh layer dir, recording its tar-split.
    fn record(tar: &[u8]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("diff")).unwrap();
        let rec = Recorder::create(dir.path()).unwrap();
        let mut tee = Tee::new(tar, rec.clone());
        crate::image::layer::extract_recording(&mut tee, &dir.path().join("diff"), Some(&rec))
            .unwrap();
        io::copy(&mut tee, &mut io::sink()).unwrap();
        drop(tee);
        rec.finish().unwrap();
        dir
    }

    /// Recording while extracting, then rebuilding, gives back the exact
    /// tar, also when later entries replace earlier files.
    #[test]
    fn rebuild_is_byte_exact() {
        let mut b = tar::Builder::new(Vec::new());
        let add = |b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]| {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, path, data).unwrap();
        };
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        b.append_data(&mut h, "d/", &[][..]).unwrap();
        add(&mut b, "d/a", b"first a");
        add(&mut b, "d/b", &vec![7u8; 100_000]);
        add(&mut b, "d/empty", b"");
        // A long name: GNU long-name entries are raw bytes too.
        add(&mut b, &format!("d/{}", "x".repeat(150)), b"long");
        // Replaced later: the first content must survive.
        add(&mut b, "d/a", b"second a, longer");
        add(&mut b, "d/.wh.b", b"");
        add(&mut b, "gone/inner", b"inner");
        add(&mut b, "gone", b"now a file");
        let tar = b.into_inner().unwrap();

        let dir = record(&tar);

        let mut out = Vec::new();
        Rebuild::open(dir.path())
            .unwrap()
            .unwrap()
            .into_reader()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out.len(), tar.len());
        assert!(out == tar, "rebuilt tar differs");
        // The records are far smaller than the tar.
        let split = std::fs::metadata(dir.path().join(FILE_NAME)).unwrap().len();
        assert!(split < 2_000, "tar-split is {split} bytes");
    }

    #[test]
    fn changed_file_is_reported() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(5);
        h.set_mode(0o644);
        b.append_data(&mut h, "f", &b"hello"[..]).unwrap();
        let tar = b.into_inner().unwrap();
        let dir = record(&tar);
        std::fs::write(dir.path().join("diff/f"), b"hello, world").unwrap();
        let err = Rebuild::open(dir.path())
            .unwrap()
            .unwrap()
            .into_reader()
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(err.to_string().contains("damaged"), "{err}");
    }
}
