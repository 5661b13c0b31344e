//! Operator screens: "Administration des structures" (search) and one
//! organisation's administration (primary manager, admins, their limit).
use super::*;
use crate::error::AppError;
use crate::ui::{action_error, action_ok, ErrorNotice, Field, FormAlert, ScrollTable, Success};
use leptos::form::ActionForm;
use leptos_router::components::{Form, A};
use leptos_router::hooks::{use_params_map, use_query_map};

/// A labelled select of people, with the error of its field beneath.
#[component]
pub fn PersonSelect(
    #[prop(into)] label: String,
    #[prop(into)] name: String,
    #[prop(into)] id: String,
    people: Vec<Member>,
    /// The first, empty choice.
    #[prop(default = "Choisissez une personne")]
    placeholder: &'static str,
    #[prop(default = None)] hint: Option<String>,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    let err_id = format!("{id}-erreur");
    let field = name.clone();
    let msg = Memo::new(move |_| error.get().and_then(|e| e.field(&field)));
    let described = {
        let err_id = err_id.clone();
        move || msg.get().map(|_| err_id.clone())
    };
    view! {
        <div class="fr-select-group" class:fr-select-group--error=move || msg.get().is_some()>
            <label class="fr-label" for=id.clone()>
                {label}
                {hint.map(|h| view! { " " <span class="fr-hint-text">{h}</span> })}
            </label>
            <select
                class="fr-select"
                class:fr-select--error=move || msg.get().is_some()
                id=id
                name=name
                aria-invalid=move || msg.get().map(|_| "true")
                aria-describedby=described
            >
                <option value="" selected>{placeholder}</option>
                {people.into_iter().map(|p| view! { <option value=p.id>{p.label()}</option> }).collect::<Vec<_>>()}
            </select>
            {move || msg.get().map(|m| view! { <p id=err_id.clone() class="fr-error-text">{m}</p> })}
        </div>
    }
}

#[component]
pub fn OperatorOrganisationsPage() -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &str| query.get().get(k).unwrap_or_default();
    let data = Resource::new(
        move || (get("q"), get("apres")),
        |(q, a)| operator_organisations(q, a),
    );
    view! {
        <div class="fr-container fr-my-4w">
            <h1>"Administration des structures"</h1>
            <ul class="fr-btns-group fr-btns-group--inline-md fr-btns-group--icon-left barre-actions">
                <li><A href="/conventions" attr:class="fr-btn fr-btn--secondary fr-icon-file-text-line fr-btn--icon-left">"Consulter les conventions"</A></li>
                <li><A href="/conventions/nouvelle" attr:class="fr-btn fr-btn--secondary fr-icon-add-line fr-btn--icon-left">"Formaliser une convention"</A></li>
                <li><A href="/operateur/agents" attr:class="fr-btn fr-btn--secondary fr-icon-team-line fr-btn--icon-left">"Agents de l'opérateur"</A></li>
                <li><A href="/operateur/journal" attr:class="fr-btn fr-btn--tertiary fr-icon-file-text-line fr-btn--icon-left">"Journal de la plateforme"</A></li>
            </ul>
            <Suspense fallback=crate::ui::loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                        Ok(page) => {
                            let q = get("q");
                            let next_href = page.next.clone().map(|n| {
                                format!("?q={}&apres={}", crate::ui::urlencode(&q), crate::ui::urlencode(&n))
                            });
                            view! {
                                <Form method="GET" action="">
                                    <div class="fr-grid-row fr-grid-row--gutters fr-grid-row--bottom" role="search">
                                        <div class="fr-col-12 fr-col-md-8">
                                            <div class="fr-input-group">
                                                <label class="fr-label" for="recherche-structures">
                                                    "Nom ou SIRET de la structure" " "
                                                    <span class="fr-hint-text">"Début du nom, ou début du SIRET"</span>
                                                </label>
                                                <input class="fr-input" type="search" id="recherche-structures" name="q" value=q.clone()/>
                                            </div>
                                        </div>
                                        <div class="fr-col-12 fr-col-md-4">
                                            <button class="fr-btn fr-mb-3w" type="submit">"Rechercher"</button>
                                        </div>
                                    </div>
                                </Form>
                                {page.rows.is_empty().then(|| view! { <p role="status">"Aucune structure ne correspond à cette recherche."</p> })}
                                {(!page.rows.is_empty()).then(|| view! { <OrgTable rows=page.rows.clone()/> })}
                                {next_href.map(|h| view! { <A href=h attr:class="fr-btn fr-btn--secondary">"Page suivante"</A> })}
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn OrgTable(rows: Vec<OrgRow>) -> impl IntoView {
    view! {
        <ScrollTable label="Structures">
            <table>
                <caption>"Structures"</caption>
                <thead><tr>
                    <th scope="col">"Nom"</th><th scope="col">"SIRET"</th><th scope="col">"Statut"</th>
                    <th scope="col">"Gestionnaire principal"</th><th scope="col">"Administrateurs"</th>
                    <th scope="col">"Actions"</th>
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|o| {
                        let label = format!("Gérer la structure {}", o.nom);
                        view! {
                            <tr class="structure-operateur">
                                <td>{o.nom.clone()}</td><td>{o.siret}</td>
                                <td>{if o.active { "Active" } else { "Inactive" }}</td>
                                <td>{if o.primary_manager.is_empty() { "Aucun".to_string() } else { o.primary_manager }}</td>
                                <td>{format!("{} sur {}", o.admins, o.max_admins)}</td>
                                <td><A href=format!("/operateur/structures/{}", o.id) attr:class="fr-link" attr:aria-label=label>"Gérer"</A></td>
                            </tr>
                        }
                    }).collect::<Vec<_>>()}
                </tbody>
            </table>
        </ScrollTable>
    }
}

/// One organisation's administration. Each section is its own component:
/// a new operator setting of the organisation is one more section (and, if
/// it has its own page, one more link in the navigation at the top).
#[component]
pub fn OperatorOrganisationPage() -> impl IntoView {
    let params = use_params_map();
    let org = move || {
        params
            .get()
            .get("org")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let name = ServerAction::<SetOrgAdmin>::new();
    let remove = ServerAction::<SetOrgAdmin>::new();
    let limit = ServerAction::<SetMaxAdmins>::new();
    let data = Resource::new(
        move || {
            (
                org(),
                name.version().get(),
                remove.version().get(),
                limit.version().get(),
            )
        },
        |(o, _, _, _)| list_org_admins(crate::domain::OrganisationId(o)),
    );
    view! {
        <div class="fr-container fr-my-4w">
            <Suspense fallback=crate::ui::loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <h1>"Structure"</h1> <ErrorNotice error=e/> }.into_any(),
                        Ok(o) => view! {
                            <h1>{o.nom.clone()}</h1>
                            <p class="fr-text--lead">
                                "SIRET " {o.siret.clone()} " — " {o.adresse.clone()} " "
                                {(!o.active).then(|| view! { <span class="fr-badge fr-badge--warning">"Inactive"</span> })}
                            </p>
                            <nav aria-label="Administration de la structure">
                                <ul class="fr-raw-list">
                                    <li><A href="/operateur/structures" attr:class="fr-link fr-icon-arrow-left-line fr-link--icon-left">"Toutes les structures"</A></li>
                                    <li><A href=format!("/operateur/structures/{}/demarches", o.id) attr:class="fr-link">"Démarches activées"</A></li>
                                    <li><A href=format!("/conventions?organisation={}", o.id) attr:class="fr-link">"Conventions"</A></li>
                                    <li><A href=format!("/structures/{}/groupes", o.id) attr:class="fr-link">"Groupes d'utilisateurs"</A></li>
                                    <li><A href=format!("/structures/{}/agents", o.id) attr:class="fr-link">"Liste des agents"</A></li>
                                    <li><A href=format!("/structures/{}/journal", o.id) attr:class="fr-link">"Journal de la structure"</A></li>
                                </ul>
                            </nav>
                            <PrimaryManagerSection manager=o.primary_manager.clone()/>
                            <AdminsSection data=o.clone() name=name remove=remove/>
                            <LimitSection data=o action=limit/>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn PrimaryManagerSection(manager: Option<Member>) -> impl IntoView {
    view! {
        <section class="fr-mt-4w" aria-labelledby="titre-gestionnaire">
            <h2 id="titre-gestionnaire">"Gestionnaire principal"</h2>
            {match manager {
                None => view! { <p>"Cette structure n'a pas de gestionnaire principal."</p> }.into_any(),
                Some(m) => view! {
                    <p class="gestionnaire-principal">{format!("{} {}", m.prenom, m.nom)} " — " {m.email.clone()} " (" {m.identifier.clone()} ")"</p>
                    <A href=format!("/structures/transfert?depuis={}", m.id) attr:class="fr-btn fr-btn--secondary">
                        "Transférer le rôle de gestionnaire principal"
                    </A>
                }.into_any(),
            }}
        </section>
    }
}

#[component]
fn AdminsSection(
    data: OrgAdmins,
    name: ServerAction<SetOrgAdmin>,
    remove: ServerAction<SetOrgAdmin>,
) -> impl IntoView {
    let name_err = action_error(name);
    let remove_err = action_error(remove);
    let org_id = data.id;
    let count = data.admins.len();
    view! {
        <section class="fr-mt-4w" aria-labelledby="titre-administrateurs">
            <h2 id="titre-administrateurs">{format!("Administrateurs ({count} sur {})", data.max_admins)}</h2>
            <p class="fr-text--sm">"Un administrateur gère les agents et les services de la structure. Il ne détient aucun rôle sur les démarches tant qu'on ne lui en attribue pas."</p>
            <FormAlert error=remove_err/>
            {move || action_ok(remove).get().then(|| view! { <Success>"L'administrateur est retiré : il reste rattaché à la structure."</Success> })}
            {(count == 0).then(|| view! { <p>"Aucun administrateur n'est nommé."</p> })}
            {(count > 0).then(|| view! {
                <ScrollTable label="Administrateurs de la structure">
                    <table>
                        <caption>"Administrateurs de la structure"</caption>
                        <thead><tr><th scope="col">"Nom"</th><th scope="col">"Adresse mail"</th><th scope="col">"Actions"</th></tr></thead>
                        <tbody>
                            {data.admins.clone().into_iter().map(|m| {
                                let label = format!("Retirer {} {} des administrateurs", m.prenom, m.nom);
                                view! {
                                    <tr class="administrateur">
                                        <td>{format!("{} {}", m.nom, m.prenom)}</td><td>{m.email}</td>
                                        <td>
                                            <ActionForm action=remove>
                                                <input type="hidden" name="organisation_id" value=org_id/>
                                                <input type="hidden" name="user_id" value=m.id/>
                                                <input type="hidden" name="admin" value="false"/>
                                                <button type="submit" class="fr-btn fr-btn--sm fr-btn--secondary" aria-label=label.clone() title=label>"Retirer"</button>
                                            </ActionForm>
                                        </td>
                                    </tr>
                                }
                            }).collect::<Vec<_>>()}
                        </tbody>
                    </table>
                </ScrollTable>
            })}
            <h3 class="fr-h5">"Nommer un administrateur"</h3>
            {move || action_ok(name).get().then(|| view! { <Success>"L'administrateur est nommé ; un courriel l'en informe."</Success> })}
            {if data.candidates.is_empty() {
                view! { <p>"Aucune autre personne n'est rattachée à cette structure : rattachez d'abord la personne à nommer."</p> }.into_any()
            } else {
                // Too many people for a list: the operator types who.
                let chooser = if data.more_candidates {
                    view! {
                        <Field label="Adresse mail ou identifiant de la personne" name="user_id"
                            hint="La personne doit être rattachée à la structure" required=true error=name_err/>
                    }.into_any()
                } else {
                    view! {
                        <PersonSelect label="Personne rattachée à la structure" name="user_id" id="champ-user_id"
                            people=data.candidates.clone() hint=None error=name_err/>
                    }.into_any()
                };
                view! {
                    <ActionForm action=name>
                        <FormAlert error=name_err/>
                        <input type="hidden" name="organisation_id" value=org_id/>
                        <input type="hidden" name="admin" value="true"/>
                        {chooser}
                        <button type="submit" class="fr-btn">"Nommer administrateur"</button>
                    </ActionForm>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn LimitSection(data: OrgAdmins, action: ServerAction<SetMaxAdmins>) -> impl IntoView {
    let err = action_error(action);
    view! {
        <section class="fr-mt-4w" aria-labelledby="titre-limite">
            <h2 id="titre-limite">"Nombre maximal d'administrateurs"</h2>
            {move || action_ok(action).get().then(|| view! { <Success>"La limite est enregistrée."</Success> })}
            <ActionForm action=action>
                <FormAlert error=err/>
                <input type="hidden" name="organisation_id" value=data.id/>
                <Field label="Nombre maximal d'administrateurs" name="max_admins" kind="number"
                    hint="Entre 1 et 10, sans compter le gestionnaire principal" required=true
                    value=data.max_admins.to_string() error=err/>
                <button type="submit" class="fr-btn fr-btn--secondary">"Enregistrer la limite"</button>
            </ActionForm>
        </section>
    }
}
