//! What an export directory holds: `DIR/.cfl-export.json` (the manifest: per page its id,
//! version, title and file, and its attachments' ids, versions and files; per Cloud folder its
//! id, title and directory) and, while a run is in
//! progress, `DIR/.cfl-export.journal`, one JSON line appended (and flushed) per finished page.
//! A run starts from the manifest plus the journal, so an interrupted run resumes where it
//! stopped; a finished run writes the manifest atomically and removes the journal.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Context;
use serde::{Deserialize, Serialize};

pub const MANIFEST: &str = ".cfl-export.json";
pub const JOURNAL: &str = ".cfl-export.journal";
const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AttachmentEntry {
    pub version: u64,
    /// Relative to the export directory, `/`-separated.
    pub path: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PageEntry {
    pub version: u64,
    pub title: String,
    pub path: String,
    #[serde(default)]
    pub attachments: BTreeMap<String, AttachmentEntry>,
}

/// A Cloud folder, laid out as a directory.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FolderEntry {
    pub title: String,
    /// The directory, relative to the export directory.
    pub path: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub manifest_version: u32,
    /// What was exported: a space key or a page id.
    pub target: String,
    pub format: String,
    pub site: String,
    pub pages: BTreeMap<String, PageEntry>,
    /// Folders (Cloud), by id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub folders: BTreeMap<String, FolderEntry>,
}

#[derive(Serialize, Deserialize)]
struct JournalLine {
    id: String,
    /// `None`: the page was removed.
    entry: Option<PageEntry>,
}

impl Manifest {
    pub fn new(target: &str, format: &str, site: &str) -> Manifest {
        Manifest {
            manifest_version: FORMAT_VERSION,
            target: target.to_string(),
            format: format.to_string(),
            site: site.to_string(),
            pages: BTreeMap::new(),
            folders: BTreeMap::new(),
        }
    }

    /// The manifest and journal in `dir`, if any. A torn last journal line (a kill mid-write)
    /// is ignored; anything else unreadable is an error that says which file.
    pub fn load(dir: &Path) -> crate::error::Result<Option<Manifest>> {
        let path = dir.join(MANIFEST);
        let mut m: Option<Manifest> = match std::fs::read(&path) {
            Ok(bytes) => Some(serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "{} is not a cfl export manifest; remove it (cfl then exports everything again)",
                    path.display()
                )
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        if let Some(m) = &m {
            if m.manifest_version != FORMAT_VERSION {
                crate::error::invalid!(
                    "{} was written by another cfl version (manifest version {}); use a new --out directory",
                    path.display(),
                    m.manifest_version
                );
            }
        }
        let jpath = dir.join(JOURNAL);
        if let Ok(text) = std::fs::read_to_string(&jpath) {
            let lines: Vec<&str> = text.lines().collect();
            // The header line names the run; the rest are pages.
            for (i, line) in lines.iter().enumerate() {
                if i == 0 {
                    if m.is_none() {
                        let head: Manifest = serde_json::from_str(line).with_context(|| {
                            format!("{} is damaged; remove it", jpath.display())
                        })?;
                        m = Some(head);
                    }
                    continue;
                }
                match serde_json::from_str::<JournalLine>(line) {
                    Ok(j) => {
                        let m = m.as_mut().expect("set from the header");
                        match j.entry {
                            Some(e) => m.pages.insert(j.id, e),
                            None => m.pages.remove(&j.id),
                        };
                    }
                    Err(_) if i + 1 == lines.len() => {}
                    Err(e) => {
                        return Err(e).with_context(|| {
                            format!(
                                "{} line {} is damaged; remove the file",
                                jpath.display(),
                                i + 1
                            )
                        })
                    }
                }
            }
        }
        Ok(m)
    }

    /// Writes the manifest atomically and drops the journal.
    pub fn save(&self, dir: &Path) -> crate::error::Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| crate::Error::internal(&e))?;
        super::writer::write_atomic(&dir.join(MANIFEST), &bytes)?;
        let _ = std::fs::remove_file(dir.join(JOURNAL));
        Ok(())
    }
}

/// Appends page records as pages finish.
pub struct Journal {
    file: std::fs::File,
    path: PathBuf,
}

impl Journal {
    /// Opens (or starts) the journal; a new one begins with the run's header.
    pub fn open(dir: &Path, header: &Manifest) -> crate::error::Result<Journal> {
        let path = dir.join(JOURNAL);
        let exists = path.exists();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        if !exists {
            let mut head = header.clone();
            head.pages.clear();
            head.folders.clear();
            let line = serde_json::to_string(&head).map_err(|e| crate::Error::internal(&e))?;
            writeln!(file, "{line}").with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(Journal { file, path })
    }

    pub fn record(&mut self, id: &str, entry: Option<&PageEntry>) -> crate::error::Result<()> {
        let line = serde_json::to_string(&JournalLine {
            id: id.to_string(),
            entry: entry.cloned(),
        })
        .map_err(|e| crate::Error::internal(&e))?;
        // One write per line, so a kill leaves at most a torn last line.
        self.file
            .write_all(format!("{line}\n").as_bytes())
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(v: u64) -> PageEntry {
        PageEntry {
            version: v,
            title: "T".into(),
            path: "T/index.md".into(),
            attachments: BTreeMap::new(),
        }
    }

    #[test]
    fn journal_replays_over_the_manifest_and_tolerates_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = Manifest::new("DEV", "markdown", "http://x");
        m.pages.insert("1".into(), entry(1));
        m.pages.insert("2".into(), entry(1));
        m.save(dir.path()).unwrap();
        let mut j = Journal::open(dir.path(), &m).unwrap();
        j.record("1", Some(&entry(5))).unwrap();
        j.record("2", None).unwrap();
        j.record("3", Some(&entry(1))).unwrap();
        drop(j);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join(JOURNAL))
            .unwrap();
        f.write_all(b"{\"id\":\"4\",\"ent").unwrap();
        let back = Manifest::load(dir.path()).unwrap().unwrap();
        assert_eq!(back.pages["1"].version, 5);
        assert!(!back.pages.contains_key("2"));
        assert!(back.pages.contains_key("3"));
        assert!(!back.pages.contains_key("4"));
        back.save(dir.path()).unwrap();
        assert!(!dir.path().join(JOURNAL).exists());
    }

    #[test]
    fn a_journal_alone_resumes_a_first_run() {
        let dir = tempfile::tempdir().unwrap();
        let m = Manifest::new("DEV", "markdown", "http://x");
        let mut j = Journal::open(dir.path(), &m).unwrap();
        j.record("7", Some(&entry(2))).unwrap();
        let back = Manifest::load(dir.path()).unwrap().unwrap();
        assert_eq!(back.target, "DEV");
        assert_eq!(back.pages["7"].version, 2);
    }

    #[test]
    fn garbage_manifest_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MANIFEST), "nope").unwrap();
        let e = Manifest::load(dir.path()).unwrap_err();
        assert!(format!("{e:#}").contains("not a cfl export manifest"));
    }
}
