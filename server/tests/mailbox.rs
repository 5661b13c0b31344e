//! The development mailbox shows every reset and invitation link: even
//! when it is on, only an operator sees it; anyone else gets "not found".
mod common;
use common::*;
use reqwest::StatusCode;

#[tokio::test]
async fn the_mailbox_is_for_the_operator_only() {
    let app = TestApp::spawn().await; // mailbox on
    app.signup_verified("agent@exemple.fr", "Paul", "Agent")
        .await;

    // Anonymous: the page and the server function do not exist.
    let visitor = app.client();
    let page = visitor
        .get(format!("{}/dev/mailbox", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    let html = page.text().await.unwrap();
    assert!(!html.contains("jeton="), "a link leaked to a visitor");
    assert!(html.contains("Page introuvable"));
    let (s, body) = app.call(&visitor, "dev_mailbox", &[("to", "")]).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");

    // Signed in but not an operator: the same.
    let agent = app.login("agent@exemple.fr").await;
    let page = agent
        .get(format!("{}/dev/mailbox", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(!page.text().await.unwrap().contains("jeton="));
    let (s, _) = app
        .call(&agent, "dev_mailbox", &[("to", "agent@exemple.fr")])
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The operator reads it.
    let operator = app.operator("olivia@exemple.fr").await;
    let page = operator
        .get(format!("{}/dev/mailbox?a=agent%40exemple.fr", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Validez votre adresse"));
    let (s, body) = app
        .call(&operator, "dev_mailbox", &[("to", "agent@exemple.fr")])
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(!body.as_array().unwrap().is_empty());
    drop(app);
}

#[tokio::test]
async fn the_end_to_end_server_may_open_it_to_anyone() {
    let app = TestApp::spawn_with(|s| s.app.dev_mailbox_public = true).await;
    app.signup_verified("agent@exemple.fr", "Paul", "Agent")
        .await;
    let visitor = app.client();
    let page = visitor
        .get(format!("{}/dev/mailbox", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let (s, _) = app.call(&visitor, "dev_mailbox", &[("to", "")]).await;
    assert_eq!(s, StatusCode::OK);
    drop(app);
}
