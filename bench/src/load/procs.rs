//! The servers under test as child processes: start, `kill -9`, restart on the same port, read
//! their memory from `/proc`, and always kill them when dropped (also on error or Ctrl-C).

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::Target;

/// A temporary directory removed when dropped.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    /// Creates a fresh directory under `parent` (the system's temporary directory by default).
    pub(crate) fn new(parent: Option<&Path>, label: &str) -> Result<Self, String> {
        let parent = parent.map_or_else(std::env::temp_dir, Path::to_path_buf);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = parent.join(format!("weft-load-{label}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        Ok(Self(dir))
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How to start a server.
#[derive(Clone, Debug)]
pub(crate) struct ServerSpec {
    /// Which server.
    pub(crate) target: Target,
    /// Its executable (`weft-server`, or y-websocket's `bin/server.cjs`).
    pub(crate) bin: PathBuf,
    /// Weft's data directory (unused by y-websocket, which keeps documents in memory).
    pub(crate) data_dir: PathBuf,
    /// Where its standard error goes.
    pub(crate) log: PathBuf,
}

/// A running server, killed when dropped.
pub(crate) struct Server {
    spec: ServerSpec,
    child: Option<Child>,
    addr: SocketAddr,
}

/// Memory figures of a process, in bytes, from `/proc/<pid>/status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Mem {
    /// Resident set size now (`VmRSS`).
    pub(crate) rss: u64,
    /// Peak resident set size (`VmHWM`).
    pub(crate) hwm: u64,
}

/// Reads `VmRSS` and `VmHWM` of process `pid` (`None` if it is gone).
pub(crate) fn mem_of(pid: u32) -> Option<Mem> {
    parse_status(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// Reads this process's memory.
pub(crate) fn own_mem() -> Option<Mem> {
    parse_status(&std::fs::read_to_string("/proc/self/status").ok()?)
}

fn parse_status(status: &str) -> Option<Mem> {
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line
            .get(name.len()..)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()?;
        Some(kb * 1024)
    };
    Some(Mem {
        rss: field("VmRSS:")?,
        hwm: field("VmHWM:").unwrap_or(0),
    })
}

/// CPU time (user + system) process `pid` has used so far.
pub(crate) fn cpu_of(pid: u32) -> Option<Duration> {
    parse_cpu(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// CPU time (user + system) this process has used so far.
pub(crate) fn own_cpu() -> Option<Duration> {
    parse_cpu(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

fn parse_cpu(stat: &str) -> Option<Duration> {
    // Fields after the command (which is in parentheses and may hold spaces): state is field 3,
    // utime and stime are fields 14 and 15, in clock ticks.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = u64::try_from(ticks).ok().filter(|t| *t > 0)?;
    Some(Duration::from_micros((utime + stime) * 1_000_000 / ticks))
}

/// Busy and total CPU time of the whole machine so far (all cores, from `/proc/stat`).
pub(crate) fn machine_cpu() -> Option<(Duration, Duration)> {
    parse_machine(&std::fs::read_to_string("/proc/stat").ok()?)
}

fn parse_machine(stat: &str) -> Option<(Duration, Duration)> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3)? + v.get(4).copied().unwrap_or(0);
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = u64::try_from(ticks).ok().filter(|t| *t > 0)?;
    let d = |t: u64| Duration::from_micros(t * 1_000_000 / ticks);
    Some((d(total - idle), d(total)))
}

/// A port on 127.0.0.1 that was free a moment ago (for y-websocket, which cannot report the
/// port it bound).
fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind 127.0.0.1:0: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("local address: {e}"))
}

/// Finds the address in `weft-server`'s startup line (`... listening on http://ADDR/`).
fn weft_addr(line: &str) -> Option<SocketAddr> {
    let rest = line.split("http://").nth(1)?;
    rest.trim_end().trim_end_matches('/').parse().ok()
}

impl Server {
    /// Starts the server. Weft binds port 0 (`bind` is `None`) or `bind`, and prints the bound
    /// address; y-websocket gets a free port through `PORT`. Returns once it accepts.
    pub(crate) fn start(spec: ServerSpec, bind: Option<SocketAddr>) -> Result<Self, String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log)
            .map_err(|e| format!("open {}: {e}", spec.log.display()))?;
        let mut cmd = Command::new(&spec.bin);
        let yws_addr = match spec.target {
            Target::Weft => {
                let bind = bind.map_or_else(|| "127.0.0.1:0".to_owned(), |a| a.to_string());
                cmd.arg("--bind")
                    .arg(bind)
                    .arg("--data-dir")
                    .arg(&spec.data_dir)
                    .env("RUST_LOG", "warn");
                None
            }
            Target::YWebsocket => {
                let addr = match bind {
                    Some(a) => a,
                    None => SocketAddr::from(([127, 0, 0, 1], free_port()?)),
                };
                cmd.env("HOST", addr.ip().to_string())
                    .env("PORT", addr.port().to_string());
                Some(addr)
            }
        };
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("start {}: {e}", spec.bin.display()))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("no stdout pipe".into());
        };
        // Read the startup line on a thread, then keep draining so the pipe never fills.
        let (tx, rx) = mpsc::channel();
        let target = spec.target;
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !sent {
                    let ready = match target {
                        Target::Weft => weft_addr(&line),
                        Target::YWebsocket => line
                            .contains("running at")
                            .then_some(SocketAddr::from(([127, 0, 0, 1], 0))),
                    };
                    if let Some(a) = ready {
                        sent = true;
                        let _ = tx.send(a);
                    }
                }
            }
        });
        let mut server = Self {
            spec,
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let announced = rx.recv_timeout(Duration::from_secs(20)).map_err(|_| {
            format!(
                "{} did not report that it listens within 20 s; its log: {}",
                server.spec.bin.display(),
                server.log_tail()
            )
        })?;
        server.addr = yws_addr.unwrap_or(announced);
        server.wait_accepting(Duration::from_secs(10))?;
        Ok(server)
    }

    fn wait_accepting(&mut self, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            if std::net::TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok()
            {
                return Ok(());
            }
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                return Err(format!("server exited ({status}): {}", self.log_tail()));
            }
            if Instant::now() > deadline {
                return Err(format!("server does not accept on {}", self.addr));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The address clients connect to.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The process id, while running.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The CPU time the server has used so far.
    pub(crate) fn cpu(&self) -> Option<Duration> {
        cpu_of(self.pid()?)
    }

    /// The server's memory now.
    pub(crate) fn mem(&self) -> Option<Mem> {
        mem_of(self.pid()?)
    }

    /// The server's scheduler statistics so far.
    pub(crate) fn sched(&self) -> Option<Sched> {
        sched_of(&self.pid()?.to_string())
    }

    /// Sends SIGKILL (`kill -9`) and reaps the process.
    pub(crate) fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same address, with the same data directory. The port may
    /// take a moment to become free.
    pub(crate) fn restart(&mut self) -> Result<(), String> {
        self.kill9();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match Self::start(self.spec.clone(), Some(self.addr)) {
                Ok(mut s) => {
                    self.child = s.child.take();
                    return Ok(());
                }
                Err(e) if Instant::now() > deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// The last lines of the server's log (for error messages).
    pub(crate) fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.spec.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines
            .get(lines.len().saturating_sub(8)..)
            .unwrap_or_default()
            .join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The open-files limits of this process (`RLIMIT_NOFILE`), after [`raise_nofile`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NoFile {
    /// The limit in force (child processes inherit it).
    pub(crate) soft: libc::rlim_t,
    /// How far an unprivileged process may raise it.
    pub(crate) hard: libc::rlim_t,
}

/// Raises this process's open-files limit to at least `want` (up to the hard limit, or beyond
/// it when the process may raise hard limits). Child processes inherit it, so the server gets it
/// too. Returns the limits now in force.
pub(crate) fn raise_nofile(want: u64) -> Result<NoFile, String> {
    let want = libc::rlim_t::try_from(want).unwrap_or(libc::rlim_t::MAX);
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable `rlimit`; getrlimit only writes into it.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(format!("getrlimit: {}", std::io::Error::last_os_error()));
    }
    let attempts = [
        // Privileged (CAP_SYS_RESOURCE): the hard limit may rise too.
        libc::rlimit {
            rlim_cur: want,
            rlim_max: lim.rlim_max.max(want),
        },
        // Unprivileged: the hard limit is as far as it goes.
        libc::rlimit {
            rlim_cur: lim.rlim_max.min(want),
            rlim_max: lim.rlim_max,
        },
    ];
    if lim.rlim_cur < want {
        for raised in attempts {
            // SAFETY: `raised` is a valid `rlimit`; setrlimit only reads it.
            if raised.rlim_cur > lim.rlim_cur
                && unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0
            {
                lim = raised;
                break;
            }
        }
    }
    Ok(NoFile {
        soft: lim.rlim_cur,
        hard: lim.rlim_max,
    })
}

/// Explains an open-files limit too low for `connections` (`None` when `limit.soft` is at least
/// `need`). Both this process and the server (which inherits the limit) hold one socket per
/// connection.
pub(crate) fn nofile_problem(
    limit: NoFile,
    need: libc::rlim_t,
    connections: usize,
) -> Option<String> {
    (limit.soft < need).then(|| {
        format!(
            "the open-files limit is {} (hard limit {}), too low for {connections} connections: \
             weft-load and the server it starts each hold one socket per connection, so each needs \
             at least {need} open files. Only root (CAP_SYS_RESOURCE) can raise the hard limit: \
             run `ulimit -n {need}` in the shell that starts weft-load (as root, or after raising \
             the hard limit in /etc/security/limits.conf or systemd's LimitNOFILE), then try again",
            limit.soft, limit.hard
        )
    })
}

/// CPU time a process's threads spent running, and runnable but waiting for a CPU (the
/// scheduler's run-queue delay), summed over its threads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Sched {
    /// Time on a CPU.
    pub(crate) run: Duration,
    /// Time runnable but waiting for a CPU.
    pub(crate) wait: Duration,
}

impl Sched {
    /// What was spent between `before` and `self`.
    pub(crate) fn since(self, before: Sched) -> Sched {
        Sched {
            run: self.run.saturating_sub(before.run),
            wait: self.wait.saturating_sub(before.wait),
        }
    }
}

/// Sums `/proc/<pid>/task/*/schedstat` for a process id, or `self` (`None` if the process is
/// gone or the kernel keeps no scheduler statistics). Threads that ended meanwhile drop out of the sum, so it may undercount.
pub(crate) fn sched_of(pid: &str) -> Option<Sched> {
    let mut total = Sched::default();
    let mut any = false;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        let Ok(text) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        if let Some(s) = parse_schedstat(&text) {
            total.run += s.run;
            total.wait += s.wait;
            any = true;
        }
    }
    any.then_some(total)
}

/// Parses one thread's `schedstat`: nanoseconds on the CPU, nanoseconds waiting on a run queue,
/// and the number of time slices.
fn parse_schedstat(text: &str) -> Option<Sched> {
    let mut fields = text.split_whitespace();
    let run: u64 = fields.next()?.parse().ok()?;
    let wait: u64 = fields.next()?.parse().ok()?;
    Some(Sched {
        run: Duration::from_nanos(run),
        wait: Duration::from_nanos(wait),
    })
}

/// Today's date in UTC as `YYYY-MM-DD`.
pub(crate) fn utc_date() -> String {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_status() {
        let s = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n";
        assert_eq!(
            parse_status(s),
            Some(Mem {
                rss: 1024 * 1024,
                hwm: 2048 * 1024
            })
        );
        assert_eq!(parse_status("Name: x\n"), None);
        assert!(own_mem().is_some_and(|m| m.rss > 0));
    }

    #[test]
    fn reads_proc_stat() {
        let stat = "42 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 300 200 0 0";
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        let want = Duration::from_micros(500 * 1_000_000 / u64::try_from(ticks).unwrap_or(100));
        assert_eq!(parse_cpu(stat), Some(want));
        assert!(own_cpu().is_some());
    }

    #[test]
    fn reads_machine_cpu() {
        let (busy, total) =
            parse_machine("cpu  10 0 10 70 10 0 0 0 0 0\ncpu0 1 2\n").unwrap_or_default();
        assert_eq!(busy * 5, total);
        assert!(machine_cpu().is_some());
    }

    #[test]
    fn reads_schedstat() {
        assert_eq!(
            parse_schedstat("2000 3000000 7\n"),
            Some(Sched {
                run: Duration::from_micros(2),
                wait: Duration::from_millis(3)
            })
        );
        assert_eq!(parse_schedstat("x"), None);
        let later = Sched {
            run: Duration::from_millis(5),
            wait: Duration::from_millis(1),
        };
        assert_eq!(
            later.since(Sched {
                run: Duration::from_millis(2),
                wait: Duration::from_millis(4),
            }),
            Sched {
                run: Duration::from_millis(3),
                wait: Duration::ZERO
            }
        );
    }

    #[test]
    fn explains_a_low_open_files_limit() {
        let low = NoFile {
            soft: 1024,
            hard: 4096,
        };
        let why = nofile_problem(low, 10_256, 10_000).unwrap_or_default();
        assert!(why.contains("1024 (hard limit 4096)"), "{why}");
        assert!(why.contains("ulimit -n 10256"), "{why}");
        assert_eq!(
            nofile_problem(
                NoFile {
                    soft: 20_000,
                    hard: 20_000
                },
                10_256,
                10_000
            ),
            None
        );
    }

    #[test]
    fn finds_the_weft_server_address() {
        assert_eq!(
            weft_addr("Weft server listening on http://127.0.0.1:40123/"),
            Some(SocketAddr::from(([127, 0, 0, 1], 40123)))
        );
        assert_eq!(weft_addr("something else"), None);
    }

    #[test]
    fn formats_dates() {
        let d = utc_date();
        assert_eq!(d.len(), 10);
        assert!(d.starts_with("20"));
    }
}
