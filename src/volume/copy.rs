//! docker's copy-up: a new, empty volume is first filled with what the
//! image has at the path it is mounted on, ownership, modes and times
//! kept. Runs in the container's init before pivot_root, where the rootfs
//! comes from image layers and so is hostile: the walk goes through
//! directory fds with O_NOFOLLOW, symlinks are copied as links and never
//! followed, and nothing is written outside the destination dir.

use crate::container::cp::resolve::open_at;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{fchmodat, FchmodatFlags, Mode, SFlag};
use std::collections::HashMap;
use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

fn lstat_at(dir: BorrowedFd, name: &OsStr) -> io::Result<libc::stat> {
    Ok(nix::sys::stat::fstatat(
        Some(dir.as_raw_fd()),
        name,
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )?)
}

fn cstr(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

/// Owner, mode and times of `name` in `dir` as `st` has them.
fn set_meta(dir: BorrowedFd, name: &OsStr, st: &libc::stat, is_link: bool) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: valid dir fd and NUL-terminated name; no symlink followed.
    let r = unsafe {
        libc::fchownat(
            dir.as_raw_fd(),
            c.as_ptr(),
            st.st_uid,
            st.st_gid,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    if !is_link {
        // After chown, which clears setuid/setgid bits.
        fchmodat(
            Some(dir.as_raw_fd()),
            name,
            Mode::from_bits_truncate(st.st_mode & 0o7777),
            FchmodatFlags::FollowSymlink,
        )?;
    }
    let times = [
        libc::timespec {
            tv_sec: st.st_atime,
            tv_nsec: st.st_atime_nsec,
        },
        libc::timespec {
            tv_sec: st.st_mtime,
            tv_nsec: st.st_mtime_nsec,
        },
    ];
    // SAFETY: as above; times is a two-element array.
    let r = unsafe {
        libc::utimensat(
            dir.as_raw_fd(),
            c.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether the directory has no entries but `.` and `..`.
pub fn is_empty_dir(dir: BorrowedFd) -> io::Result<bool> {
    let dup = nix::unistd::dup(dir.as_raw_fd())?;
    let mut d = nix::dir::Dir::from_fd(dup)?;
    for e in d.iter() {
        let e = e?;
        let n = e.file_name().to_bytes();
        if n != b"." && n != b".." {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Copy the contents of `src` into the empty dir `dst`, then give `dst`
/// the owner and mode of `src` (docker's copyOwnership).
pub fn copy_tree(src: BorrowedFd, dst: BorrowedFd) -> io::Result<()> {
    let mut links = HashMap::new();
    copy_dir(src, dst, &mut links, 0)?;
    let st = nix::sys::stat::fstat(src.as_raw_fd())?;
    nix::unistd::fchown(
        dst.as_raw_fd(),
        Some(nix::unistd::Uid::from_raw(st.st_uid)),
        Some(nix::unistd::Gid::from_raw(st.st_gid)),
    )?;
    nix::sys::stat::fchmod(
        dst.as_raw_fd(),
        Mode::from_bits_truncate(st.st_mode & 0o7777),
    )?;
    Ok(())
}

/// (dev, ino) of a multiply-linked file -> (dir fd, name) of its first copy.
type Links = HashMap<(u64, u64), (OwnedFd, Vec<u8>)>;

fn copy_dir(src: BorrowedFd, dst: BorrowedFd, links: &mut Links, depth: usize) -> io::Result<()> {
    if depth > 4096 {
        return Err(io::Error::other("directory tree too deep"));
    }
    let dup = nix::unistd::dup(src.as_raw_fd())?;
    let mut d = nix::dir::Dir::from_fd(dup)?;
    let names: Vec<Vec<u8>> = d
        .iter()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_bytes().to_vec())
        .filter(|n| n != b"." && n != b"..")
        .collect();
    for n in names {
        let name = OsStr::from_bytes(&n);
        let st = lstat_at(src, name)?;
        let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
        if kind != SFlag::S_IFDIR && st.st_nlink > 1 {
            if let Some((first_dir, first)) = links.get(&(st.st_dev, st.st_ino)) {
                nix::unistd::linkat(
                    Some(first_dir.as_raw_fd()),
                    OsStr::from_bytes(first),
                    Some(dst.as_raw_fd()),
                    name,
                    AtFlags::empty(),
                )?;
                continue;
            }
        }
        match kind {
            SFlag::S_IFDIR => {
                nix::sys::stat::mkdirat(
                    Some(dst.as_raw_fd()),
                    name,
                    Mode::from_bits_truncate(0o700),
                )?;
                let s = open_at(src, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
                let t = open_at(dst, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
                copy_dir(s.as_fd(), t.as_fd(), links, depth.saturating_add(1))?;
            }
            SFlag::S_IFREG => {
                let s = open_at(src, name, OFlag::O_RDONLY)?;
                let t = open_at(dst, name, OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL)?;
                let mut from = std::fs::File::from(s);
                let mut to = std::fs::File::from(t);
                // std's copy uses copy_file_range/sendfile where it can.
                io::copy(&mut from, &mut to)?;
            }
            SFlag::S_IFLNK => {
                let target = nix::fcntl::readlinkat(Some(src.as_raw_fd()), name)?;
                nix::unistd::symlinkat(target.as_os_str(), Some(dst.as_raw_fd()), name)?;
            }
            SFlag::S_IFCHR | SFlag::S_IFBLK | SFlag::S_IFIFO | SFlag::S_IFSOCK => {
                let c = cstr(name)?;
                // SAFETY: valid dir fd and NUL-terminated name.
                let r =
                    unsafe { libc::mknodat(dst.as_raw_fd(), c.as_ptr(), st.st_mode, st.st_rdev) };
                if r != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            _ => continue,
        }
        set_meta(dst, name, &st, kind == SFlag::S_IFLNK)?;
        if kind != SFlag::S_IFDIR && st.st_nlink > 1 {
            let dup = nix::unistd::dup(dst.as_raw_fd())?;
            // SAFETY: dup returned a new fd that nothing else owns.
            let owned = unsafe { OwnedFd::from_raw_fd(dup) };
            links.insert((st.st_dev, st.st_ino), (owned, n.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn dirfd(p: &std::path::Path) -> OwnedFd {
        OwnedFd::from(std::fs::File::open(p).unwrap())
    }

    #[test]
    fn copies_a_tree_without_following_links() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        let dst = t.path().join("dst");
        let outside = t.path().join("outside");
        std::fs::create_dir_all(src.join("sub")).unwrap();
        std::fs::create_dir(&dst).unwrap();
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(src.join("sub/f"), "data").unwrap();
        std::fs::set_permissions(src.join("sub/f"), std::fs::Permissions::from_mode(0o640))
            .unwrap();
        std::fs::hard_link(src.join("sub/f"), src.join("hl")).unwrap();
        std::os::unix::fs::symlink(&outside, src.join("escape")).unwrap();
        std::os::unix::fs::chown(src.join("sub"), Some(1234), Some(5678)).unwrap();
        std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let empty = is_empty_dir(dirfd(&dst).as_fd()).unwrap();
        assert!(empty);
        copy_tree(dirfd(&src).as_fd(), dirfd(&dst).as_fd()).unwrap();
        assert_eq!(std::fs::read_to_string(dst.join("sub/f")).unwrap(), "data");
        let m = std::fs::metadata(dst.join("sub/f")).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o640);
        assert_eq!(m.ino(), std::fs::metadata(dst.join("hl")).unwrap().ino());
        let sub = std::fs::metadata(dst.join("sub")).unwrap();
        assert_eq!((sub.uid(), sub.gid()), (1234, 5678));
        assert_eq!(std::fs::read_link(dst.join("escape")).unwrap(), outside);
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
        assert_eq!(std::fs::metadata(&dst).unwrap().mode() & 0o7777, 0o1777);
        assert!(!is_empty_dir(dirfd(&dst).as_fd()).unwrap());
    }
}
