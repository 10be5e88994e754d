//! What the report says about the machine and the software measured.

/// The workspace's `Cargo.lock`, read at build time for the versions of the crates measured.
const CARGO_LOCK: &str = include_str!("../../../Cargo.lock");

/// The crates whose versions the report lists.
pub const CRATES: [&str; 5] = ["weft", "diamond-types", "loro", "yrs", "automerge"];

/// Machine and software facts for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// CPU model name from `/proc/cpuinfo`.
    pub cpu: String,
    /// Logical cores available to this process.
    pub cores: usize,
    /// Operating system name and kernel release.
    pub os: String,
    /// `rustc --version` of the compiler that built the report.
    pub rustc: String,
    /// (crate, version) of every crate in [`CRATES`], from `Cargo.lock`.
    pub crates: Vec<(String, String)>,
}

impl Machine {
    /// Reads the facts of the machine this runs on.
    pub fn detect() -> Self {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let cpu = read("/proc/cpuinfo")
            .lines()
            .find_map(|l| {
                let (key, value) = l.split_once(':')?;
                (key.trim() == "model name").then(|| value.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".into());
        let os_name = read("/etc/os-release")
            .lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME="))
            .map(|v| v.trim_matches('"').to_owned())
            .unwrap_or_else(|| std::env::consts::OS.to_owned());
        let kernel = read("/proc/sys/kernel/osrelease").trim().to_owned();
        let os = if kernel.is_empty() {
            os_name
        } else {
            format!("{os_name}, Linux {kernel}")
        };
        Self {
            cpu,
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            os,
            rustc: env!("WEFT_BENCH_RUSTC").to_owned(),
            crates: CRATES
                .iter()
                .map(|c| {
                    let v = locked_version(CARGO_LOCK, c).unwrap_or_else(|| "?".into());
                    ((*c).to_owned(), v)
                })
                .collect(),
        }
    }
}

/// The version `Cargo.lock` (text `lock`) pins for package `name` (the first, if several).
pub fn locked_version(lock: &str, name: &str) -> Option<String> {
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == format!("name = \"{name}\"") {
            let version = lines.next()?.trim().strip_prefix("version = \"")?;
            return Some(version.trim_end_matches('"').to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_versions_from_the_lock_file() {
        let lock = "[[package]]\nname = \"yrs\"\nversion = \"0.28.1\"\nsource = \"x\"\n";
        assert_eq!(locked_version(lock, "yrs").as_deref(), Some("0.28.1"));
        assert_eq!(locked_version(lock, "loro"), None);
        let machine = Machine::detect();
        assert!(machine.cores >= 1);
        assert!(machine.rustc.starts_with("rustc"), "{}", machine.rustc);
        assert!(
            machine.crates.iter().all(|(_, v)| v != "?"),
            "{:?}",
            machine.crates
        );
    }
}
