//! What may differ between docker's and rdock's answers to the same
//! command line and still be the same answer: IDs, times, sizes, scratch
//! paths, addresses, the program's own name, and the "Error response from
//! daemon: " prefix (rdock has no daemon). Everything else must match.

use regex_lite::Regex;
use std::sync::OnceLock;

struct Rules {
    rules: Vec<(Regex, &'static str)>,
}

fn rules() -> &'static Rules {
    static R: OnceLock<Rules> = OnceLock::new();
    R.get_or_init(|| {
        let r = |re: &str, to: &'static str| (Regex::new(re).expect("normalise regex"), to);
        Rules {
            rules: vec![
                r("Error response from daemon: ", ""),
                // The header of a container's resolv.conf names its maker.
                r("Docker Engine", "docker"),
                // The docker client's notice that the engine has no buildx
                // (it builds with the legacy builder): about the engine
                // this suite runs, not about the build.
                r(
                    r"(?m)^DEPRECATED: The legacy builder is deprecated[^\n]*\n( {12}[^\n]*\n)*\n?",
                    "",
                ),
                // The legacy builder's upload of the context to its
                // daemon (rdock has none to send it to).
                r(
                    r"(?m)^Sending build context to Docker daemon [^\n]*\n",
                    "",
                ),
                // The OCI runtime's own wording around a start failure: rdock
                // is the runtime, so only the cause is compared.
                r(
                    r"(failed to create task for container: )?(failed to create shim task: )?OCI runtime (create|exec) failed: (runc create failed: |exec failed: )?(unable to start container process: )?(error during container init: )?",
                    "",
                ),
                r(r"(?m): unknown(\r?)$", "$1"),
                r(": unknown: Are you trying", ": Are you trying"),
                // A taken host port: docker binds IPv6 too (rdock: issue
                // 25), and which family it reports is its map's order.
                r(r"Bind for (0\.0\.0\.0|::):(\d+) failed", "Bind for 0.0.0.0:$2 failed"),
                r(r"sha256:[0-9a-f]{64}", "sha256:<ID>"),
                r(r"\b[0-9a-f]{64}\b", "<ID>"),
                r(r"\b[0-9a-f]{12}\b", "<id>"),
                // RFC 3339 times (inspect, events) and Go's time.String().
                r(
                    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)",
                    "<time>",
                ),
                r(
                    r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d( [+-]\d{4} [A-Z]+)?",
                    "<time>",
                ),
                // The docker client's own log lines (logrus), e.g. when a
                // copy's tar stream is cut: noise about the client.
                r(r#"(?m)^time="<time>" level=\w+ msg=.*\n"#, ""),
                // docker's go-units HumanDuration, with and without "ago".
                r(
                    r"(Less than a second|About a minute|About an hour|\d+ (seconds|second|minutes|minute|hours|hour|days|day|weeks|months|years))( ago)?",
                    "<ago>",
                ),
                r(r"\b\d+(\.\d+)? ?(B|kB|KB|MB|MiB|GB|GiB|KiB)\b", "<size>"),
                r(r"\b(10|172)\.\d{1,3}\.\d{1,3}\.\d{1,3}\b", "<ip>"),
                r(r"\b02:42:[0-9a-f:]{11}\b", "<mac>"),
                r(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}", "<mac>"),
                // Table columns: widths follow the unnormalised values.
                r(r" {2,}", "   "),
                r(r"[ \t]+\n", "\n"),
            ],
        }
    })
}

/// `text` of one world, its own scratch dir and program name replaced by
/// the neutral ones, then the rules above.
pub fn normalise(text: &str, tmp: &str, program: &str) -> String {
    let mut s = text.replace(tmp, "$TMP");
    if program != "docker" {
        let name = Regex::new(&format!(r"\b{program}\b")).expect("program regex");
        s = name.replace_all(&s, "docker").into_owned();
    }
    for (re, to) in &rules().rules {
        s = re.replace_all(&s, *to).into_owned();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn ids_times_and_names_normalise() {
        let d = normalise(
            "Error response from daemon: No such container: 0123456789ab\n",
            "/t/d",
            "docker",
        );
        let r = normalise("No such container: ba9876543210\n", "/t/r", "rdock");
        assert_eq!(d, r);
        assert_eq!(
            normalise("rdock: x. See 'rdock run --help'.", "/t", "rdock"),
            "docker: x. See 'docker run --help'."
        );
        assert_eq!(normalise("Up 3 seconds", "/t", "docker"), "Up <ago>");
        assert_eq!(normalise("/t/r/x", "/t/r", "rdock"), "$TMP/x");
    }
}
