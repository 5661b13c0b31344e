//! Screen « Agents de l'opérateur » (CAF « Agents Caf »).
use super::*;
use crate::domain::AgentFields;
use crate::ui::{action_error, FilterField, FormAlert, ScrollTable, Success};
use leptos::form::ActionForm;
use leptos_router::components::{Form, A};
use leptos_router::hooks::use_query_map;

#[component]
pub fn StaffPage() -> impl IntoView {
    let query = use_query_map();
    let create = ServerAction::<CreateStaff>::new();
    let close = ServerAction::<CloseStaff>::new();
    let create_err = action_error(create);
    let close_err = action_error(close);
    let data = Resource::new(
        move || {
            let q = query.get();
            (
                q.get("q").unwrap_or_default(),
                q.get("apres")
                    .and_then(|a| a.parse::<i64>().ok())
                    .unwrap_or(0),
                create.version().get() + close.version().get(),
            )
        },
        |(q, after, _)| list_staff(q, after),
    );
    // The form is drawn again (empty) after each creation.
    let created = Memo::new(move |_| create.value().get().and_then(|r| r.ok()));
    view! {
        <div class="fr-container fr-my-4w">
            <p><A href="/operateur/structures">"Retour à l'administration des structures"</A></p>
            <h1>"Agents de l'opérateur"</h1>
            <p>"Les agents de l'opérateur administrent la plateforme : conventions, structures, administrateurs. Ils n'appartiennent à aucune structure."</p>
            <FormAlert error=close_err/>
            {move || matches!(close.value().get(), Some(Ok(_))).then(|| view! { <Success>"Le compte a été clôturé : ses sessions ont pris fin."</Success> })}
            <Form method="GET" action="">
                <fieldset class="fr-fieldset filtres" aria-labelledby="titre-filtres-agents">
                    <legend class="fr-fieldset__legend fr-text--regular" id="titre-filtres-agents">"Rechercher un agent"</legend>
                    <FilterField id="filtre-q" name="q" label="Identifiant, nom, prénom ou adresse" value=query.get_untracked().get("q").unwrap_or_default()/>
                    <div class="fr-fieldset__element fr-fieldset__element--inline filtres__bouton">
                        <button class="fr-btn" type="submit">"Filtrer"</button>
                    </div>
                </fieldset>
            </Form>
            <Suspense fallback=crate::ui::loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <crate::ui::ErrorNotice error=e/> }.into_any(),
                        Ok(page) => {
                            let next = page.next.map(|n| {
                                let q = query.get_untracked().get("q").unwrap_or_default();
                                crate::ui::query_string(&[("q", q), ("apres", n.to_string())])
                            });
                            view! {
                                <ScrollTable label="Agents de l'opérateur">
                                    <table>
                                        <caption>"Agents de l'opérateur"</caption>
                                        <thead><tr>
                                            <th scope="col">"Identifiant"</th><th scope="col">"Nom"</th><th scope="col">"Prénom"</th>
                                            <th scope="col">"Adresse mail"</th><th scope="col">"Statut"</th><th scope="col">"Actions"</th>
                                        </tr></thead>
                                        <tbody>
                                            {page.rows.into_iter().map(|r| view! { <StaffLine r close/> }).collect::<Vec<_>>()}
                                        </tbody>
                                    </table>
                                </ScrollTable>
                                {next.map(|h| view! { <A href=h attr:class="fr-btn fr-btn--secondary">"Page suivante"</A> })}
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
            <h2 class="fr-mt-4w" id="creer">"Créer un agent"</h2>
            // Done: what was sent, and no form left to submit twice.
            {move || match created.get() {
                Some(id) => view! {
                    <Success>{format!("Le compte {id} est créé : une invitation à choisir son mot de passe a été envoyée à son adresse.")}</Success>
                    <button type="button" class="fr-btn fr-btn--secondary" on:click=move |_| create.value().set(None)>"Créer un autre agent"</button>
                }.into_any(),
                None => view! {
                    <FormAlert error=create_err/>
                    <ActionForm action=create>
                        <crate::users::FicheFields f=AgentFields::default() error=create_err/>
                        <button type="submit" class="fr-btn">"Créer l'agent"</button>
                    </ActionForm>
                }.into_any(),
            }}
        </div>
    }
}

#[component]
fn StaffLine(r: StaffRow, close: ServerAction<CloseStaff>) -> impl IntoView {
    let confirming = RwSignal::new(false);
    let open = r.statut == "Ouvert";
    let who = format!("{} {}", r.prenom, r.nom);
    let period = if r.date_cloture.is_empty() {
        format!("depuis le {}", r.date_ouverture)
    } else {
        format!("du {} au {}", r.date_ouverture, r.date_cloture)
    };
    let closable = open && !r.me;
    let id = r.id;
    view! {
        <tr class="agent-operateur">
            <td>{r.identifier}</td><td>{r.nom}</td><td>{r.prenom}</td><td class="fr-cell--multiline">{r.email}</td>
            <td>
                <span class="fr-badge fr-badge--sm" class:fr-badge--success=open>{r.statut}</span>
                <br/><span class="fr-text--xs">{period}</span>
            </td>
            <td>
                {closable.then(|| {
                    let who2 = who.clone();
                    view! {
                        <button type="button" class="fr-btn fr-btn--sm fr-btn--tertiary" aria-label=format!("Clôturer le compte de {who}")
                            on:click=move |_| confirming.set(true)>"Clôturer"</button>
                        {move || confirming.get().then(|| view! {
                            <div class="fr-alert fr-alert--warning fr-alert--sm fr-mt-1w" role="alertdialog" aria-label=format!("Clôturer le compte de {who2}")>
                                <p>"Clôturer ce compte dès aujourd'hui ? La personne ne peut plus se connecter."</p>
                                <ActionForm action=close>
                                    <input type="hidden" name="user_id" value=id/>
                                    <ul class="fr-btns-group fr-btns-group--inline-sm fr-mt-1w">
                                        <li><button type="submit" class="fr-btn fr-btn--sm">"Oui, clôturer"</button></li>
                                        <li><button type="button" class="fr-btn fr-btn--sm fr-btn--secondary" on:click=move |_| confirming.set(false)>"Annuler"</button></li>
                                    </ul>
                                </ActionForm>
                            </div>
                        })}
                    }
                })}
            </td>
        </tr>
    }
}
