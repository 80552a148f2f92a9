//! The chat client's conversation on the terminal: lines typed (or given with `--send`)
//! go out with their newline; what the server says is printed on its own line with a
//! fresh prompt after it; the server's FIN or RST is told the moment it arrives. One
//! loop takes both the keyboard's lines and the server's news from one channel, so
//! neither waits for the other.

use super::client::{ChatClient, FromServer};
use std::io::{self, BufRead, Write};
use std::sync::mpsc;
use std::thread;

const PROMPT: &str = "message (`exit` to quit): ";
/// Said the moment the server's FIN arrives before ours.
pub const SERVER_CLOSED: &str = "the server closed the connection (FIN)";
/// The error when the server resets the connection (the exit code is then 1).
pub const SERVER_RESET: &str = "the connection was reset by the server (RST)";

/// Where the conversation is shown: replies on `out`, the prompt on `prompt` (a
/// terminal's prompt is rubbed out before a reply is printed under it).
pub struct Console<O, P> {
    pub out: O,
    pub prompt: P,
    pub prompt_is_terminal: bool,
}

/// What the client says, and how it ends.
pub enum Script<I> {
    /// Lines typed on `input`, until `exit` or its end.
    Typed(I),
    /// These messages, one line each, then the end.
    Given(Vec<Vec<u8>>),
}

enum Event {
    Typed(Vec<u8>),
    InputEnd,
    Server(FromServer),
}

/// Plays the conversation to its end: closes with FIN (or RST when `abort`) after the
/// last line, and waits for the server's FIN. A reset by the server, at any point, is
/// the error [`SERVER_RESET`].
pub fn converse<O: Write, P: Write, I: BufRead + Send + 'static>(
    mut client: ChatClient,
    script: Script<I>,
    abort: bool,
    console: &mut Console<O, P>,
) -> io::Result<()> {
    let (tx, rx) = mpsc::channel();
    let server_tx = tx.clone();
    client.hear(move |heard| server_tx.send(Event::Server(heard)).is_ok())?;
    let mut prompting = false;
    match script {
        Script::Given(messages) => {
            for message in &messages {
                client.send_line(message).map_err(send_failed)?;
            }
            // Nothing more to say: the close starts at once.
            let _ = tx.send(Event::InputEnd);
        }
        Script::Typed(input) => {
            read_lines(input, tx);
            console.show_prompt()?;
            prompting = true;
        }
    }
    let mut closed_ours = false;
    for event in rx {
        let typed_exit = matches!(&event, Event::Typed(line) if line.trim_ascii() == b"exit");
        match event {
            Event::Typed(_) | Event::InputEnd if closed_ours => {}
            Event::Typed(line) if !typed_exit => {
                client.send_line(&line).map_err(send_failed)?;
                console.show_prompt()?;
            }
            // `exit`, or the end of the input: our close starts.
            Event::Typed(_) | Event::InputEnd => {
                if prompting && !typed_exit {
                    // The input ended after a prompt, with no newline typed.
                    writeln!(console.prompt)?;
                }
                if abort {
                    return client.abort();
                }
                client.finish_sending()?;
                closed_ours = true;
                prompting = false;
            }
            Event::Server(FromServer::Data(bytes)) => console.show_reply(&bytes, prompting)?,
            Event::Server(FromServer::Closed) => {
                if !closed_ours {
                    console.say(SERVER_CLOSED, prompting)?;
                    // Answer with our FIN, so that the wave completes.
                    let _ = client.finish_sending();
                }
                return Ok(());
            }
            Event::Server(FromServer::Reset) => {
                if prompting {
                    console.leave_prompt()?;
                }
                return Err(io::Error::other(SERVER_RESET));
            }
            Event::Server(FromServer::Failed(e)) => return Err(e),
        }
    }
    Ok(())
}

/// A failed send means the server is gone: a reset (or a broken pipe, which follows
/// one) says so as a reset; anything else as itself. Never a broken pipe, which the
/// program would take for a reader that went away and exit quietly.
fn send_failed(e: io::Error) -> io::Error {
    match e.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => io::Error::other(SERVER_RESET),
        _ => io::Error::other(format!("cannot send: {e}")),
    }
}

/// Reads `input` line by line, as bytes (any bytes: binary input is sent as it is),
/// from a thread of its own; ends with [`Event::InputEnd`].
fn read_lines(mut input: impl BufRead + Send + 'static, tx: mpsc::Sender<Event>) {
    thread::spawn(move || {
        loop {
            let mut line = Vec::new();
            match input.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(Event::InputEnd);
                    return;
                }
                Ok(_) => {
                    if tx.send(Event::Typed(line)).is_err() {
                        return;
                    }
                }
            }
        }
    });
}

impl<O: Write, P: Write> Console<O, P> {
    fn show_prompt(&mut self) -> io::Result<()> {
        write!(self.prompt, "{PROMPT}")?;
        self.prompt.flush()
    }

    /// Ends the prompt's line, so that what follows starts on a line of its own: on a
    /// terminal by rubbing the prompt out (it comes back below), elsewhere with a newline.
    fn leave_prompt(&mut self) -> io::Result<()> {
        if self.prompt_is_terminal {
            // Our own control sequence (carriage return, erase line), not the peer's.
            write!(self.prompt, "\r\x1b[K")?;
        } else {
            writeln!(self.prompt)?;
        }
        self.prompt.flush()
    }

    /// Each line of `bytes` as `server: …`, escaped, then the prompt again.
    fn show_reply(&mut self, bytes: &[u8], prompting: bool) -> io::Result<()> {
        if prompting {
            self.leave_prompt()?;
        }
        for line in super::message_lines(bytes) {
            writeln!(self.out, "server: {line}")?;
        }
        self.out.flush()?;
        if prompting {
            self.show_prompt()?;
        }
        Ok(())
    }

    fn say(&mut self, what: &str, prompting: bool) -> io::Result<()> {
        if prompting {
            self.leave_prompt()?;
        }
        writeln!(self.out, "{what}")?;
        self.out.flush()
    }
}
