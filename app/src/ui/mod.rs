//! Shared DSFR form pieces: labelled fields with their error, alerts.
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// The error of the last submission of an action, if any.
pub fn action_error<S>(action: ServerAction<S>) -> Signal<Option<AppError>>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(|r| r.err()))
}

/// True once the last submission succeeded.
pub fn action_ok<S>(action: ServerAction<S>) -> Signal<bool>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Signal::derive(move || matches!(action.value().get(), Some(Ok(_))))
}

/// The text of field `name` of a submitted form ("" when absent).
pub fn form_text(data: &web_sys::FormData, name: &str) -> String {
    data.get(name).as_string().unwrap_or_default()
}

/// A form that calls a server function, as leptos' `ActionForm` does, with
/// the same markup (without the WASM the browser posts it to the function's
/// URL and comes back), but whose arguments `args` builds from the form's
/// fields instead of serde_qs parsing them: the forms every first load
/// hydrates (the header's, Connexion) keep that parser, and its 35 KB,
/// out of the main WebAssembly module.
#[component]
pub fn PostForm<S, F>(
    action: ServerAction<S>,
    args: F,
    #[prop(optional)] class: Option<&'static str>,
    children: Children,
) -> impl IntoView
where
    S: ServerFn + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
    F: Fn(&web_sys::FormData) -> S + Copy + Send + Sync + 'static,
{
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        // Leptos' own reading of the form (with the submitter's name=value).
        if let Ok(data) = leptos::form::form_data_from_event(&ev) {
            action.dispatch(args(&data));
        }
    };
    view! {
        <form action=S::url() method="post" class=class on:submit=on_submit>
            {children()}
        </form>
    }
}

#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] required: bool,
    #[prop(optional, into)] value: Option<String>,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    let id = format!("champ-{name}");
    let err_id = format!("champ-{name}-erreur");
    let msg = Memo::new(move |_| error.get().and_then(|e| e.field(name)));
    let described = {
        let err_id = err_id.clone();
        move || msg.get().map(|_| err_id.clone())
    };
    view! {
        <div class="fr-input-group" class:fr-input-group--error=move || msg.get().is_some()>
            <label class="fr-label" for=id.clone()>
                {label}
                {hint.map(|h| view! { " " <span class="fr-hint-text">{h}</span> })}
            </label>
            <input
                class="fr-input"
                class:fr-input--error=move || msg.get().is_some()
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                required=required
                value=value
                aria-invalid=move || msg.get().map(|_| "true")
                aria-describedby=described
            />
            {move || msg.get().map(|m| view! { <p id=err_id.clone() class="fr-error-text">{m}</p> })}
        </div>
    }
}

/// A form-level error (not tied to a field), announced to screen readers.
#[component]
pub fn FormAlert(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error.get().and_then(|e| e.general()).map(|m| {
            view! {
                <div class="fr-alert fr-alert--error fr-alert--sm fr-mb-3w" role="alert">
                    <p>{m}</p>
                </div>
            }
        })
    }
}

#[component]
pub fn Success(children: Children) -> impl IntoView {
    view! {
        <div class="fr-alert fr-alert--success fr-alert--sm fr-mb-3w" role="status">
            <p>{children()}</p>
        </div>
    }
}

/// A DSFR table (1.15 markup) whose rows scroll sideways inside their own
/// container when wider than the page, never the page itself. The
/// container is focusable and named, so keyboards can scroll it.
#[component]
pub fn ScrollTable(
    /// The name of the scrolling region (the table's caption).
    label: &'static str,
    #[prop(optional)] class: &'static str,
    children: Children,
) -> impl IntoView {
    view! {
        <div class=format!("fr-table {class}")>
            <div class="fr-table__wrapper">
                <div class="fr-table__container" tabindex="0" role="region" aria-label=label>
                    <div class="fr-table__content">{children()}</div>
                </div>
            </div>
        </div>
    }
}

/// Renders a page's resource error as a DSFR alert.
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    let login = matches!(error, AppError::Unauthenticated);
    view! {
        <div class="fr-alert fr-alert--error fr-mb-3w" role="alert">
            <p>{error.to_string()}</p>
            {login.then(|| view! { <p><a href="/connexion">"Se connecter"</a></p> })}
        </div>
    }
}

pub fn loading() -> impl IntoView {
    view! { <p class="fr-text--sm" aria-busy="true">"Chargement…"</p> }
}

/// A French date from an ISO one (2026-11-25 → 25/11/2026).
pub fn date_fr(d: &chrono::NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// Percent-encodes a query-string value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A DSFR radio group; `selected` is the value checked at first.
#[component]
pub fn RadioGroup(
    name: &'static str,
    legend: &'static str,
    options: &'static [(&'static str, &'static str)],
    #[prop(into)] selected: String,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    let msg = Memo::new(move |_| error.get().and_then(|e| e.field(name)));
    let legend_id = format!("{name}-legend");
    let labelled_by = legend_id.clone();
    view! {
        <fieldset class="fr-fieldset" class:fr-fieldset--error=move || msg.get().is_some()
            id=format!("champ-{name}") aria-labelledby=labelled_by>
            <legend class="fr-fieldset__legend fr-fieldset__legend--regular" id=legend_id>{legend}</legend>
            {options.iter().map(|(value, label)| {
                let id = format!("{name}-{value}");
                view! {
                    <div class="fr-fieldset__element fr-fieldset__element--inline">
                        <div class="fr-radio-group">
                            <input type="radio" id=id.clone() name=name value=*value checked=selected == *value/>
                            <label class="fr-label" for=id>{*label}</label>
                        </div>
                    </div>
                }
            }).collect::<Vec<_>>()}
            {move || msg.get().map(|m| view! { <div class="fr-messages-group"><p class="fr-message fr-message--error">{m}</p></div> })}
        </fieldset>
    }
}

/// "?k=v&…" from the non-empty values, percent-encoded ("" when none):
/// links that keep a list's filters (next page, export).
pub fn query_string(pairs: &[(&str, String)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// A numeric route parameter (0 when absent or malformed).
pub fn id_param(name: &'static str) -> impl Fn() -> i64 + Copy {
    let params = leptos_router::hooks::use_params_map();
    move || {
        params
            .get()
            .get(name)
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    }
}

/// One filter of a list's search form (a GET form), inline.
#[component]
pub fn FilterField(
    id: &'static str,
    name: &'static str,
    label: &'static str,
    value: String,
) -> impl IntoView {
    view! {
        <div class="fr-fieldset__element fr-fieldset__element--inline filtres__champ">
            <div class="fr-input-group">
                <label class="fr-label" for=id>{label}</label>
                <input class="fr-input" type="search" id=id name=name value=value/>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_string_skips_empty_values_and_encodes() {
        let qs = super::query_string(&[
            ("q", "Dupont & fils".into()),
            ("role", String::new()),
            ("apres", "[\"a\",1]".into()),
        ]);
        assert_eq!(qs, "?q=Dupont%20%26%20fils&apres=%5B%22a%22%2C1%5D");
        assert_eq!(super::query_string(&[("q", String::new())]), "");
    }
}
