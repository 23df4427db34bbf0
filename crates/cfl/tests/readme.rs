//! README.md's snippets run as written (issue 19): a new user pastes them into bash.

mod common;
use common::CFL;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The first ```sh block after the line `marker` in README.md.
fn snippet_after(marker: &str) -> String {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let from = readme
        .find(marker)
        .unwrap_or_else(|| panic!("README.md no longer has {marker:?}"));
    let rest = &readme[from..];
    let start = rest.find("```sh\n").expect("a sh block") + "```sh\n".len();
    let len = rest[start..].find("```").expect("the block's end");
    rest[start..start + len].to_string()
}

/// What a bash script printed, and whether it succeeded.
struct Ran {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// bash with the built `cfl` first on the PATH, in the checkout (the README's examples/ paths),
/// in a process group of its own that is killed afterwards, so a failing snippet leaves no
/// simulator behind either.
fn bash(script: &str) -> Ran {
    use std::os::unix::process::CommandExt;
    let bin = Path::new(CFL).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = Command::new("bash")
        .args(["-eu", "-c", script])
        .current_dir(repo())
        .env("PATH", path)
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .process_group(0)
        .spawn()
        .expect("bash runs");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let group = format!("-{}", child.id());
    let ok = status.is_some_and(|s| s.success());
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let ran = Ran {
        ok,
        stdout: read(&out),
        stderr: read(&err)
            + if status.is_none() {
                "\n(timed out)"
            } else {
                ""
            },
    };
    if !ok {
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = child.wait();
    }
    ran
}

#[test]
fn the_sim_snippet_works_as_written_and_leaves_no_simulator_behind() {
    let snippet = snippet_after("Then use it like Confluence:");
    // curl prints no newline after the JSON: start the line.
    let ran = bash(&format!("{snippet}\necho; echo \"sim-pid=$SIM_PID\"\n"));
    let (stdout, stderr) = (&ran.stdout, &ran.stderr);
    assert!(ran.ok, "{snippet}\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("\"username\":\"admin\"") && stdout.contains("\"username\":\"alice\""),
        "both curl lines reach the simulator: {stdout}\n{stderr}"
    );
    let pid: u32 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("sim-pid="))
        .and_then(|p| p.trim().parse().ok())
        .expect("the snippet names its simulator's pid");
    let gone = Instant::now() + Duration::from_secs(5);
    // Gone, or a zombie waiting for whoever inherited it to reap it: either way not serving.
    let running = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            s.rsplit_once(") ")
                .is_some_and(|(_, r)| !r.starts_with('Z'))
        })
    };
    while running() {
        assert!(
            Instant::now() < gone,
            "the simulator (pid {pid}) is still running after the snippet"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
