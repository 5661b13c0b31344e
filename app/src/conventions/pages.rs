//! Screens « Démarches activées », « Consulter les conventions » and
//! « Formaliser une convention » (consult, modify, close).
use super::*;
use crate::ui::{action_error, date_fr, Field, FilterField, FormAlert, ScrollTable, Success};
use leptos::form::ActionForm;
use leptos_router::components::{Form, A};
use leptos_router::hooks::use_query_map;
use std::collections::BTreeSet;

/// « Démarches activées »: what the structure may hand out today.
#[component]
pub fn OrgServicesPage() -> impl IntoView {
    let org = crate::ui::id_param("org");
    let data = Resource::new(org, |o| org_services(crate::domain::OrganisationId(o)));
    view! {
        <div class="fr-container fr-my-4w">
            <Suspense fallback=crate::ui::loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <crate::ui::ErrorNotice error=e/> }.into_any(),
                        Ok(s) => {
                            let org_id = org();
                            view! {
                                <h1>"Démarches activées"</h1>
                                <p class="fr-text--lead">{s.organisation.clone()} " — SIRET " {s.siret.clone()}</p>
                                <p>
                                    "Les rôles que la structure peut attribuer aujourd'hui : ceux de ses conventions ouvertes. "
                                    "Une convention fixe ces rôles pour une période ; l'opérateur la formalise, la modifie ou la clôture."
                                </p>
                                <p><A href=format!("/conventions?organisation={org_id}") attr:class="fr-link fr-icon-arrow-right-line fr-link--icon-right">
                                    "Consulter les conventions de la structure"
                                </A></p>
                                <ul class="liste-demarches">
                                    {s.applications.into_iter().map(|a| {
                                        let roles: Vec<String> = a.roles.iter().filter(|r| r.allowed).map(|r| r.libelle.clone()).collect();
                                        view! {
                                            <li>
                                                <strong>{a.libelle}</strong> " — "
                                                {if roles.is_empty() { "non activée".to_string() } else { roles.join(", ") }}
                                            </li>
                                        }
                                    }).collect::<Vec<_>>()}
                                </ul>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </div>
    }
}

const ETATS: &[(&str, &str)] = &[
    ("", "Tous"),
    ("ouverte", "Ouverte"),
    ("a_venir", "À venir"),
    ("cloturee", "Clôturée"),
];

/// « Consulter les conventions ».
#[component]
pub fn ConventionsPage() -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &str| query.get().get(k).unwrap_or_default();
    let data = Resource::new(
        move || {
            (
                get("organisation").parse::<i64>().unwrap_or(0),
                get("structure"),
                get("libelle"),
                get("etat"),
                get("apres").parse::<i64>().unwrap_or(0),
            )
        },
        |(o, s, l, e, a)| list_conventions(crate::domain::OrganisationId(o), s, l, e, a),
    );
    view! {
        <div class="fr-container fr-my-4w">
            <h1>"Consulter les conventions"</h1>
            <Suspense fallback=crate::ui::loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <crate::ui::ErrorNotice error=e/> }.into_any(),
                        Ok(page) => {
                            let organisation = get("organisation");
                            let filters = ["structure", "libelle", "etat"].map(get);
                            let next_href = page.next.map(|n| crate::ui::query_string(&[
                                ("organisation", organisation.clone()),
                                ("structure", filters[0].clone()),
                                ("libelle", filters[1].clone()),
                                ("etat", filters[2].clone()),
                                ("apres", n.to_string()),
                            ]));
                            let new_href = format!("/conventions/nouvelle{}", crate::ui::query_string(&[("structure", organisation.clone())]));
                            let etat = filters[2].clone();
                            view! {
                                {page.operator.then(|| view! {
                                    <ul class="fr-btns-group fr-btns-group--inline-md fr-btns-group--icon-left barre-actions">
                                        <li><A href=new_href attr:class="fr-btn fr-icon-add-line fr-btn--icon-left">"Formaliser une convention"</A></li>
                                    </ul>
                                })}
                                <Form method="GET" action="">
                                    <input type="hidden" name="organisation" value=organisation.clone()/>
                                    <fieldset class="fr-fieldset filtres" aria-labelledby="titre-filtres">
                                        <legend class="fr-fieldset__legend fr-text--regular" id="titre-filtres">"Rechercher des conventions"</legend>
                                        <FilterField id="filtre-structure" name="structure" label="Structure (nom ou SIRET)" value=filters[0].clone()/>
                                        <FilterField id="filtre-libelle" name="libelle" label="Libellé" value=filters[1].clone()/>
                                        <div class="fr-fieldset__element fr-fieldset__element--inline filtres__champ">
                                            <div class="fr-select-group">
                                                <label class="fr-label" for="filtre-etat">"État"</label>
                                                <select class="fr-select" id="filtre-etat" name="etat">
                                                    {ETATS.iter().map(|(v, l)| view! { <option value=*v selected=etat == *v>{*l}</option> }).collect::<Vec<_>>()}
                                                </select>
                                            </div>
                                        </div>
                                        <div class="fr-fieldset__element fr-fieldset__element--inline filtres__bouton">
                                            <button class="fr-btn" type="submit">"Filtrer"</button>
                                        </div>
                                    </fieldset>
                                </Form>
                                {page.rows.is_empty().then(|| view! { <p role="status">"Aucune convention ne correspond."</p> })}
                                {(!page.rows.is_empty()).then(|| view! {
                                    <ScrollTable label="Conventions">
                                        <table>
                                            <caption>"Conventions"</caption>
                                            <thead><tr>
                                                <th scope="col">"Organisme partenaire"</th><th scope="col">"Libellé"</th>
                                                <th scope="col">"Rôles"</th><th scope="col">"Date d'ouverture"</th>
                                                <th scope="col">"Date de clôture"</th><th scope="col">"Statut"</th>
                                                <th scope="col" class="colonne-actions">"Autres actions"</th>
                                            </tr></thead>
                                            <tbody>
                                                {page.rows.into_iter().map(|c| view! { <ConventionLine c/> }).collect::<Vec<_>>()}
                                            </tbody>
                                        </table>
                                    </ScrollTable>
                                })}
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
fn ConventionLine(c: ConventionRow) -> impl IntoView {
    let open = c.statut == "Ouvert";
    let consult = format!("/conventions/{}", c.id);
    let menu_label = format!("Autres actions pour la convention {}", c.libelle);
    view! {
        <tr class="convention">
            <td class="fr-cell--multiline">{c.organisation.clone()}<br/><span class="fr-text--xs">"SIRET " {c.siret.clone()}</span></td>
            <td><A href=consult.clone()>{c.libelle.clone()}</A></td>
            <td class="fr-cell--multiline">{if c.roles.is_empty() { "—".to_string() } else { c.roles.clone() }}</td>
            <td>{date_fr(&c.date_ouverture)}</td>
            <td>{c.date_cloture.map(|d| date_fr(&d)).unwrap_or_default()}</td>
            <td><span class="fr-badge fr-badge--sm" class:fr-badge--success=open>{c.statut.clone()}</span></td>
            <td class="colonne-actions">
                <details class="menu-actions">
                    <summary class="fr-btn fr-btn--sm fr-btn--tertiary" aria-label=menu_label>"Autres actions"</summary>
                    <ul class="menu-actions__liste">
                        <li><A href=consult>"Consulter la convention"</A></li>
                        <li><A href=format!("/structures/{}/agents?convention={}", c.organisation_id, c.id)>"Utilisateurs"</A></li>
                        <li><A href=format!("/structures/{}/groupes?convention={}", c.organisation_id, c.id)>"Groupes"</A></li>
                    </ul>
                </details>
            </td>
        </tr>
    }
}

/// « Formaliser une convention » (`/conventions/nouvelle`) and one
/// convention (`/conventions/:id`): editable by operators while open, read
/// only for the structure's administrators.
#[component]
pub fn ConventionPage() -> impl IntoView {
    let id = crate::ui::id_param("id");
    let query = use_query_map();
    let structure = move || {
        query
            .get()
            .get("structure")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let save = ServerAction::<SaveConvention>::new();
    let close = ServerAction::<CloseConvention>::new();
    let err = action_error(save);
    let close_err = action_error(close);
    // A new convention, once saved, is shown at its own address.
    Effect::new(move |_| {
        if let Some(Ok(cid)) = save.value().get() {
            if id() == 0 {
                let navigate = leptos_router::hooks::use_navigate();
                navigate(
                    &format!("/conventions/{cid}?enregistree=1"),
                    Default::default(),
                );
            }
        }
    });
    let data = Resource::new(
        move || {
            (
                id(),
                structure(),
                save.version().get(),
                close.version().get(),
            )
        },
        |(i, s, _, _)| {
            get_convention(crate::domain::ConventionId(i), crate::domain::OrganisationId(s))
        },
    );
    view! {
        <div class="fr-container fr-my-4w">
            <Suspense fallback=crate::ui::loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <crate::ui::ErrorNotice error=e/> }.into_any(),
                        Ok(c) => view! { <ConventionForm c save close err close_err/> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn ConventionForm(
    c: ConventionDetail,
    save: ServerAction<SaveConvention>,
    close: ServerAction<CloseConvention>,
    err: Signal<Option<crate::error::AppError>>,
    close_err: Signal<Option<crate::error::AppError>>,
) -> impl IntoView {
    let is_new = c.id == 0;
    let title = if is_new {
        "Formaliser une convention"
    } else if c.editable {
        "Modifier une convention"
    } else {
        "Consulter une convention"
    };
    let chosen = RwSignal::new(
        c.applications
            .iter()
            .flat_map(|a| a.roles.iter().filter(|r| r.allowed).map(|r| r.id))
            .collect::<BTreeSet<i64>>(),
    );
    let joined = move || {
        chosen
            .get()
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let role_msg = Memo::new(move |_| err.get().and_then(|e| e.field("role_ids")));
    let confirming = RwSignal::new(false);
    let saved = crate::ui::action_ok(save);
    let just_created = use_query_map().get_untracked().get("enregistree").is_some();
    let org_id = c.organisation_id;
    let cid = c.id;
    let editable = c.editable || is_new;
    view! {
        <h1>{title}</h1>
        {(org_id != 0).then(|| view! {
            <p class="fr-text--lead bandeau-convention">
                {(!is_new).then(|| view! { "Convention sélectionnée : " <strong>{c.libelle.clone()}</strong> " — " })}
                "Organisme partenaire : " <strong>{c.organisation.clone()}</strong> " (SIRET " {c.siret.clone()} ")"
            </p>
        })}
        {(!is_new).then(|| view! {
            <p>
                <span class="fr-badge fr-badge--sm" class:fr-badge--success=c.statut == "Ouvert">{c.statut.clone()}</span>
                " "
                {format!("Du {}", date_fr(&c.date_ouverture))}
                {c.date_cloture.map(|d| format!(" au {} (exclu)", date_fr(&d)))}
            </p>
        })}
        {move || (saved.get() || just_created).then(|| view! { <Success>"La convention est enregistrée."</Success> })}
        {move || matches!(close.value().get(), Some(Ok(_))).then(|| view! { <Success>"La convention est clôturée : ses rôles ne comptent plus."</Success> })}
        <FormAlert error=close_err/>
        {if editable {
            view! {
                <ActionForm action=save>
                    <FormAlert error=err/>
                    <input type="hidden" name="id" value=cid/>
                    {(is_new).then(|| view! {
                        <Field label="SIRET de l'organisme partenaire" name="siret" required=true
                            hint="14 chiffres : la structure doit être enregistrée" value=c.siret.clone() error=err/>
                    })}
                    <Field label="Libellé" name="libelle" required=true value=c.libelle.clone() error=err/>
                    <div class="fr-grid-row fr-grid-row--gutters">
                        <div class="fr-col-12 fr-col-md-6">
                            <Field label="Date d'ouverture" name="date_ouverture" kind="date" required=true
                                value=c.date_ouverture.to_string() error=err/>
                        </div>
                        <div class="fr-col-12 fr-col-md-6">
                            <Field label="Date de clôture (facultative)" name="date_cloture" kind="date"
                                hint="Le premier jour sans la convention : elle vaut jusqu'à la veille."
                                value=c.date_cloture.map(|d| d.to_string()).unwrap_or_default() error=err/>
                        </div>
                    </div>
                    <input type="hidden" name="role_ids" prop:value=joined/>
                    <h2 class="fr-h4">"Rôles que la structure peut attribuer"</h2>
                    {move || role_msg.get().map(|m| view! { <p class="fr-error-text" id="champ-role_ids-erreur">{m}</p> })}
                    {c.applications.clone().into_iter().map(|a| {
                        let legend_id = format!("demarche-{}", a.code);
                        let labelled = legend_id.clone();
                        view! {
                            <fieldset class="fr-fieldset" aria-labelledby=labelled>
                                <legend class="fr-fieldset__legend fr-fieldset__legend--regular" id=legend_id>
                                    {a.libelle.clone()} " " <span class="fr-hint-text">{a.description.clone()}</span>
                                </legend>
                                {a.roles.into_iter().map(|r| {
                                    let input_id = format!("role-{}", r.id);
                                    let rid = r.id;
                                    view! {
                                        <div class="fr-fieldset__element fr-fieldset__element--inline">
                                            <div class="fr-checkbox-group">
                                                <input type="checkbox" id=input_id.clone()
                                                    prop:checked=move || chosen.get().contains(&rid)
                                                    on:change=move |ev| {
                                                        let on = event_target_checked(&ev);
                                                        chosen.update(|s| { if on { s.insert(rid); } else { s.remove(&rid); } });
                                                    }/>
                                                <label class="fr-label" for=input_id>{r.libelle}</label>
                                            </div>
                                        </div>
                                    }
                                }).collect::<Vec<_>>()}
                            </fieldset>
                        }
                    }).collect::<Vec<_>>()}
                    <ul class="fr-btns-group fr-btns-group--inline-md">
                        <li><button type="submit" class="fr-btn">{if is_new { "Formaliser la convention" } else { "Enregistrer les modifications" }}</button></li>
                    </ul>
                </ActionForm>
            }.into_any()
        } else {
            view! {
                <h2 class="fr-h4">"Rôles que la structure peut attribuer"</h2>
                <ul>
                    {c.applications.clone().into_iter().filter(|a| a.active).map(|a| {
                        let roles: Vec<String> = a.roles.iter().filter(|r| r.allowed).map(|r| r.libelle.clone()).collect();
                        view! { <li><strong>{a.libelle}</strong> " : " {roles.join(", ")}</li> }
                    }).collect::<Vec<_>>()}
                </ul>
            }.into_any()
        }}
        {(c.editable && !is_new).then(|| view! {
            <div class="fr-mt-4w">
                {move || if confirming.get() {
                    view! {
                        <div class="fr-alert fr-alert--warning fr-mb-2w" role="alertdialog" aria-labelledby="titre-cloture">
                            <h2 class="fr-alert__title" id="titre-cloture">"Clôturer cette convention ?"</h2>
                            <p>"Dès aujourd'hui, ses rôles et les droits des groupes qu'elle porte ne comptent plus. Les utilisateurs ne sont pas clôturés."</p>
                            <ActionForm action=close>
                                <input type="hidden" name="id" value=cid/>
                                <ul class="fr-btns-group fr-btns-group--inline-sm fr-mt-2w">
                                    <li><button type="submit" class="fr-btn fr-btn--sm">"Oui, clôturer la convention"</button></li>
                                    <li><button type="button" class="fr-btn fr-btn--sm fr-btn--secondary" on:click=move |_| confirming.set(false)>"Annuler"</button></li>
                                </ul>
                            </ActionForm>
                        </div>
                    }.into_any()
                } else {
                    view! {
                        <button type="button" class="fr-btn fr-btn--secondary fr-icon-close-circle-line fr-btn--icon-left"
                            on:click=move |_| confirming.set(true)>"Clôturer la convention"</button>
                    }.into_any()
                }}
            </div>
        })}
        <ul class="fr-btns-group fr-btns-group--inline-md fr-mt-4w">
            {(!is_new).then(|| view! {
                <li><A href=format!("/structures/{org_id}/groupes?convention={cid}") attr:class="fr-btn fr-btn--secondary">"Groupes"</A></li>
                <li><A href=format!("/structures/{org_id}/agents?convention={cid}") attr:class="fr-btn fr-btn--secondary">"Utilisateurs"</A></li>
            })}
            <li><A href="/conventions" attr:class="fr-btn fr-btn--tertiary">"Retour à la liste des conventions"</A></li>
        </ul>
    }
}
