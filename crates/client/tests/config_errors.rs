//! A profiles file that does not parse: the error names the file, the line and the column and
//! says what is wrong, but never shows a secret that the offending line holds.

use cfl_client::config::Config;

/// `text` as `config.toml` in a directory of its own; the error `Config::load` gives for it.
fn load_error(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("cfl-config-errors-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), text).unwrap();
    let err = match Config::load(&dir) {
        Ok(_) => panic!("{name}: a broken file loaded"),
        Err(e) => e.to_string(),
    };
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(err.contains("config.toml"), "{name}: names the file: {err}");
    err
}

#[test]
fn a_malformed_line_holding_a_secret_is_named_but_not_shown() {
    let site = "[profiles.dc]\nsite = \"https://wiki.example.com\"\nmethod = \"pat\"\n";
    let cases = [
        ("trailing", "pat = \"NjEyMzQ1Njc4OTAx-secret\" pasted\n", 4),
        ("unclosed", "token = \"NjEyMzQ1Njc4OTAx-secret\n", 4),
        ("bare", "password = NjEyMzQ1Njc4OTAx-secret\n", 4),
        (
            "inline",
            "[profiles.x]\nauth = { client_secret = \"NjEyMzQ1Njc4OTAx-secret\", site = }\n",
            5,
        ),
    ];
    for (name, line, line_no) in cases {
        let err = load_error(name, &format!("{site}{line}"));
        assert!(
            err.contains(&format!("line {line_no}, column")),
            "{name}: names the line: {err}"
        );
        assert!(
            !err.contains("NjEyMzQ1Njc4OTAx"),
            "{name}: shows the secret: {err}"
        );
        assert!(
            err.contains("expected") || err.contains("invalid"),
            "{name}: says what is wrong: {err}"
        );
    }
}
