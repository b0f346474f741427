//! The Autobahn|Testsuite client agent on `wsmachine::blocking`: runs every case of the
//! fuzzing server, echoing, and asks for the report.
//!
//! ```sh
//! cargo build --release --features tokio --examples
//! ../shared/autobahn/run-client-tests.sh "$PWD/target/release/examples/autobahn_client"
//! ```
//!
//! Reads `AUTOBAHN_URL` (default `ws://127.0.0.1:9001`) and `AUTOBAHN_AGENT` (default
//! `wsmachine`).

#[path = "support/client_checks.rs"]
mod client_checks;
#[path = "support/echo.rs"]
mod echo;

use wsmachine::driver::OwnedMessage;

fn case_count(url: &str) -> Result<u32, String> {
    let mut ws =
        client_checks::connect_blocking(&format!("{url}/getCaseCount"), echo::echo_config())?;
    let count = match ws.recv_owned().map_err(|e| e.to_string())? {
        Some(OwnedMessage::Text(t)) => t
            .trim()
            .parse()
            .map_err(|_| format!("bad case count {t:?}"))?,
        other => return Err(format!("expected the case count, got {other:?}")),
    };
    while let Ok(Some(_)) = ws.recv_owned() {}
    Ok(count)
}

fn run_case(url: &str, case: u32, agent: &str) -> Result<(), String> {
    let target = format!("{url}/runCase?case={case}&agent={agent}");
    let mut ws = client_checks::connect_blocking(&target, echo::echo_config())?;
    // Echo until the server closes; a failed case ends in an error, which the report shows.
    while let Ok(Some(_)) = ws.recv_with(echo::echo) {}
    Ok(())
}

fn update_reports(url: &str, agent: &str) -> Result<(), String> {
    let target = format!("{url}/updateReports?agent={agent}");
    let mut ws = client_checks::connect_blocking(&target, echo::echo_config())?;
    while ws.recv_owned().map_err(|e| e.to_string())?.is_some() {}
    Ok(())
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
