//! Where secrets live: the OS keychain (macOS, Windows) or, when there is none or the user asks
//! for it, a 0600 `secrets.toml` next to the profiles. Every write is atomic (temp file + rename),
//! so a crash never leaves a half-written secrets file.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The keychain service name entries are stored under (account = profile name).
#[cfg(any(target_os = "macos", target_os = "windows"))]
const SERVICE: &str = "cfl";

/// Where a profile's secret is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecretStore {
    Keychain,
    File,
}

impl SecretStore {
    pub fn describe(self, dir: &Path) -> String {
        match self {
            SecretStore::Keychain => "OS keychain".into(),
            SecretStore::File => format!("file {}", file_path(dir).display()),
        }
    }
}

pub fn file_path(dir: &Path) -> PathBuf {
    dir.join("secrets.toml")
}

/// Writes `bytes` to `path` through a temp file in the same directory and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| Error::Invalid(format!("{} has no parent directory", path.display())))?;
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    // tempfile creates the file 0600 on Unix, so a secret is never readable by others.
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| Error::io(format!("cannot create a temp file in {}", dir.display()), e))?;
    tmp.write_all(bytes)
        .map_err(|e| Error::io("cannot write temp file", e))?;
    tmp.as_file().sync_all().ok();
    #[cfg(unix)]
    if !private {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644)).ok();
    }
    let _ = private;
    tmp.persist(path)
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e.error))?;
    Ok(())
}

fn load_file(dir: &Path) -> Result<BTreeMap<String, String>> {
    let path = file_path(dir);
    match std::fs::read_to_string(&path) {
        // Never echo the text: it holds secrets.
        Ok(t) => toml::from_str(&t).map_err(|_| {
            Error::Invalid(format!(
                "cannot parse {}; fix or remove it and log in again",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(Error::io(format!("cannot read {}", path.display()), e)),
    }
}

fn save_file(dir: &Path, map: &BTreeMap<String, String>) -> Result<()> {
    let path = file_path(dir);
    if map.is_empty() {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::io(format!("cannot remove {}", path.display()), e))
            }
            _ => Ok(()),
        };
    }
    let text = toml::to_string(map)
        .map_err(|e| Error::Request(format!("cannot serialise the secrets: {e}")))?;
    write_atomic(&path, text.as_bytes(), true)
}

/// Is an OS keychain compiled in for this platform?
pub fn keychain_available() -> bool {
    cfg!(any(target_os = "macos", target_os = "windows"))
}

#[cfg(any(target_os = "macos", target_os = "windows"))]
mod keychain {
    use crate::error::{Error, Result};

    fn failed(e: keyring::Error) -> Error {
        Error::Request(format!("OS keychain: {e}"))
    }
    fn entry(profile: &str) -> Result<keyring::Entry> {
        keyring::Entry::new(super::SERVICE, profile).map_err(failed)
    }
    pub fn set(profile: &str, secret: &str) -> Result<()> {
        entry(profile)?.set_password(secret).map_err(failed)
    }
    pub fn get(profile: &str) -> Result<Option<String>> {
        match entry(profile)?.get_password() {
            Ok(s) => Ok(Some(s)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(failed(e)),
        }
    }
    pub fn delete(profile: &str) -> Result<bool> {
        match entry(profile)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(failed(e)),
        }
    }
}

#[cfg(not(any(target_os = "macos", target_os = "windows")))]
mod keychain {
    use crate::error::{Error, Result};

    pub fn set(_: &str, _: &str) -> Result<()> {
        Err(Error::Request("no OS keychain on this platform".into()))
    }
    pub fn get(_: &str) -> Result<Option<String>> {
        Ok(None)
    }
    pub fn delete(_: &str) -> Result<bool> {
        Ok(false)
    }
}

/// Stores `secret` for `profile`: in the keychain unless `insecure` or none exists. Returns where
/// it went, so the command can say so out loud.
pub fn store(dir: &Path, profile: &str, secret: &str, insecure: bool) -> Result<SecretStore> {
    if !insecure && keychain_available() {
        match keychain::set(profile, secret) {
            Ok(()) => {
                // A stale copy in the file would otherwise shadow nothing but still sit on disk.
                remove_from_file(dir, profile)?;
                return Ok(SecretStore::Keychain);
            }
            Err(e) => eprintln!("warning: cannot use the OS keychain ({e}); using a file instead"),
        }
    }
    let mut map = load_file(dir)?;
    map.insert(profile.to_string(), secret.to_string());
    save_file(dir, &map)?;
    Ok(SecretStore::File)
}

/// The secret for `profile`: keychain first, then the file (gh's order).
pub fn load(dir: &Path, profile: &str) -> Result<Option<(String, SecretStore)>> {
    if let Ok(Some(s)) = keychain::get(profile) {
        return Ok(Some((s, SecretStore::Keychain)));
    }
    Ok(load_file(dir)?
        .remove(profile)
        .map(|s| (s, SecretStore::File)))
}

fn remove_from_file(dir: &Path, profile: &str) -> Result<bool> {
    let mut map = load_file(dir)?;
    let had = map.remove(profile).is_some();
    if had {
        save_file(dir, &map)?;
    }
    Ok(had)
}

/// Removes the secret from everywhere it may be; returns the places it was found.
pub fn remove(dir: &Path, profile: &str) -> Result<Vec<SecretStore>> {
    let mut found = Vec::new();
    if keychain::delete(profile)? {
        found.push(SecretStore::Keychain);
    }
    if remove_from_file(dir, profile)? {
        found.push(SecretStore::File);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_store_is_private_and_removable() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            store(dir.path(), "p", "s3cret", true).unwrap(),
            SecretStore::File
        );
        store(dir.path(), "q", "other", true).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(file_path(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(load(dir.path(), "p").unwrap().unwrap().0, "s3cret");
        assert_eq!(remove(dir.path(), "p").unwrap(), vec![SecretStore::File]);
        assert!(load(dir.path(), "p").unwrap().is_none());
        assert_eq!(load(dir.path(), "q").unwrap().unwrap().0, "other");
        remove(dir.path(), "q").unwrap();
        assert!(!file_path(dir.path()).exists());
    }
}
