//! The web page (`--html`, `--serve`) in a real browser: Debian's headless Chromium,
//! driven through chromedriver's WebDriver protocol (plain HTTP and JSON, spoken with
//! `ureq`). Every wait is on a condition in the page or the server, never a bare sleep.
//!
//! `make setup` installs chromium and chromium-driver; without them these tests fail,
//! saying so. They run where `make setup` can install them: Debian and Ubuntu.
#![cfg(target_os = "linux")]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TCPLAB: &str = env!("CARGO_BIN_EXE_tcplab");
/// The key WebDriver gives an element reference under.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port").local_addr().expect("address").port()
}

/// Polls `check` every 50 ms until it gives a value, or fails after `within`, saying `what`.
fn wait_for<T>(what: &str, within: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(start.elapsed() < within, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A child process killed when the test is done with it.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One headless Chromium, with a fresh profile, driven through chromedriver.
struct Browser {
    base: String,
    _driver: Running,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Browser {
        let found = Command::new("chromedriver").arg("--version").output().is_ok_and(|o| o.status.success());
        assert!(
            found,
            "chromedriver is not installed: run `make setup` (apt-get install chromium chromium-driver)"
        );
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Running(driver);
        let base = format!("http://127.0.0.1:{port}");
        wait_for("chromedriver to listen", Duration::from_secs(20), || {
            let status: Value = ureq::get(&format!("{base}/status")).call().ok()?.into_json().ok()?;
            status["value"]["ready"].as_bool().filter(|&ready| ready)
        });
        let profile = tempfile::tempdir().expect("profile directory");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1400,1000",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args},
        }}});
        let session: Value = ureq::post(&format!("{base}/session"))
            .send_json(caps)
            .expect("a browser session")
            .into_json()
            .expect("session JSON");
        let id = session["value"]["sessionId"].as_str().expect("session id").to_string();
        Browser { base: format!("{base}/session/{id}"), _driver: driver, _profile: profile }
    }

    fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        match ureq::post(&format!("{}{path}", self.base)).send_json(body) {
            Ok(r) => Ok(r.into_json::<Value>().map_err(|e| e.to_string())?["value"].take()),
            Err(ureq::Error::Status(_, r)) => Err(r.into_string().unwrap_or_default()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn get(&self, path: &str) -> Result<Value, String> {
        match ureq::get(&format!("{}{path}", self.base)).call() {
            Ok(r) => Ok(r.into_json::<Value>().map_err(|e| e.to_string())?["value"].take()),
            Err(ureq::Error::Status(_, r)) => Err(r.into_string().unwrap_or_default()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn open(&self, url: &str) {
        self.post("/url", json!({ "url": url })).expect("navigate");
        wait_for("the page to be ready", Duration::from_secs(20), || {
            (self.js("return document.body && document.body.dataset.ready === 'yes'") == json!(true))
                .then_some(())
        });
    }

    /// Runs `script` in the page and gives its return value.
    fn js(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": [] })).expect("script runs")
    }

    fn text(&self, css: &str) -> String {
        let script = format!("const e = document.querySelector({css:?}); return e ? e.textContent : null;");
        self.js(&script).as_str().unwrap_or_default().to_string()
    }

    fn count(&self, css: &str) -> u64 {
        self.js(&format!("return document.querySelectorAll({css:?}).length;")).as_u64().unwrap_or(0)
    }

    /// Waits until `script` returns true.
    fn until(&self, what: &str, script: &str) {
        wait_for(what, Duration::from_secs(20), || (self.js(script) == json!(true)).then_some(()));
    }

    /// Presses a key as a user does (WebDriver's key codes: \u{E014} is →).
    fn press(&self, key: &str) {
        let actions = json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
            {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]}]});
        self.post("/actions", actions).expect("key press");
    }

    /// Clicks the first element matching `css`, as a mouse does.
    fn click(&self, css: &str) {
        let found =
            self.post("/element", json!({"using": "css selector", "value": css})).expect("element found");
        let id =
            found[ELEMENT].as_str().unwrap_or_else(|| panic!("element reference in {found}")).to_string();
        self.post(&format!("/element/{id}/click"), json!({})).expect("click");
    }

    /// With `TCPLAB_SCREENSHOTS=DIR` set, saves what the browser shows as `DIR/NAME.png`
    /// (to look at before calling a view done; the README's picture is one of them).
    fn screenshot(&self, name: &str) {
        let Some(dir) = std::env::var_os("TCPLAB_SCREENSHOTS") else { return };
        let png = self.get("/screenshot").expect("screenshot");
        let bytes = base64_decode(png.as_str().expect("base64 PNG"));
        std::fs::write(Path::new(&dir).join(format!("{name}.png")), bytes).expect("write the screenshot");
    }

    /// The text of an open alert, if a script managed to open one.
    fn alert(&self) -> Option<String> {
        self.get("/alert/text").ok().map(|v| v.to_string())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = ureq::delete(&self.base).call();
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sextets: Vec<u32> =
        text.bytes().filter_map(|b| ABC.iter().position(|&a| a == b).map(|p| p as u32)).collect();
    let mut out = Vec::with_capacity(sextets.len() * 3 / 4);
    for chunk in sextets.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &s)| n | s << (18 - 6 * i));
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

fn html_of(capture: &Path, dir: &Path) -> PathBuf {
    let out = dir.join("page.html");
    let status = Command::new(TCPLAB)
        .arg("replay")
        .arg(capture)
        .arg("--html")
        .arg(&out)
        .env("LC_ALL", "C")
        .stdout(Stdio::null())
        .status()
        .expect("run tcplab");
    assert!(status.success());
    out
}

/// Shown rows: how many arrows the ladder draws.
const ARROWS: &str = "#ladder g.arrow";

#[test]
fn the_html_file_steps_through_the_handshake_offline() {
    let dir = tempfile::tempdir().unwrap();
    let page = html_of(&root().join("captures/handshake.pcap"), dir.path());
    let browser = Browser::start();
    browser.open(&format!("file://{}", page.display()));
    // Nothing drawn until asked; the lanes and both initial states are there.
    assert_eq!(browser.count(ARROWS), 0);
    let initial: Vec<String> = serde_json::from_value(
        browser
            .js("return [...document.querySelectorAll('#ladder .state-initial')].map(e => e.textContent);"),
    )
    .unwrap();
    assert_eq!(initial, ["CLOSED", "LISTEN"]);

    // → twice: the SYN, then the SYN-ACK, each finishing its journey.
    browser.press("\u{E014}");
    browser.until("the SYN to arrive", "return document.querySelectorAll('#ladder .state').length === 2;");
    assert_eq!(browser.text("#step-name"), "handshake 1/3");
    assert_eq!(browser.text("#ladder g.arrow .textbook"), "SYN=1 seq=x");
    browser.press("\u{E014}");
    browser.until(
        "the SYN-ACK to arrive",
        "return [...document.querySelectorAll('#ladder .state')].some(e => e.textContent === 'ESTABLISHED');",
    );
    assert_eq!(browser.count(ARROWS), 2);
    assert_eq!(browser.text("#step-name"), "handshake 2/3");
    assert!(browser.text("#step-explain").contains("ISN y"));

    // ← goes back one segment.
    browser.press("\u{E012}");
    browser.until("one arrow again", "return document.querySelectorAll('#ladder g.arrow').length === 1;");
    assert_eq!(browser.text("#step-name"), "handshake 1/3");

    // Clicking the SYN opens its header with tshark's numbers (see the test below).
    browser.click("#ladder g.arrow[data-frame='1']");
    browser.until("the header panel", "return !document.getElementById('header-panel').hidden;");
    let seq = browser.text("#header-fields tr[data-field='seq'] td");
    let win = browser.text("#header-fields tr[data-field='win'] td");
    let (raw_seq, raw_win) = tshark_seq_window(&root().join("captures/handshake.pcap"), 1);
    assert!(seq.contains(&raw_seq), "seq {seq:?} shows tshark's raw {raw_seq}");
    assert_eq!(win, raw_win);
    // Figure 1's rows in bytes: the SYN's 40-byte header, its sequence number in bytes
    // 4-7, and its options decoded.
    assert_eq!(browser.count("#header-bytes td.byte[data-field]"), 40);
    let seq_bytes = browser
        .js("return [...document.querySelectorAll('#header-bytes td[data-field=seq]')].map(e => e.textContent).join('');");
    assert_eq!(seq_bytes.as_str().unwrap(), format!("{:08x}", raw_seq.parse::<u32>().unwrap()));
    let options = browser.text("#header-fields tr[data-field='options'] td");
    assert!(options.starts_with("MSS 65495, SACK_PERM, TS val"), "{options}");

    // The Chinese switch: the catalogue's step names.
    browser.click("#lang");
    browser.until("Chinese", "return document.documentElement.lang === 'zh-CN';");
    assert!(browser.text("#step-name").contains("次握手"));
    // The whole figure, as `#step=end` opens it: the three-way handshake's last step.
    browser.open(&format!("file://{}#step=end&lang=zh", page.display()));
    let rows: String =
        browser.js("return document.getElementById('ladder').textContent;").as_str().unwrap().into();
    assert!(rows.contains("第三次握手") && rows.contains("TIME-WAIT"), "{rows}");
    assert_eq!(browser.count("#ladder rect.time-wait"), 1, "TIME-WAIT is a bar on the client's lane");
    browser.screenshot("replay-zh");
    browser.open(&format!("file://{}#step=end&lang=en", page.display()));
    browser.screenshot("replay-en");
}

/// tshark's raw sequence number and window of one frame.
fn tshark_seq_window(capture: &Path, frame: u64) -> (String, String) {
    let out = Command::new("tshark")
        .args(["-o", "tcp.relative_sequence_numbers:FALSE", "-r"])
        .arg(capture)
        .args([
            "-Y",
            &format!("frame.number == {frame}"),
            "-T",
            "fields",
            "-e",
            "tcp.seq",
            "-e",
            "tcp.window_size_value",
        ])
        .output()
        .expect("tshark is installed by make setup");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut fields = text.trim().split('\t').map(str::to_string);
    (fields.next().unwrap(), fields.next().unwrap())
}

/// A capture whose payload and file name try to become markup and terminal commands.
fn hostile_capture(dir: &Path) -> PathBuf {
    use etherparse::PacketBuilder;
    use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
    let path = dir.join("<img src=x onerror=alert(2)>\u{1b}[31m.pcap");
    let file = std::fs::File::create(&path).unwrap();
    let mut writer = PcapWriter::with_header(file, PcapHeader::default()).unwrap();
    let payload = b"</script><img src=x onerror=alert(1)>\x1b]0;owned\x07\x1b[2J";
    let (c, s) = ([127, 0, 0, 1], [127, 0, 0, 2]);
    let segments: [(bool, u32, u32, u8, &[u8]); 4] = [
        (true, 1000, 0, 0b0000_0010, b""),
        (false, 5000, 1001, 0b0001_0010, b""),
        (true, 1001, 5001, 0b0001_0000, b""),
        (true, 1001, 5001, 0b0001_1000, payload),
    ];
    for (n, (from_client, seq, ack, flags, data)) in segments.into_iter().enumerate() {
        let (src, dst, sport, dport) = if from_client { (c, s, 40000, 8080) } else { (s, c, 8080, 40000) };
        let mut tcp =
            PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4(src, dst, 64).tcp(sport, dport, seq, 64240);
        if flags & 0x02 != 0 {
            tcp = tcp.syn();
        }
        if flags & 0x10 != 0 {
            tcp = tcp.ack(ack);
        }
        if flags & 0x08 != 0 {
            tcp = tcp.psh();
        }
        let mut bytes = Vec::new();
        tcp.write(&mut bytes, data).unwrap();
        let packet = PcapPacket::new(Duration::from_millis(n as u64), bytes.len() as u32, &bytes);
        writer.write_packet(&packet).unwrap();
    }
    path
}

#[test]
fn a_hostile_payload_and_file_name_stay_text() {
    let dir = tempfile::tempdir().unwrap();
    let page = html_of(&hostile_capture(dir.path()), dir.path());
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains("<img src=x"), "no markup from the capture reaches the file");
    assert!(!html.contains('\u{1b}'), "no terminal escapes either");
    let browser = Browser::start();
    browser.open(&format!("file://{}#step=end", page.display()));
    assert_eq!(browser.count(ARROWS), 4);
    assert_eq!(browser.count("img"), 0, "no element was made from the capture");
    assert_eq!(browser.alert(), None, "no dialog opened");
    // The file name is shown, as text.
    assert!(browser.text("#title").contains("<img src=x onerror=alert(2)>"), "{}", browser.text("#title"));
}

/// A capture of `n` connections, each one SYN from its own port.
fn many_connections(dir: &Path, n: u16) -> PathBuf {
    use etherparse::PacketBuilder;
    use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
    let path = dir.join("many.pcap");
    let file = std::fs::File::create(&path).unwrap();
    let mut writer = PcapWriter::with_header(file, PcapHeader::default()).unwrap();
    for i in 0..n {
        let tcp = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 2], 64)
            .tcp(20000 + i, 8080, 1000, 64240)
            .syn();
        let mut bytes = Vec::new();
        tcp.write(&mut bytes, &[]).unwrap();
        let packet = PcapPacket::new(Duration::from_millis(u64::from(i)), bytes.len() as u32, &bytes);
        writer.write_packet(&packet).unwrap();
    }
    path
}

#[test]
fn the_picker_lists_the_newest_200_connections_and_counts_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let page = html_of(&many_connections(dir.path(), 250), dir.path());
    let browser = Browser::start();
    browser.open(&format!("file://{}", page.display()));
    assert_eq!(browser.count("#conn option:not(:disabled)"), 200);
    assert_eq!(browser.text("#conn option.earlier"), "+50 earlier, not listed");
    // The first connection stays listed while it is shown; the next 50 went.
    assert_eq!(
        browser.js("return document.getElementById('conn').options[1].textContent.split(' ')[0];"),
        json!("[0]")
    );
    assert_eq!(
        browser.js("return document.getElementById('conn').options[2].textContent.split(' ')[0];"),
        json!("[51]")
    );
    // One not listed is still reached by its address.
    browser.open(&format!("file://{}#conn=10&step=end", page.display()));
    browser.until(
        "connection 10",
        "return document.getElementById('status').textContent.startsWith('segment 1 of 1');",
    );
    assert!(browser.text("#ladder").contains(":20010"), "{}", browser.text("#ladder"));
}

/// Sends one raw HTTP request and gives the status line.
fn status_of(port: u16, request: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap();
    line.trim_end().to_string()
}

/// `tcplab ARGS --serve=127.0.0.1:PORT`, until it prints the page's URL.
fn serving(args: &[&str]) -> (Running, u16, String) {
    let port = free_port();
    let mut child = Command::new(TCPLAB)
        .args(args)
        .arg(format!("--serve=127.0.0.1:{port}"))
        .env("LC_ALL", "C")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tcplab");
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let url = wait_for("the page's URL on stderr", Duration::from_secs(30), || {
        let mut line = String::new();
        if err.read_line(&mut line).ok()? == 0 {
            panic!("tcplab ended before serving");
        }
        line.split("the page is at ").nth(1).map(|u| u.trim().to_string())
    });
    // The rest of stderr is drained so the child never blocks on it.
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    (Running(child), port, url)
}

#[test]
fn the_server_answers_only_get_from_this_machine() {
    let (_tcplab, port, _) = serving(&["replay", root().join("captures/handshake.pcap").to_str().unwrap()]);
    let ok =
        status_of(port, &format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"));
    assert!(ok.ends_with("200 OK"), "{ok}");
    let foreign = status_of(port, "GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n");
    assert!(foreign.contains(" 400 "), "{foreign}");
    let post = status_of(
        port,
        &format!(
            "POST /events HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!(post.contains(" 405 "), "{post}");
    // The security headers, on the page itself.
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let head = answer.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
    for header in [
        "content-security-policy: default-src 'none'; script-src 'self'",
        "x-content-type-options: nosniff",
        "referrer-policy: no-referrer",
        "cache-control: no-store",
    ] {
        assert!(head.contains(header), "{header} missing in {head}");
    }
}

/// The first message of the event stream, after `last` (`Last-Event-ID`): its id and
/// its data lines.
fn first_message(port: u16, last: Option<usize>) -> (usize, Vec<String>) {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let resume = last.map(|n| format!("Last-Event-ID: {n}\r\n")).unwrap_or_default();
    write!(&stream, "GET /events HTTP/1.1\r\nHost: localhost\r\n{resume}\r\n").unwrap();
    let mut lines = BufReader::new(stream).lines().map(Result::unwrap);
    // Past the headers, then one message up to its blank line.
    lines.by_ref().take_while(|l| !l.is_empty()).for_each(drop);
    let (mut id, mut data) = (0, Vec::new());
    for line in lines.take_while(|l| !l.is_empty()) {
        if let Some(n) = line.strip_prefix("id: ") {
            id = n.parse().unwrap();
        } else if let Some(d) = line.strip_prefix("data: ") {
            data.push(d.to_string());
        }
    }
    (id, data)
}

#[test]
fn a_page_that_comes_back_gets_only_what_it_missed() {
    let (_tcplab, port, _) = serving(&["replay", root().join("captures/handshake.pcap").to_str().unwrap()]);
    // The replay may still be publishing: wait until the stream holds its closing line.
    let (all, lines) = wait_for("the whole replay", Duration::from_secs(20), || {
        let (id, lines) = first_message(port, None);
        lines.last().is_some_and(|l| l.contains("\"capture\"")).then_some((id, lines))
    });
    assert_eq!(all, lines.len(), "the id counts the lines sent");
    let (id, rest) = first_message(port, Some(5));
    assert_eq!(id, all);
    assert_eq!(rest, lines[5..], "resumed after line 5, nothing twice");
}

#[test]
fn a_second_server_on_a_busy_port_says_which_option_to_change() {
    let (_tcplab, port, _) = serving(&["replay", root().join("captures/handshake.pcap").to_str().unwrap()]);
    let out = Command::new(TCPLAB)
        .args(["replay", root().join("captures/handshake.pcap").to_str().unwrap()])
        .arg(format!("--serve=127.0.0.1:{port}"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--serve=ADDR:PORT"), "{err}");
}

#[test]
fn a_page_that_opens_late_sees_the_whole_replay_and_steps_through_it() {
    let (_tcplab, _, url) = serving(&["replay", root().join("captures/handshake.pcap").to_str().unwrap()]);
    let browser = Browser::start();
    browser.open(&format!("{url}#speed=4"));
    // Live pages play by themselves; the whole connection arrives and is drawn in turn.
    browser
        .until("all 13 segments", "return document.getElementById('status').textContent.includes('of 13');");
    browser.press("\u{E00D}"); // space: pause
    browser.until("paused", "return document.getElementById('play').textContent.includes('play');");
    // Step to the end by keys, each arrow landing before the next: every arrow and the
    // final states.
    wait_for("13 arrows", Duration::from_secs(60), || {
        browser.until("the arrow to land", "return document.body.dataset.moving === 'no';");
        if browser.count(ARROWS) == 13 {
            return Some(());
        }
        browser.press("\u{E014}");
        None
    });
    browser.until(
        "the last states",
        "return [...document.querySelectorAll('#ladder .state')].map(e => e.textContent).includes('LAST-ACK');",
    );
    assert_eq!(browser.count("#ladder rect.time-wait"), 1);
}

/// Whether this process may capture on loopback (as CI, root).
fn may_capture() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn a_page_on_a_live_demo_sees_the_handshake_and_the_wave() {
    if !may_capture() {
        eprintln!("skipped: the live demo needs root to capture here");
        return;
    }
    let (_tcplab, _, url) = serving(&["demo"]);
    let browser = Browser::start();
    browser.open(&format!("{url}#speed=4"));
    browser.until(
        "the handshake's arrows",
        "return [...document.querySelectorAll('#ladder .textbook')].some(e => e.textContent === 'SYN=1 seq=x');",
    );
    browser.screenshot("live-handshake");
    browser.until(
        "the wave, to the end",
        "return [...document.querySelectorAll('#ladder .state')].some(e => e.textContent === 'TIME-WAIT');",
    );
    browser.screenshot("live-wave");
    assert_eq!(browser.alert(), None);
}

#[test]
fn the_kernels_changes_are_marked_on_the_lanes() {
    if !may_capture() {
        eprintln!("skipped: the lab's kernel view needs root here");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("kernel.html");
    let out = Command::new(TCPLAB)
        .args(["lab", "handshake", "--kernel", "--html"])
        .arg(&page)
        .env("LC_ALL", "C")
        .output()
        .expect("run tcplab");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let browser = Browser::start();
    // After the third ACK: Linux's listener child reports SYN-RECEIVED only now (tcplab
    // showed it from the SYN on), then ESTABLISHED; the side panel says why.
    browser.open(&format!("file://{}#step=3", page.display()));
    let server = browser.text("#ladder .kernel-mark[data-side='server']");
    assert!(server.contains("SYN-RECEIVED*") && server.contains("ESTABLISHED"), "{server}");
    assert_eq!(browser.count("#ladder .kernel-to[data-differs='request_socket']"), 1);
    let notes = browser.text("#step-notes");
    assert!(notes.contains("kernel: server LISTEN → SYN-RECEIVED"), "{notes}");
    assert!(notes.contains("request socket"), "{notes}");
    // The whole connection: the server's CLOSE-WAIT as the FIN arrives, the client's
    // full socket closing as its TIME-WAIT begins, each on its own lane.
    browser.open(&format!("file://{}#step=end", page.display()));
    let marks: Vec<String> = serde_json::from_value(browser.js(
        "return [...document.querySelectorAll('#ladder .kernel-mark')].map(e => e.dataset.side + ' ' + e.textContent);",
    ))
    .unwrap();
    assert!(marks.iter().any(|m| m == "server ⚙ CLOSE-WAIT"), "{marks:?}");
    assert!(marks.iter().any(|m| m == "client ⚙ CLOSED*"), "{marks:?}");
    assert!(
        marks.iter().any(|m| m == "client ⚙ SYN-SENT"),
        "the connect, before the first segment: {marks:?}"
    );
    browser.open(&format!("file://{}#step=3&lang=zh", page.display()));
    assert!(
        browser.text("#step-notes").contains("内核：服务器 LISTEN → SYN-RECEIVED"),
        "{}",
        browser.text("#step-notes")
    );
    browser.open(&format!("file://{}#step=end", page.display()));
    browser.screenshot("kernel-marks");
}

/// The processes whose parent is `pid`, with the `Uid:` and `CapEff:` lines of each.
fn children_of(pid: u32) -> Vec<(u32, String, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else { continue };
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        if field("PPid:") == pid.to_string() {
            found.push((child, field("Uid:"), field("CapEff:")));
        }
    }
    found
}

#[test]
fn the_page_server_holds_no_rights_and_ends_with_tcplab() {
    if !may_capture() {
        eprintln!("skipped: this checks what a server started as root gives up");
        return;
    }
    for args in [vec!["replay", "captures/handshake.pcap"], vec!["demo"]] {
        let (mut tcplab, port, _) = serving(&args);
        let pid = tcplab.0.id();
        let servers = children_of(pid);
        assert_eq!(servers.len(), 1, "one server process for {args:?}: {servers:?}");
        let (server, uid, caps) = servers[0].clone();
        // Started as root (no sudo here): the server is nobody, with no capability.
        assert!(uid.split_whitespace().all(|id| id != "0"), "{args:?}: the server runs as {uid}");
        assert_eq!(caps, "0000000000000000", "{args:?}: the server keeps capabilities");
        assert!(status_of(port, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").contains("200"));
        // tcplab killed outright: the server sees its pipe close and ends too.
        tcplab.0.kill().unwrap();
        tcplab.0.wait().unwrap();
        // Ended: gone, or a zombie waiting for whoever adopted it to reap it.
        wait_for("the server to end", Duration::from_secs(10), || {
            let status = std::fs::read_to_string(format!("/proc/{server}/status")).unwrap_or_default();
            (status.is_empty() || status.contains("State:\tZ")).then_some(())
        });
    }
}

#[test]
fn expert_notes_are_told_in_sentences_with_their_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let page = html_of(&root().join("captures/lossy.pcap"), dir.path());
    let browser = Browser::start();
    let notes_at = |step: u32| -> Vec<String> {
        browser.open(&format!("file://{}#step={step}", page.display()));
        serde_json::from_value(
            browser.js("return [...document.querySelectorAll('#step-notes li')].map(e => e.textContent);"),
        )
        .unwrap()
    };
    // Frame 20, the first duplicate ACK of frame 19; frame 24, the fast retransmission
    // of frame 8 (told once: the plain `retransmission` note is not repeated).
    let dup = notes_at(20);
    assert!(dup.len() == 1 && dup[0].starts_with("Duplicate ACK #1 of frame 19:"), "{dup:?}");
    let fast = notes_at(24);
    assert!(fast.len() == 1 && fast[0].starts_with("Fast retransmission of frame 8:"), "{fast:?}");
    browser.open(&format!("file://{}#step=24&lang=zh", page.display()));
    assert!(
        !browser.text("#step-notes").contains('{'),
        "no placeholder is left: {}",
        browser.text("#step-notes")
    );
}

#[test]
fn an_html_file_of_a_big_capture_holds_its_first_thousand_connections_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let page = html_of(&many_connections(dir.path(), 1200), dir.path());
    let text = std::fs::read_to_string(&page).unwrap();
    assert_eq!(text.matches(r#"{"type":"segment""#).count(), 1000);
    let browser = Browser::start();
    browser.open(&format!("file://{}", page.display()));
    assert_eq!(browser.text("#conn option.earlier"), "+800 earlier, not listed");
    let status = browser.text("#status");
    assert!(status.contains("first 1000 of the capture's 1200 connections"), "{status}");
}

#[test]
fn a_reset_its_receiver_did_not_take_is_told_by_its_note_alone() {
    // Frame 6 is a RST inside the window but not at the next sequence number; the
    // server answers it with a challenge ACK (RFC 5961) and goes on. The step's words
    // for an abort would contradict the row, so only the note explains it.
    let dir = tempfile::tempdir().unwrap();
    let page = html_of(&root().join("tests/data/tracker/rst-challenge-ack.pcap"), dir.path());
    let browser = Browser::start();
    browser.open(&format!("file://{}#step=6", page.display()));
    assert_eq!(browser.text("#step-explain"), "", "no abort story for a RST that was not taken");
    assert!(!browser.text("#step-notes").is_empty());
    browser.open(&format!("file://{}#step=5", page.display()));
    assert!(!browser.text("#step-explain").is_empty(), "other steps keep their words");
}

#[test]
fn a_reset_from_a_closed_end_is_told_as_its_answer_not_an_abort() {
    // Frame 8 is the client's RST answering the server's data of frame 7: the client
    // had reset at frame 6 and has no connection. Only frame 6 is an abort.
    let dir = tempfile::tempdir().unwrap();
    let page = html_of(&root().join("tests/data/tracker/rst-exact-crossing-data.pcap"), dir.path());
    let browser = Browser::start();
    browser.open(&format!("file://{}#step=8", page.display()));
    assert_eq!(browser.text("#step-explain"), "", "no abort story for a RST that answers");
    let notes = browser.text("#step-notes");
    assert!(notes.contains("not an abort"), "{notes}");
    browser.open(&format!("file://{}#step=6", page.display()));
    assert!(browser.text("#step-explain").contains("aborts"), "the first RST is the abort");
}

#[test]
fn a_lane_that_a_reset_crossed_turns_closed_once_its_last_segment_has_left() {
    // The server's data of frames 7 and 9 left before the client's RST (frame 6) reached
    // it, and the server closes as that RST arrives, after frame 9. Its lane is not
    // CLOSED as frame 9 sets off: the change is drawn where the arrow lands.
    let dir = tempfile::tempdir().unwrap();
    let page = html_of(&root().join("tests/data/tracker/rst-exact-crossing-data.pcap"), dir.path());
    let browser = Browser::start();
    browser.open(&format!("file://{}#step=9", page.display()));
    let drawn = browser.js("const line = document.querySelector('#ladder g.arrow[data-frame=\"9\"] line');
         const closed = [...document.querySelectorAll('#ladder text.state[data-side=server]')]
           .filter(e => e.textContent === 'CLOSED').map(e => Number(e.getAttribute('y')));
         return { closed, start: Number(line.getAttribute('y1')), end: Number(line.getAttribute('y2')) };");
    let closed = drawn["closed"].as_array().expect("labels");
    assert_eq!(closed.len(), 1, "{drawn}");
    let (y, start, end) =
        (closed[0].as_f64().unwrap(), drawn["start"].as_f64().unwrap(), drawn["end"].as_f64().unwrap());
    assert!(start < end && y > end, "the server's CLOSED at y={y}, frame 9's arrow from y={start} to {end}");
}
