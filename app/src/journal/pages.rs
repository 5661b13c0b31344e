//! Screens "Journal" of an organisation and of the whole platform.
use super::labels::ACTIONS;
use super::*;
use crate::error::AppError;
use crate::ui::{query_string, ScrollTable};
use leptos_router::components::{Form, A};
use leptos_router::hooks::{use_params_map, use_query_map};

/// `/structures/:org/journal`, for the organisation's managers.
#[component]
pub fn OrgJournalPage() -> impl IntoView {
    let params = use_params_map();
    // An unreadable id asks for organisation 0, which nobody manages.
    let org = Signal::derive(move || {
        Some(
            params
                .get()
                .get("org")
                .and_then(|s| s.parse::<i64>().ok())
                .unwrap_or(0),
        )
    });
    view! { <JournalScreen organisation=org/> }
}

/// `/operateur/journal`: every event, for the operator.
#[component]
pub fn OperatorJournalPage() -> impl IntoView {
    view! { <JournalScreen organisation=Signal::derive(|| None)/> }
}

const FILTERS: [&str; 5] = ["du", "au", "acteur", "action", "cible"];

#[component]
fn JournalScreen(organisation: Signal<Option<i64>>) -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &str| query.get().get(k).unwrap_or_default();
    let data = Resource::new(
        move || (organisation.get(), FILTERS.map(get), get("apres")),
        |(o, [du, au, acteur, action, cible], apres)| {
            list_journal(o, du, au, acteur, action, cible, apres)
        },
    );
    view! {
        <div class="fr-container fr-my-4w">
            <Suspense fallback=crate::ui::loading>
                {move || Suspend::new(async move {
                    let org = organisation.get();
                    let values = FILTERS.map(get);
                    let filters: Vec<(&str, String)> = FILTERS.into_iter().zip(values.clone()).collect();
                    let result = data.await;
                    let title = match (&result, org) {
                        (Ok(j), Some(_)) => j.organisation.clone().unwrap_or_default(),
                        (_, None) => "Toutes les structures".to_string(),
                        _ => String::new(),
                    };
                    let error = match &result {
                        Err(e @ AppError::Invalid(_)) => Some(e.clone()),
                        Err(e) => return view! { <h1>"Journal"</h1> <crate::ui::ErrorNotice error=e.clone()/> }.into_any(),
                        Ok(_) => None,
                    };
                    let export = format!(
                        "/exports/journal.csv{}",
                        query_string(&[&[("organisation", org.map(|o| o.to_string()).unwrap_or_default())][..], &filters].concat())
                    );
                    let reset = match org {
                        Some(o) => format!("/structures/{o}/journal"),
                        None => "/operateur/journal".to_string(),
                    };
                    view! {
                        <h1>"Journal"</h1>
                        <p class="fr-text--lead">{title}</p>
                        <p class="fr-text--sm">"Toutes les modifications, de la plus récente à la plus ancienne. Heures de Paris."</p>
                        <FilterForm values=values error=error reset=reset/>
                        {result.ok().map(|j| view! { <JournalTable journal=j global=org.is_none() filters=filters export=export/> })}
                    }.into_any()
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn FilterForm(values: [String; 5], error: Option<AppError>, reset: String) -> impl IntoView {
    let [du, au, acteur, action, cible] = values;
    let err = move |f: &str| error.as_ref().and_then(|e| e.field(f));
    let date = move |id: &'static str,
                     name: &'static str,
                     label: &'static str,
                     value: String,
                     msg: Option<String>| {
        let err_id = format!("{id}-erreur");
        let invalid = msg.is_some();
        let described = invalid.then(|| err_id.clone());
        view! {
            <div class="fr-col-12 fr-col-md-3 fr-col-lg-2">
                <div class="fr-input-group" class:fr-input-group--error=invalid>
                    <label class="fr-label" for=id>{label}</label>
                    <input class="fr-input" type="date" id=id name=name value=value
                        aria-invalid=invalid.then_some("true") aria-describedby=described/>
                    {msg.map(|m| view! { <p id=err_id class="fr-error-text">{m}</p> })}
                </div>
            </div>
        }
    };
    view! {
        <Form method="GET" action="">
            <fieldset class="fr-fieldset">
                <legend class="fr-fieldset__legend fr-text--regular">"Filtrer le journal"</legend>
                <div class="fr-grid-row fr-grid-row--gutters fr-col-12 filtres-alignes">
                    {date("filtre-du", "du", "Du", du, err("du"))}
                    {date("filtre-au", "au", "Au", au, err("au"))}
                    <div class="fr-col-12 fr-col-md-6 fr-col-lg-3">
                        <div class="fr-input-group">
                            <label class="fr-label" for="filtre-acteur">"Acteur" <span class="fr-hint-text">"Début du nom, du prénom ou de l'adresse"</span></label>
                            <input class="fr-input" type="search" id="filtre-acteur" name="acteur" value=acteur/>
                        </div>
                    </div>
                    <div class="fr-col-12 fr-col-md-6 fr-col-lg-3">
                        <div class="fr-select-group">
                            <label class="fr-label" for="filtre-action">"Action"</label>
                            <select class="fr-select" id="filtre-action" name="action">
                                <option value="" selected=action.is_empty()>"Toutes les actions"</option>
                                {ACTIONS.iter().map(|(code, label)| view! {
                                    <option value=*code selected=*code == action>{*label}</option>
                                }).collect::<Vec<_>>()}
                            </select>
                        </div>
                    </div>
                    <div class="fr-col-12 fr-col-md-6 fr-col-lg-2">
                        <div class="fr-input-group">
                            <label class="fr-label" for="filtre-cible">"Cible" <span class="fr-hint-text">"Début du nom, ou type"</span></label>
                            <input class="fr-input" type="search" id="filtre-cible" name="cible" value=cible/>
                        </div>
                    </div>
                </div>
                <div class="fr-col-12">
                    <ul class="fr-btns-group fr-btns-group--inline-md fr-mt-2w">
                        <li><button class="fr-btn" type="submit">"Filtrer"</button></li>
                        <li><a class="fr-btn fr-btn--tertiary" href=reset>"Effacer les filtres"</a></li>
                    </ul>
                </div>
            </fieldset>
        </Form>
    }
}

#[component]
fn JournalTable(
    journal: Journal,
    global: bool,
    filters: Vec<(&'static str, String)>,
    export: String,
) -> impl IntoView {
    let count = journal.rows.len();
    let next_href = journal.next.clone().map(|n| {
        let mut pairs = filters.clone();
        pairs.push(("apres", n));
        query_string(&pairs)
    });
    let summary = match (count, journal.next.is_some()) {
        (0, _) => "Aucun événement".to_string(),
        (1, false) => "1 événement".to_string(),
        (n, false) => format!("{n} événements"),
        (n, true) => format!("{n} événements sur cette page, d'autres sur les pages suivantes"),
    };
    view! {
        <div class="fr-grid-row fr-grid-row--middle fr-mb-2w">
            <p class="fr-text--bold fr-mb-0 fr-mr-3w" role="status">{summary}</p>
            <a class="fr-link fr-icon-download-line fr-link--icon-left" href=export download="" rel="external">
                "Exporter en CSV"
            </a>
        </div>
        <ScrollTable label="Journal des modifications" class="fr-table--multiline">
            <table>
                <caption>"Journal des modifications"</caption>
                <thead><tr>
                    <th scope="col">"Date"</th><th scope="col">"Acteur"</th>
                    {global.then(|| view! { <th scope="col">"Structure"</th> })}
                    <th scope="col">"Action"</th><th scope="col">"Cible"</th>
                    <th scope="col">"Modifications"</th><th scope="col">"Adresse IP"</th>
                </tr></thead>
                <tbody>
                    {journal.rows.into_iter().map(|r| view! {
                        <tr class="evenement">
                            <td>{r.date}</td>
                            <td>
                                {r.acteur}
                                {(!r.acteur_email.is_empty()).then(|| view! { <br/><span class="fr-text--xs">{r.acteur_email.clone()}</span> })}
                            </td>
                            {global.then(|| view! { <td>{r.structure.clone()}</td> })}
                            <td>{r.action}</td><td>{r.cible}</td>
                            <td>
                                <ul class="fr-raw-list">
                                    {r.changes.iter().map(|c| view! { <li>{c.line()}</li> }).collect::<Vec<_>>()}
                                </ul>
                            </td>
                            <td>{r.ip}</td>
                        </tr>
                    }).collect::<Vec<_>>()}
                </tbody>
            </table>
        </ScrollTable>
        {next_href.map(|h| view! { <A href=h attr:class="fr-btn fr-btn--secondary">"Page suivante"</A> })}
    }
}
