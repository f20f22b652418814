//! Layer extraction: every entry kind, whiteouts, and a hostile corpus.
//! Needs root (chown, mknod, trusted.* xattrs), as the whole suite does.

use super::*;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

#[derive(Clone)]
struct E {
    path: &'static str,
    kind: tar::EntryType,
    link: &'static str,
    body: &'static [u8],
    mode: u32,
    uid: u64,
    mtime: u64,
    xattr: Option<(&'static str, &'static [u8])>,
}

fn e(path: &'static str, kind: tar::EntryType) -> E {
    E {
        path,
        kind,
        link: "",
        body: b"",
        mode: if kind == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        },
        uid: 0,
        mtime: 1_600_000_000,
        xattr: None,
    }
}
fn file(path: &'static str, body: &'static [u8]) -> E {
    E {
        body,
        ..e(path, tar::EntryType::Regular)
    }
}
fn dir(path: &'static str) -> E {
    e(path, tar::EntryType::Directory)
}
fn symlink(path: &'static str, to: &'static str) -> E {
    E {
        link: to,
        ..e(path, tar::EntryType::Symlink)
    }
}
fn hardlink(path: &'static str, to: &'static str) -> E {
    E {
        link: to,
        ..e(path, tar::EntryType::Link)
    }
}

/// A tar with raw names (the tar crate's own path checks bypassed).
fn tar_of(entries: &[E]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for x in entries {
        if let Some((k, v)) = x.xattr {
            let key = format!("SCHILY.xattr.{k}");
            b.append_pax_extensions([(key.as_str(), v)]).unwrap();
        }
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(x.kind);
        h.set_mode(x.mode);
        h.set_uid(x.uid);
        h.set_gid(x.uid);
        h.set_mtime(x.mtime);
        h.set_size(x.body.len() as u64);
        if x.kind == tar::EntryType::Char {
            h.set_device_major(1).unwrap();
            h.set_device_minor(3).unwrap();
        }
        let name = &mut h.as_old_mut().name;
        name[..x.path.len()].copy_from_slice(x.path.as_bytes());
        if !x.link.is_empty() {
            h.as_old_mut().linkname[..x.link.len()].copy_from_slice(x.link.as_bytes());
        }
        h.set_cksum();
        b.append(&h, x.body).unwrap();
    }
    b.into_inner().unwrap()
}

fn extract_into(entries: &[E]) -> (tempfile::TempDir, Result<LayerStats, LayerError>) {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir(t.path().join("layer")).unwrap();
    let r = extract(&tar_of(entries)[..], &t.path().join("layer"));
    (t, r)
}

#[test]
fn every_entry_kind_with_metadata() {
    let mut suid = file("./bin/su", b"x");
    suid.mode = 0o4755;
    suid.uid = 1000;
    let mut tagged = file("etc/tagged", b"t");
    tagged.xattr = Some(("user.rdock", b"v1"));
    let mut fifo = e("run/fifo", tar::EntryType::Fifo);
    fifo.mode = 0o600;
    let mut sub = dir("./var/");
    sub.mtime = 1_500_000_000;
    let (t, r) = extract_into(&[
        dir("./"),
        dir("bin"),
        suid,
        file("etc/hostname", b"box\n"),
        tagged,
        symlink("etc/link", "/etc/hostname"),
        hardlink("etc/hard", "etc/hostname"),
        e("dev/null", tar::EntryType::Char),
        fifo,
        sub,
        file("var/log", b"l"),
    ]);
    let st = r.unwrap();
    assert_eq!(st.size, 1 + 4 + 1 + 1);
    let l = t.path().join("layer");
    let m = std::fs::metadata(l.join("bin/su")).unwrap();
    assert_eq!(
        m.permissions().mode() & 0o7777,
        0o4755,
        "setuid survives chown"
    );
    assert_eq!((m.uid(), m.gid()), (1000, 1000));
    assert_eq!(m.mtime(), 1_600_000_000);
    assert_eq!(std::fs::read(l.join("etc/hostname")).unwrap(), b"box\n");
    assert_eq!(
        std::fs::read_link(l.join("etc/link")).unwrap(),
        Path::new("/etc/hostname")
    );
    assert_eq!(
        std::fs::metadata(l.join("etc/hard")).unwrap().ino(),
        std::fs::metadata(l.join("etc/hostname")).unwrap().ino()
    );
    let dev = std::fs::metadata(l.join("dev/null")).unwrap();
    assert!(dev.file_type().is_char_device());
    assert_eq!(dev.rdev(), nix::sys::stat::makedev(1, 3));
    assert!(std::fs::metadata(l.join("run/fifo"))
        .unwrap()
        .file_type()
        .is_fifo());
    assert_eq!(
        std::fs::metadata(l.join("var")).unwrap().mtime(),
        1_500_000_000,
        "dir mtime set last"
    );
    let x = xattr(&l.join("etc/tagged"), "user.rdock");
    assert_eq!(x.as_deref(), Some(&b"v1"[..]));
}

fn xattr(p: &Path, k: &str) -> Option<Vec<u8>> {
    let path = CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    let key = CString::new(k).unwrap();
    let mut buf = [0u8; 64];
    // SAFETY: valid strings and buffer.
    let n = unsafe {
        libc::lgetxattr(
            path.as_ptr(),
            key.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    (n >= 0).then(|| buf[..n as usize].to_vec())
}

#[test]
fn whiteouts_become_overlay_whiteouts() {
    let (t, r) = extract_into(&[
        dir("a"),
        file("a/.wh.gone", b""),
        dir("b"),
        file("b/.wh..wh..opq", b""),
        file(".wh..wh.plnk", b""),
    ]);
    r.unwrap();
    let l = t.path().join("layer");
    let w = std::fs::symlink_metadata(l.join("a/gone")).unwrap();
    assert!(w.file_type().is_char_device());
    assert_eq!(w.rdev(), 0);
    assert!(!l.join("a/.wh.gone").exists());
    assert_eq!(
        xattr(&l.join("b"), "trusted.overlay.opaque").as_deref(),
        Some(&b"y"[..])
    );
    assert!(!l.join("b/.wh..wh..opq").exists());
    assert!(!l.join(".wh..wh.plnk").exists());
}

#[test]
fn later_entries_replace_earlier_ones() {
    let (t, r) = extract_into(&[
        file("x", b"file"),
        dir("x"),
        file("x/in", b"1"),
        file("x", b"file again"),
        dir("d"),
        dir("d"),
        file("d/k", b"kept"),
    ]);
    r.unwrap();
    let l = t.path().join("layer");
    assert_eq!(std::fs::read(l.join("x")).unwrap(), b"file again");
    assert_eq!(std::fs::read(l.join("d/k")).unwrap(), b"kept");
}

/// Every hostile case must fail with Escape and leave `outside` untouched.
#[test]
fn hostile_corpus_is_refused() {
    let cases: Vec<(&str, Vec<E>)> = vec![
        ("dotdot", vec![file("../evil", b"x")]),
        ("inner dotdot", vec![dir("a"), file("a/../../evil", b"x")]),
        ("absolute", vec![file("/tmp/rdock-layer-test-abs", b"x")]),
        (
            "symlinked parent abs",
            vec![symlink("a", "OUTSIDE"), file("a/evil", b"x")],
        ),
        (
            "symlinked parent rel",
            vec![symlink("a", ".."), file("a/evil", b"x")],
        ),
        (
            "symlinked deep parent",
            vec![dir("d"), symlink("d/s", "/"), file("d/s/tmp/evil", b"x")],
        ),
        ("hardlink dotdot", vec![hardlink("h", "../../etc/passwd")]),
        ("hardlink absolute", vec![hardlink("h", "/etc/passwd")]),
        (
            "hardlink via symlink",
            vec![symlink("s", "/etc"), hardlink("h", "s/passwd")],
        ),
        ("whiteout dotdot", vec![file(".wh...", b"")]),
        (
            "whiteout through symlink",
            vec![symlink("s", "OUTSIDE"), file("s/.wh.f", b"")],
        ),
        (
            "opaque through symlink",
            vec![symlink("s", "OUTSIDE"), file("s/.wh..wh..opq", b"")],
        ),
        (
            "dir through symlink",
            vec![symlink("s", "OUTSIDE"), dir("s/sub")],
        ),
    ];
    for (what, mut entries) in cases {
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("f");
        std::fs::write(&victim, "keep").unwrap();
        let out: &'static str = Box::leak(outside.path().display().to_string().into_boxed_str());
        for x in entries.iter_mut() {
            if x.link == "OUTSIDE" {
                x.link = out;
            }
        }
        let (t, r) = extract_into(&entries);
        match r {
            Err(LayerError::Escape { .. }) => {}
            other => panic!("{what}: expected Escape, got {other:?}"),
        }
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep", "{what}");
        assert_eq!(
            std::fs::read_dir(outside.path()).unwrap().count(),
            1,
            "{what}: wrote outside"
        );
        assert!(!t.path().join("evil").exists(), "{what}");
        assert!(!Path::new("/tmp/rdock-layer-test-abs").exists(), "{what}");
        assert!(!Path::new("/tmp/evil").exists(), "{what}");
    }
}

#[test]
fn file_replacing_a_symlink_does_not_write_through_it() {
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("v");
    std::fs::write(&victim, "keep").unwrap();
    let to: &'static str = Box::leak(victim.display().to_string().into_boxed_str());
    let (t, r) = extract_into(&[symlink("f", to), file("f", b"new")]);
    r.unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    let l = t.path().join("layer/f");
    assert!(std::fs::symlink_metadata(&l).unwrap().is_file());
    assert_eq!(std::fs::read(&l).unwrap(), b"new");
}

#[test]
fn truncated_archive_is_an_error() {
    let mut t = tar_of(&[file("a", b"0123456789")]);
    t.truncate(520);
    let d = tempfile::tempdir().unwrap();
    assert!(extract(&t[..], d.path()).is_err());
}

#[test]
fn remove_tree_is_symlink_safe() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("keep"), "k").unwrap();
    let d = tempfile::tempdir().unwrap();
    let l = d.path().join("layer");
    std::fs::create_dir(&l).unwrap();
    std::os::unix::fs::symlink(outside.path(), l.join("s")).unwrap();
    std::fs::create_dir(l.join("locked")).unwrap();
    std::fs::set_permissions(l.join("locked"), std::fs::Permissions::from_mode(0o000)).unwrap();
    remove_tree(&l).unwrap();
    assert!(!l.exists());
    assert!(outside.path().join("keep").exists());
    remove_tree(&l).unwrap();
}
