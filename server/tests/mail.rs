//! The outbox reaches a real SMTP server (a minimal one on loopback).
mod common;
use common::*;
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Accepts SMTP sessions and records each message's DATA.
async fn smtp_catcher() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    tokio::spawn(async move {
        loop {
            let (sock, _) = listener.accept().await.unwrap();
            let sink = sink.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 test ESMTP\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(buf) = data.as_mut() {
                        if line == "." {
                            sink.lock().unwrap().push(data.take().unwrap());
                            w.write_all(b"250 OK queued\r\n").await.unwrap();
                        } else {
                            buf.push_str(&line);
                            buf.push('\n');
                        }
                        continue;
                    }
                    let cmd = line.to_ascii_uppercase();
                    let reply: &[u8] = if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                        b"250 test\r\n"
                    } else if cmd.starts_with("DATA") {
                        data = Some(String::new());
                        b"354 go ahead\r\n"
                    } else if cmd.starts_with("QUIT") {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        break;
                    } else {
                        b"250 OK\r\n"
                    };
                    w.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, got)
}

#[tokio::test]
async fn queued_mail_is_delivered_over_smtp_and_marked_sent() {
    let app = TestApp::spawn().await;
    let c = app.client();
    app.call(
        &c,
        "signup",
        &signup_form("jeanne@exemple.fr", "Jeanne", "Martin"),
    )
    .await;
    assert_eq!(
        app.count("select count(*) from outbox where sent_at is null")
            .await,
        1
    );

    let (port, got) = smtp_catcher().await;
    let transport =
        AsyncSmtpTransport::<Tokio1Executor>::from_url(&format!("smtp://127.0.0.1:{port}"))
            .unwrap()
            .build();
    let n =
        server::mailer::deliver_batch(&app.pool, &transport, "Habilitations <no-reply@test.local>")
            .await
            .unwrap();
    assert_eq!(n, 1);
    let messages = got.lock().unwrap().clone();
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].contains("To: jeanne@exemple.fr"),
        "{}",
        messages[0]
    );
    assert!(
        messages[0].contains("compte/verifier?jeton="),
        "{}",
        messages[0]
    );
    assert_eq!(
        app.count("select count(*) from outbox where sent_at is not null")
            .await,
        1
    );
    // Nothing left to send.
    assert_eq!(
        server::mailer::deliver_batch(&app.pool, &transport, "x@test.local")
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn an_unreachable_smtp_server_keeps_the_mail_for_a_retry() {
    let app = TestApp::spawn().await;
    app.call(
        &app.client(),
        "signup",
        &signup_form("jeanne@exemple.fr", "Jeanne", "Martin"),
    )
    .await;
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let transport =
        AsyncSmtpTransport::<Tokio1Executor>::from_url(&format!("smtp://127.0.0.1:{port}"))
            .unwrap()
            .build();
    server::mailer::deliver_batch(&app.pool, &transport, "Habilitations <no-reply@test.local>")
        .await
        .unwrap();
    assert_eq!(app.count("select count(*) from outbox where sent_at is null and attempts = 1 and last_error is not null").await, 1);
}
