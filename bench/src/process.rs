//! The systems under test as child processes (eddy, moto_server, the stub endpoint),
//! how long each takes to come up, and what each uses: resident memory from
//! `/proc/<pid>/status`, CPU time from `/proc/<pid>/stat`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A field of `/proc/<pid>/status` in KiB (`VmRSS`, `VmHWM`).
pub fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    parse_status_kib(&text, field).with_context(|| format!("{path} has no {field}"))
}

fn parse_status_kib(text: &str, field: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

/// User plus system CPU seconds a process has used (all its threads).
pub fn cpu_seconds(pid: &str) -> anyhow::Result<f64> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    // Fields after the command name, which is in parentheses and may hold spaces;
    // utime and stime are fields 14 and 15 (1-based), in clock ticks of 1/100 s.
    let after = text
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .with_context(|| format!("{path} is malformed"))?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |index: usize| -> anyhow::Result<f64> {
        fields
            .get(index)
            .and_then(|f| f.parse::<f64>().ok())
            .with_context(|| format!("{path} is malformed"))
    };
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

/// CPU used by a process and by this load generator over a stretch of wall time.
pub struct CpuMeter {
    server_pid: String,
    server_start: f64,
    own_start: f64,
    wall_start: Instant,
}

/// Cores used (CPU seconds per wall second) over a measured stretch.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUse {
    pub server_cores: f64,
    pub loadgen_cores: f64,
    pub wall: Duration,
}

impl CpuUse {
    /// `CPU: <server> 1.20 cores, load generator 0.60 cores`.
    pub fn summary(&self, server: &str) -> String {
        format!(
            "CPU: {server} {:.2} cores, load generator {:.2} cores",
            self.server_cores, self.loadgen_cores
        )
    }
}

impl CpuMeter {
    pub fn start(server_pid: u32) -> anyhow::Result<Self> {
        let server_pid = server_pid.to_string();
        Ok(Self {
            server_start: cpu_seconds(&server_pid)?,
            own_start: cpu_seconds("self")?,
            server_pid,
            wall_start: Instant::now(),
        })
    }

    pub fn stop(&self) -> anyhow::Result<CpuUse> {
        let wall = self.wall_start.elapsed();
        let seconds = wall.as_secs_f64().max(1e-9);
        Ok(CpuUse {
            server_cores: (cpu_seconds(&self.server_pid)? - self.server_start) / seconds,
            loadgen_cores: (cpu_seconds("self")? - self.own_start) / seconds,
            wall,
        })
    }
}

/// A child process, killed when dropped. Its scratch directory stays until the whole
/// run's directory is removed: deleting tens of thousands of files between workloads
/// would slow the next one's file creation (ext4 skips recently freed inodes for
/// minutes).
pub struct Server {
    pub name: &'static str,
    pub child: Child,
    pub base_url: String,
    /// From spawn to ready (eddy: its ready line; others: first HTTP answer).
    pub startup: Duration,
    pub log: PathBuf,
    scratch: Option<PathBuf>,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn rss_mib(&self) -> anyhow::Result<f64> {
        Ok(status_kib(self.pid(), "VmRSS")? as f64 / 1024.0)
    }

    pub fn peak_rss_mib(&self) -> anyhow::Result<f64> {
        Ok(status_kib(self.pid(), "VmHWM")? as f64 / 1024.0)
    }

    /// The scratch directory (eddy's data dir lives inside it).
    pub fn scratch(&self) -> Option<&Path> {
        self.scratch.as_deref()
    }

    /// Stops the process (SIGKILL: the benchmark has no use for a clean shutdown).
    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `eddy up` on a free loopback port with a fresh data directory under
/// `work_dir`, and waits for its ready line.
pub fn start_eddy(binary: &Path, work_dir: &Path, config_toml: &str) -> anyhow::Result<Server> {
    let scratch = tempfile::Builder::new()
        .prefix("eddy-")
        .tempdir_in(work_dir)
        .with_context(|| format!("cannot create a scratch dir in {}", work_dir.display()))?
        .keep();
    let data_dir = scratch.join("data");
    let config = scratch.join("eddy.toml");
    std::fs::write(&config, config_toml)?;
    let log = scratch.join("eddy.log");
    let log_file = std::fs::File::create(&log)?;
    let started = Instant::now();
    let mut child = Command::new(binary)
        .args(["up", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data_dir)
        .arg("--config")
        .arg(&config)
        .env("EDDY_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_file))
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let stdout = child.stdout.take().context("eddy's stdout is not piped")?;
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let startup = started.elapsed();
    let Some(base_url) = parse_ready_line(&line) else {
        let _ = child.kill();
        let _ = child.wait();
        let log_text = std::fs::read_to_string(&log).unwrap_or_default();
        bail!("eddy did not print its ready line (got {line:?}); its log:\n{log_text}");
    };
    // Keep draining stdout so that eddy never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = reader.read_to_end(&mut sink);
    });
    Ok(Server {
        name: "eddy",
        child,
        base_url,
        startup,
        log,
        scratch: Some(scratch),
    })
}

/// The endpoint in eddy's ready line, `eddy ready on http://IP:PORT (...)`.
pub fn parse_ready_line(line: &str) -> Option<String> {
    line.strip_prefix("eddy ready on ")?
        .split_whitespace()
        .next()
        .filter(|url| url.starts_with("http://"))
        .map(|url| url.trim_end_matches('/').to_owned())
}

/// A free loopback port (bound, then released for the child to take).
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Starts `moto_server -H 127.0.0.1 -p PORT` and waits until it answers HTTP.
pub fn start_moto(command: &str, work_dir: &Path) -> anyhow::Result<Server> {
    let scratch = tempfile::Builder::new()
        .prefix("moto-")
        .tempdir_in(work_dir)?
        .keep();
    let port = free_port()?;
    let log = scratch.join("moto.log");
    let log_file = std::fs::File::create(&log)?;
    let started = Instant::now();
    let child = Command::new(command)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        // moto keeps large objects in temporary files: keep them on the benchmark disk.
        .env("TMPDIR", &scratch)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log_file.try_clone()?))
        .stderr(Stdio::from(log_file))
        .spawn()
        .with_context(|| format!("cannot start {command}"))?;
    let mut server = Server {
        name: "moto",
        child,
        base_url: format!("http://127.0.0.1:{port}"),
        startup: Duration::ZERO,
        log,
        scratch: Some(scratch),
    };
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    wait_for_http(&mut server, address, Duration::from_secs(60))?;
    server.startup = started.elapsed();
    Ok(server)
}

/// Starts this binary's trivial endpoint (`eddy-bench stub-server`).
pub fn start_stub() -> anyhow::Result<Server> {
    let binary = std::env::current_exe().context("cannot find this benchmark's binary")?;
    let started = Instant::now();
    let mut child = Command::new(binary)
        .arg("stub-server")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start the stub server")?;
    let stdout = child.stdout.take().context("stub stdout is not piped")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let base_url = line
        .strip_prefix("stub ready on ")
        .map(|url| url.trim().to_owned())
        .with_context(|| format!("the stub server did not start: {line:?}"))?;
    Ok(Server {
        name: "stub",
        child,
        base_url,
        startup: started.elapsed(),
        log: PathBuf::new(),
        scratch: None,
    })
}

fn wait_for_http(server: &mut Server, address: SocketAddr, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = server.child.try_wait()? {
            let log_text = std::fs::read_to_string(&server.log).unwrap_or_default();
            bail!(
                "{} exited with {status} before answering; its log:\n{log_text}",
                server.name
            );
        }
        if answers_http(address) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{} did not answer HTTP within {limit:?}", server.name);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn answers_http(address: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if stream
        .write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_ready_line() {
        let line = "eddy ready on http://127.0.0.1:41234 (data in /tmp/x; source bucket source)\n";
        assert_eq!(
            parse_ready_line(line).as_deref(),
            Some("http://127.0.0.1:41234")
        );
        assert_eq!(parse_ready_line("something else\n"), None);
    }

    #[test]
    fn reads_status_fields() {
        let status = "Name:\teddy\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(parse_status_kib(status, "VmRSS"), Some(10240));
        assert_eq!(parse_status_kib(status, "VmHWM"), Some(20480));
        assert_eq!(parse_status_kib(status, "VmSwap"), None);
    }

    #[test]
    fn reads_own_cpu_time() {
        assert!(cpu_seconds("self").expect("own /proc stat") >= 0.0);
    }
}
