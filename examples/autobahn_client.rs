//! The Autobahn|Testsuite client agent: runs every case of the fuzzing server, echoing, and
//! asks for the report.
//!
//! ```sh
//! ../shared/autobahn/run-client-tests.sh 'target/release/examples/autobahn_client'
//! ```
//!
//! Reads `AUTOBAHN_URL` (default `ws://127.0.0.1:9001`) and `AUTOBAHN_AGENT` (default
//! `wsmachine`).

use std::time::Duration;

use wsmachine::OwnedEvent;

#[path = "support/clock.rs"]
mod clock;
#[path = "support/echo.rs"]
mod echo;
#[path = "support/std_client.rs"]
mod std_client;
#[path = "support/std_io.rs"]
mod std_io;

use std_client::StdClient;

const TIMEOUT: Duration = Duration::from_secs(60);

fn case_count(url: &str) -> Result<u32, String> {
    let mut client =
        StdClient::connect(&format!("{url}/getCaseCount"), echo::echo_config(), TIMEOUT)?;
    loop {
        match client.next_event(TIMEOUT)? {
            OwnedEvent::Text(t) => {
                let count = t
                    .trim()
                    .parse()
                    .map_err(|_| format!("bad case count {t:?}"))?;
                let _ = client.finish();
                return Ok(count);
            }
            OwnedEvent::Closed(c) => return Err(format!("closed before the count: {c:?}")),
            _ => {}
        }
    }
}

fn run_case(url: &str, case: u32, agent: &str) -> Result<(), String> {
    let target = format!("{url}/runCase?case={case}&agent={agent}");
    let mut client = StdClient::connect(&target, echo::echo_config(), TIMEOUT)?;
    client.transport.idle_timeout = Some(TIMEOUT);
    std_io::echo_loop(&mut client.conn, &mut client.transport).map_err(|e| e.to_string())?;
    Ok(())
}

fn update_reports(url: &str, agent: &str) -> Result<(), String> {
    let target = format!("{url}/updateReports?agent={agent}");
    let mut client = StdClient::connect(&target, echo::echo_config(), TIMEOUT)?;
    while !client.conn.is_closed() {
        client.next_event(TIMEOUT)?;
    }
    client.finish()
}

fn main() {
    let url = std::env::var("AUTOBAHN_URL").unwrap_or_else(|_| "ws://127.0.0.1:9001".into());
    let agent = std::env::var("AUTOBAHN_AGENT").unwrap_or_else(|_| "wsmachine".into());
    let count = match case_count(&url) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("autobahn_client: {e}");
            std::process::exit(1);
        }
    };
    println!("running {count} cases against {url} as {agent}");
    for case in 1..=count {
        if let Err(e) = run_case(&url, case, &agent) {
            eprintln!("case {case}: {e}");
        }
    }
    if let Err(e) = update_reports(&url, &agent) {
        eprintln!("autobahn_client: updating reports: {e}");
        std::process::exit(1);
    }
    println!("done");
}
