//! Screens: "Demander un accès" and "Mes demandes".
use super::*;
use crate::catalogue::list_roles;
use crate::organisations::get_organisation;
use crate::ui::{action_error, action_ok, FormAlert, ScrollTable, Success};
use leptos::form::ActionForm;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

#[component]
pub fn NewRequestPage() -> impl IntoView {
    let q = use_query_map();
    let org_id = move || {
        q.get()
            .get("structure")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let org = Resource::new(org_id, |o| get_organisation(crate::domain::OrganisationId(o)));
    let roles = Resource::new(org_id, |o| list_roles(crate::domain::OrganisationId(o)));
    let action = ServerAction::<RequestAccess>::new();
    let err = action_error(action);
    let done = action_ok(action);
    let role_err = move || err.get().and_then(|e| e.field("role_id"));
    let msg_err = move || err.get().and_then(|e| e.field("message"));
    view! {
        <div class="fr-container fr-my-4w">
            <h1>"Demander un accès"</h1>
            <Show
                when=move || !done.get()
                fallback=|| view! {
                    <Success>"Votre demande est envoyée aux gestionnaires de la structure. Vous recevrez un courriel à leur décision."</Success>
                    <A href="/demandes" attr:class="fr-btn">"Voir mes demandes"</A>
                }
            >
                <Suspense fallback=crate::ui::loading>
                    {move || Suspend::new(async move {
                        let (org, roles) = (org.await, roles.await);
                        match (org, roles) {
                            (Err(e), _) | (_, Err(e)) => view! { <crate::ui::ErrorNotice error=e/> }.into_any(),
                            (Ok(o), Ok(roles)) => {
                                let mut groups: Vec<(String, Vec<crate::catalogue::RoleOption>)> = vec![];
                                for r in roles {
                                    match groups.last_mut() {
                                        Some((app, list)) if *app == r.application => list.push(r),
                                        _ => groups.push((r.application.clone(), vec![r])),
                                    }
                                }
                                view! {
                                    <p>"Structure : " <strong>{o.nom.clone()}</strong> " (SIRET " {o.siret.clone()} ")"</p>
                                    <ActionForm action=action>
                                        <FormAlert error=err/>
                                        <input type="hidden" name="organisation_id" value=o.id/>
                                        <div class="fr-select-group" class:fr-select-group--error=move || role_err().is_some()>
                                            <label class="fr-label" for="champ-role_id">"Démarche et rôle demandés"</label>
                                            <select class="fr-select" id="champ-role_id" name="role_id" required=true>
                                                <option value="" selected disabled>"Choisissez un rôle"</option>
                                                {groups.into_iter().map(|(app, list)| view! {
                                                    <optgroup label=app>
                                                        {list.into_iter().map(|r| view! { <option value=r.id>{format!("{} — {}", r.application, r.role)}</option> }).collect::<Vec<_>>()}
                                                    </optgroup>
                                                }).collect::<Vec<_>>()}
                                            </select>
                                            {move || role_err().map(|m| view! { <p class="fr-error-text">{m}</p> })}
                                        </div>
                                        <div class="fr-input-group" class:fr-input-group--error=move || msg_err().is_some()>
                                            <label class="fr-label" for="champ-message">
                                                "Message aux gestionnaires (facultatif)"
                                                <span class="fr-hint-text">"1 000 caractères au plus"</span>
                                            </label>
                                            <textarea class="fr-input" id="champ-message" name="message" rows="3" maxlength="1000"></textarea>
                                            {move || msg_err().map(|m| view! { <p class="fr-error-text">{m}</p> })}
                                        </div>
                                        <button type="submit" class="fr-btn">"Envoyer la demande"</button>
                                    </ActionForm>
                                }.into_any()
                            }
                        }
                    })}
                </Suspense>
            </Show>
        </div>
    }
}

#[component]
pub fn MyRequestsPage() -> impl IntoView {
    let cancel = ServerAction::<CancelRequest>::new();
    let err = action_error(cancel);
    let list = Resource::new(move || cancel.version().get(), |_| my_requests());
    view! {
        <div class="fr-container fr-my-4w">
            <h1>"Mes demandes"</h1>
            <p><A href="/structures" attr:class="fr-btn fr-btn--secondary">"Faire une nouvelle demande"</A></p>
            <FormAlert error=err/>
            <Suspense fallback=crate::ui::loading>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(e) => view! { <crate::ui::ErrorNotice error=e/> }.into_any(),
                        Ok(rows) if rows.is_empty() => view! { <p>"Vous n'avez fait aucune demande."</p> }.into_any(),
                        Ok(rows) => view! {
                            <ScrollTable label="Mes demandes d'accès">
                                <table>
                                    <caption>"Mes demandes d'accès"</caption>
                                    <thead><tr>
                                        <th scope="col">"Date"</th><th scope="col">"Démarche"</th><th scope="col">"Rôle"</th>
                                        <th scope="col">"Structure"</th><th scope="col">"État"</th><th scope="col">"Commentaire"</th>
                                        <th scope="col">"Action"</th>
                                    </tr></thead>
                                    <tbody>
                                        {rows.into_iter().map(|r| {
                                            let pending = r.status == "pending";
                                            view! {
                                                <tr class="demande">
                                                    <td>{r.created_at}</td><td>{r.application}</td><td>{r.role}</td><td>{r.structure}</td>
                                                    <td class="etat">{status_label(&r.status)}</td><td>{r.decision_comment}</td>
                                                    <td>{pending.then(|| view! {
                                                        <ActionForm action=cancel>
                                                            <input type="hidden" name="id" value=r.id/>
                                                            <button type="submit" class="fr-btn fr-btn--sm fr-btn--tertiary">"Annuler la demande"</button>
                                                        </ActionForm>
                                                    })}</td>
                                                </tr>
                                            }
                                        }).collect::<Vec<_>>()}
                                    </tbody>
                                </table>
                            </ScrollTable>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

/// « Demandes d'accès à traiter »: the pending requests of a structure the
/// caller decides (a manager: all; a responsable habilitations: those for
/// a role their groups hold). Accepting puts the requester in the group
/// chosen (or, for a manager, gives the right directly).
#[component]
pub fn DecisionsPage() -> impl IntoView {
    let org = crate::ui::id_param("org");
    let decide = ServerAction::<DecideRequest>::new();
    let err = action_error(decide);
    let data = Resource::new(
        move || (org(), decide.version().get()),
        |(o, _)| requests_to_decide(crate::domain::OrganisationId(o)),
    );
    view! {
        <div class="fr-container fr-my-4w">
            <h1>"Demandes d'accès à traiter"</h1>
            {move || matches!(decide.value().get(), Some(Ok(_))).then(|| view! {
                <Success>"La décision est enregistrée et le demandeur en est informé par courriel."</Success>
            })}
            <FormAlert error=err/>
            <Suspense fallback=crate::ui::loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <crate::ui::ErrorNotice error=e/> }.into_any(),
                        Ok(page) => {
                            let manager = page.manager;
                            let count = page.rows.len();
                            view! {
                                <p class="fr-text--lead">{page.organisation.clone()}</p>
                                <p>{if manager {
                                    "Acceptez une demande en plaçant le demandeur dans un groupe qui détient le rôle, ou en lui attribuant le rôle directement."
                                } else {
                                    "Responsable habilitations : vous traitez les demandes portant sur un rôle que détiennent vos groupes. L'accepter place le demandeur dans le groupe choisi."
                                }}</p>
                                <p class="fr-text--bold" role="status">
                                    {match count { 0 => "Aucune demande en attente".to_string(), 1 => "1 demande en attente".to_string(), n => format!("{n} demandes en attente") }}
                                    {page.more.then_some(" (les plus anciennes d'abord)")}
                                </p>
                                {page.rows.into_iter().map(|r| {
                                    let select_id = format!("groupe-{}", r.id);
                                    let comment_id = format!("commentaire-{}", r.id);
                                    let title_id = format!("demande-{}", r.id);
                                    let no_group = r.groups.is_empty();
                                    view! {
                                        <section class="fr-card fr-p-3w fr-mb-3w demande-a-traiter" aria-labelledby=title_id.clone()>
                                            <h2 class="fr-h5" id=title_id.clone()>{format!("{} — {} : {}", r.demandeur, r.application, r.role)}</h2>
                                            <p class="fr-mb-1w">{r.email.clone()} " — demandé le " {r.created_at.clone()}</p>
                                            {(!r.message.is_empty()).then(|| view! { <p class="fr-mb-1w">"Message : « " {r.message.clone()} " »"</p> })}
                                            <ActionForm action=decide>
                                                <input type="hidden" name="id" value=r.id/>
                                                <div class="fr-grid-row fr-grid-row--gutters">
                                                    <div class="fr-col-12 fr-col-md-6">
                                                        <div class="fr-select-group">
                                                            <label class="fr-label" for=select_id.clone()>"Groupe d'utilisateurs"
                                                                <span class="fr-hint-text">"Pour accepter : le demandeur en devient membre dès aujourd'hui."</span>
                                                            </label>
                                                            <select class="fr-select" id=select_id name="group_id">
                                                                {if manager {
                                                                    view! { <option value="0" selected>"Aucun : attribuer le rôle directement"</option> }.into_any()
                                                                } else if no_group {
                                                                    view! { <option value="0" selected>"Aucun de vos groupes ne détient ce rôle"</option> }.into_any()
                                                                } else {
                                                                    ().into_any()
                                                                }}
                                                                {r.groups.into_iter().map(|g| view! { <option value=g.id>{g.label}</option> }).collect::<Vec<_>>()}
                                                            </select>
                                                        </div>
                                                    </div>
                                                    <div class="fr-col-12 fr-col-md-6">
                                                        <div class="fr-input-group">
                                                            <label class="fr-label" for=comment_id.clone()>"Commentaire (facultatif)"</label>
                                                            <textarea class="fr-input" id=comment_id name="comment" rows="2" maxlength="1000"></textarea>
                                                        </div>
                                                    </div>
                                                </div>
                                                <ul class="fr-btns-group fr-btns-group--inline-md fr-btns-group--icon-left">
                                                    <li><button type="submit" name="decision" value="accepter" class="fr-btn fr-icon-check-line fr-btn--icon-left">"Accepter"</button></li>
                                                    <li><button type="submit" name="decision" value="refuser" class="fr-btn fr-btn--secondary fr-icon-close-line fr-btn--icon-left">"Refuser"</button></li>
                                                </ul>
                                            </ActionForm>
                                        </section>
                                    }
                                }).collect::<Vec<_>>()}
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </div>
    }
}
