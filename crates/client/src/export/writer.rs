//! Files on disk for `cfl export`: every file is written to a temporary name beside its target
//! and renamed into place, so a killed run never leaves a half-written page; page titles and
//! attachment names become safe path segments; leftovers of a killed run are swept.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Context;

const TMP_MARK: &str = ".cfl-tmp-";

/// Writes `bytes` to `path` atomically (temp file in the same directory, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> crate::error::Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create directory {}", parent.display()))?;
    let tmp = temp_path(path);
    let mut f =
        std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_data())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    drop(f);
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// A temporary name beside `path`.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}{TMP_MARK}{:08x}", rand::random::<u32>()))
}

/// Removes temporary files a killed run left behind.
pub fn sweep_temp_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            sweep_temp_files(&p);
        } else if e.file_name().to_string_lossy().contains(TMP_MARK) {
            let _ = std::fs::remove_file(&p);
        }
    }
}

/// A page title or file name as one path segment: no separators, no characters Windows
/// refuses, no leading dot (hidden files), at most 120 bytes.
pub fn segment(name: &str, fallback: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    s = s.trim().trim_end_matches('.').to_string();
    while s.starts_with('.') {
        s.replace_range(..1, "_");
    }
    if s.len() > 120 {
        let mut cut = 120;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s = s.trim_end().to_string();
    }
    if s.is_empty() {
        fallback.to_string()
    } else {
        s
    }
}

/// `to` relative to the directory `from_dir` (both `/`-separated, relative to the export root).
pub fn relative(from_dir: &str, to: &str) -> String {
    let a: Vec<&str> = from_dir.split('/').filter(|s| !s.is_empty()).collect();
    let b: Vec<&str> = to.split('/').filter(|s| !s.is_empty()).collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<&str> = vec![".."; a.len() - common];
    parts.extend(&b[common..]);
    parts.join("/")
}

/// Removes a file we wrote and then every directory above it that became empty (up to `root`).
pub fn remove_and_prune(root: &Path, rel: &str) {
    let path = root.join(rel);
    let _ = std::fs::remove_file(&path);
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d == root || !d.starts_with(root) || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

/// Removes the directory `rel` and every directory above it that became empty (up to `root`),
/// if it is empty: a folder gone from Confluence, whose pages went already.
pub fn prune_dir(root: &Path, rel: &str) {
    let mut dir = Some(root.join(rel));
    while let Some(d) = dir {
        if d == root || !d.starts_with(root) || std::fs::remove_dir(&d).is_err() {
            break;
        }
        dir = d.parent().map(Path::to_path_buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_safe() {
        assert_eq!(segment("a/b: c?", "x"), "a_b_ c_");
        assert_eq!(segment("..", "page-1"), "page-1");
        assert_eq!(segment(".hidden", "x"), "_hidden");
        assert_eq!(segment("   ", "page-9"), "page-9");
        assert!(segment(&"é".repeat(100), "x").len() <= 120);
    }

    #[test]
    fn relative_paths() {
        assert_eq!(relative("A/B", "A/C/index.md"), "../C/index.md");
        assert_eq!(relative("A", "A/B/index.md"), "B/index.md");
        assert_eq!(relative("A/B/C", "D/index.md"), "../../../D/index.md");
    }

    #[test]
    fn atomic_write_and_sweep() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/file.md");
        write_atomic(&p, b"hello").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"hello");
        let stray = temp_path(&p);
        std::fs::write(&stray, b"half").unwrap();
        sweep_temp_files(dir.path());
        assert!(!stray.exists() && p.exists());
        remove_and_prune(dir.path(), "a/b/file.md");
        assert!(!dir.path().join("a").exists());
        assert!(dir.path().exists());
    }
}
