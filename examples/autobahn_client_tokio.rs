//! The Autobahn|Testsuite client agent on `wsmachine::tokio`: runs every case of the fuzzing
//! server, echoing while each message is borrowed (`recv_with`), and asks for the report.
//! `autobahn_client` is the same agent on the blocking driver.
//!
//! ```sh
//! cargo build --release --features tokio --examples
//! ../shared/autobahn/run-client-tests.sh "$PWD/target/release/examples/autobahn_client_tokio"
//! ```
//!
//! Reads `AUTOBAHN_URL` (default `ws://127.0.0.1:9001`) and `AUTOBAHN_AGENT` (default
//! `wsmachine-tokio`).

#[path = "support/client_checks.rs"]
mod client_checks;
#[path = "support/echo.rs"]
mod echo;

use wsmachine::driver::OwnedMessage;

async fn case_count(url: &str) -> Result<u32, String> {
    let target = format!("{url}/getCaseCount");
    let mut ws = client_checks::connect_tokio(&target, echo::echo_config()).await?;
    let count = match ws.recv_owned().await.map_err(|e| e.to_string())? {
        Some(OwnedMessage::Text(t)) => t
            .trim()
            .parse()
            .map_err(|_| format!("bad case count {t:?}"))?,
        other => return Err(format!("expected the case count, got {other:?}")),
    };
    while let Ok(Some(_)) = ws.recv_owned().await {}
    Ok(count)
}

async fn run_case(url: &str, case: u32, agent: &str) -> Result<(), String> {
    let target = format!("{url}/runCase?case={case}&agent={agent}");
    let ws = client_checks::connect_tokio(&target, echo::echo_config()).await?;
    // Echo until the server closes; a failed case ends in an error, which the report shows.
    echo::echo_open(ws).await;
    Ok(())
}

async fn update_reports(url: &str, agent: &str) -> Result<(), String> {
    let target = format!("{url}/updateReports?agent={agent}");
    let mut ws = client_checks::connect_tokio(&target, echo::echo_config()).await?;
    while ws.recv_owned().await.map_err(|e| e.to_string())?.is_some() {}
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let url = std::env::var("AUTOBAHN_URL").unwrap_or_else(|_| "ws://127.0.0.1:9001".into());
    let agent = std::env::var("AUTOBAHN_AGENT").unwrap_or_else(|_| "wsmachine-tokio".into());
    let count = match case_count(&url).await {
        Ok(n) => n,
        Err(e) => {
            eprintln!("autobahn_client_tokio: {e}");
            std::process::exit(1);
        }
    };
    println!("running {count} cases against {url} as {agent}");
    for case in 1..=count {
        if let Err(e) = run_case(&url, case, &agent).await {
            eprintln!("case {case}: {e}");
        }
    }
    if let Err(e) = update_reports(&url, &agent).await {
        eprintln!("autobahn_client_tokio: updating reports: {e}");
        std::process::exit(1);
    }
    println!("done");
}
