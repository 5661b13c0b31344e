//! WASM entry point: hydrates the server-rendered page.
#![recursion_limit = "256"]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // No panic hook: the browser's build aborts on panic at once
    // (-Cpanic=immediate-abort, .cargo/config.toml), with no message to
    // print; the browser's console shows the trap ("unreachable").
    // Every screen is a lazy route (its own WebAssembly chunk): hydration
    // waits for the chunk of the page shown, then marks the body, which
    // end-to-end tests wait for before they click.
    let _ = any_spawner::Executor::init_wasm_bindgen();
    leptos::task::spawn_local(async {
        let body = leptos::tachys::dom::body();
        let owner = leptos::mount::hydrate_from_async(body.clone(), app::App).await;
        owner.forget();
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
