//! Screens: "Créer un utilisateur", the agent's page (tabs Coordonnées and
//! Rôles, attachment, detachment), the invitation, the header switcher.
use super::roles::*;
use super::*;
use crate::error::AppError;
use crate::ui::{
    action_error, form_text, Field, FormAlert, PostForm, RadioGroup, ScrollTable, Success,
};
use leptos::form::ActionForm;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;
use std::collections::BTreeMap;

const CIVILITES: &[(&str, &str)] = &[("Mme", "Madame"), ("M", "Monsieur")];
const POSTES: &[(&str, &str)] = &[
    ("sedentaire", "Sédentaire (possède un poste fixe)"),
    ("itinerant", "Itinérant (poste de travail variable)"),
];

/// The fields of the fiche, pre-filled with `f` (an agent's, an operator's).
#[component]
pub fn FicheFields(f: AgentFields, #[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    view! {
        <RadioGroup name="civilite" legend="Civilité" options=CIVILITES selected=f.civilite.clone() error/>
        <div class="fr-grid-row fr-grid-row--gutters">
            <div class="fr-col-12 fr-col-md-6"><Field label="Nom" name="nom" value=f.nom.clone() autocomplete="off" error/></div>
            <div class="fr-col-12 fr-col-md-6"><Field label="Prénom" name="prenom" value=f.prenom.clone() autocomplete="off" error/></div>
            <div class="fr-col-12 fr-col-md-6"><Field label="Adresse mail" name="email" kind="email" value=f.email.clone() required=true autocomplete="off" error/></div>
            <div class="fr-col-12 fr-col-md-6"><Field label="Confirmer l'adresse mail" name="email_confirmation" kind="email" value=f.email_confirmation.clone() required=true autocomplete="off" error/></div>
            <div class="fr-col-12 fr-col-md-6"><Field label="Téléphone" name="telephone" kind="tel" value=f.telephone.clone() autocomplete="off" error/></div>
            <div class="fr-col-12 fr-col-md-6"><Field label="Confirmer le téléphone" name="telephone_confirmation" kind="tel" value=f.telephone_confirmation.clone() autocomplete="off" error/></div>
            <div class="fr-col-12 fr-col-md-6"><Field label="Date d'ouverture" name="date_ouverture" kind="date" value=f.date_ouverture.clone() hint="Par défaut : aujourd'hui." error/></div>
            <div class="fr-col-12 fr-col-md-6"><Field label="Date de clôture" name="date_cloture" kind="date" value=f.date_cloture.clone() hint="Ne peut pas être dans le passé ; videz-la pour rouvrir le compte." error/></div>
        </div>
        <RadioGroup name="poste" legend="Poste de travail" options=POSTES selected=if f.poste.is_empty() { "sedentaire".to_string() } else { f.poste.clone() } error/>
    }
}

/// A select of the organisation's units ("" = the structure itself).
#[component]
fn UnitSelect(
    units: Vec<UnitOption>,
    selected: Option<i64>,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    let msg = Memo::new(move |_| error.get().and_then(|e| e.field("unit_id")));
    view! {
        <div class="fr-select-group" class:fr-select-group--error=move || msg.get().is_some()>
            <label class="fr-label" for="champ-unit_id">"Niveau de rattachement"</label>
            <select class="fr-select" id="champ-unit_id" name="unit_id">
                <option value="0" selected=selected.is_none()>"La structure"</option>
                {units.into_iter().map(|u| view! {
                    <option value=u.id selected=selected == Some(u.id)>{format!("Service {}", u.label)}</option>
                }).collect::<Vec<_>>()}
            </select>
            {move || msg.get().map(|m| view! { <p class="fr-error-text">{m}</p> })}
        </div>
    }
}

/// "Créer un utilisateur" (or attach an existing account by its email).
#[component]
pub fn NewAgentPage() -> impl IntoView {
    let org = crate::ui::id_param("org");
    let create = ServerAction::<CreateAgent>::new();
    let err = action_error(create);
    // The groups the caller may create people in, and the units (a
    // manager's only: a responsable habilitations creates people in one of
    // their groups, at structure level).
    let units = Resource::new(org, |o| async move {
        let groups = crate::groups::group_choices(crate::domain::OrganisationId(o)).await?;
        let units = crate::units::list_units(crate::domain::OrganisationId(o)).await;
        Ok::<_, AppError>((groups, units.is_ok(), units.unwrap_or_default()))
    });
    let list = move || format!("/structures/{}/agents", org());
    // Only a success replaces the form: an error keeps it as typed.
    let sent = Memo::new(move |_| create.value().get().and_then(|r| r.ok()));
    view! {
        <div class="fr-container fr-my-4w">
            <h1>"Créer un utilisateur"</h1>
            {move || match sent.get() {
                // Done: the result, and no form left to submit twice.
                Some(sent) => view! {
                    <Success>{format!("Une invitation a été envoyée à {}.", sent.email)}</Success>
                    <section class="fr-mb-4w invitation-envoyee" aria-labelledby="titre-invitation">
                        <h2 id="titre-invitation" class="fr-h5">"Invitation envoyée"</h2>
                        <dl class="coordonnees">
                            <dt>"Nom"</dt><dd>{sent.nom.clone()}</dd>
                            <dt>"Prénom"</dt><dd>{sent.prenom.clone()}</dd>
                            <dt>"Adresse mail"</dt><dd>{sent.email.clone()}</dd>
                            <dt>"Niveau de rattachement"</dt>
                            <dd>{sent.service.clone().map(|s| format!("Service {s}")).unwrap_or_else(|| "La structure".into())}</dd>
                            {sent.groupe.clone().map(|g| view! { <dt>"Groupe d'utilisateurs"</dt><dd>{g}</dd> })}
                            <dt>"Statut"</dt><dd><span class="fr-badge fr-badge--sm fr-badge--warning">"Invitation en attente"</span></dd>
                        </dl>
                        <p class="fr-mt-2w">
                            "Si cette adresse n'avait pas encore de compte, il est créé et la personne figure dès maintenant dans la liste des agents ; "
                            "sinon, elle y figurera dès qu'elle aura accepté l'invitation."
                        </p>
                    </section>
                    <ul class="fr-btns-group fr-btns-group--inline-md">
                        <li><A href=list() attr:class="fr-btn">"Retour à la liste des agents"</A></li>
                        <li><button type="button" class="fr-btn fr-btn--secondary" on:click=move |_| create.value().set(None)>"Créer un autre utilisateur"</button></li>
                    </ul>
                }.into_any(),
                None => view! {
                    <p>
                        "La personne reçoit une invitation à l'adresse indiquée. Si elle n'a pas encore de compte Habilitations, il est créé avec cette fiche et elle choisit son mot de passe ; "
                        "si elle en a déjà un, elle accepte ou refuse de rejoindre la structure et garde sa fiche."
                    </p>
                    <FormAlert error=err/>
                    <Suspense fallback=crate::ui::loading>
                        {move || Suspend::new(async move {
                            match units.await {
                                Err(e) => view! { <crate::ui::ErrorNotice error=e/> }.into_any(),
                                Ok((groups, manager, list)) => {
                                    let options = list.into_iter().filter(|u| u.active)
                                        .map(|u| UnitOption { id: u.id, label: format!("{} — {}", u.code, u.libelle) })
                                        .collect::<Vec<_>>();
                                    let group_msg = Memo::new(move |_| err.get().and_then(|e| e.field("group_id")));
                                    view! {
                                        <ActionForm action=create>
                                            <input type="hidden" name="organisation_id" value=org()/>
                                            <FicheFields f=AgentFields::default() error=err/>
                                            {manager.then(|| view! { <UnitSelect units=options selected=None error=err/> })}
                                            <div class="fr-select-group" class:fr-select-group--error=move || group_msg.get().is_some()>
                                                <label class="fr-label" for="champ-group_id">
                                                    {if manager { "Groupe d'utilisateurs (facultatif)" } else { "Groupe d'utilisateurs" }}
                                                    <span class="fr-hint-text">"La personne en devient membre dès son ouverture."</span>
                                                </label>
                                                <select class="fr-select" id="champ-group_id" name="group_id" aria-required=(!manager).then_some("true")>
                                                    <option value="0" selected>{if manager { "Aucun" } else { "Choisissez un groupe" }}</option>
                                                    {groups.into_iter().map(|g| view! { <option value=g.id>{g.label}</option> }).collect::<Vec<_>>()}
                                                </select>
                                                {move || group_msg.get().map(|m| view! { <p class="fr-error-text">{m}</p> })}
                                            </div>
                                            <ul class="fr-btns-group fr-btns-group--inline">
                                                <li><button type="submit" class="fr-btn">"Valider"</button></li>
                                                <li><A href=format!("/structures/{}/agents", org()) attr:class="fr-btn fr-btn--secondary">"Annuler"</A></li>
                                            </ul>
                                        </ActionForm>
                                    }.into_any()
                                }
                            }
                        })}
                    </Suspense>
                }.into_any(),
            }}
        </div>
    }
}

/// An agent's page: tabs "Coordonnées" and "Rôles".
#[component]
pub fn AgentPage() -> impl IntoView {
    let org = crate::ui::id_param("org");
    let user = crate::ui::id_param("user");
    let query = use_query_map();
    // The tab is in the address (`?onglet=roles`): a reload, a shared link
    // or the list's « Voir les rôles » open it, on the server's first
    // render too.
    let roles_tab = RwSignal::new(query.get_untracked().get("onglet").as_deref() == Some("roles"));
    let show_tab = move |roles: bool| {
        roles_tab.set(roles);
        #[cfg(feature = "hydrate")]
        {
            let url = format!(
                "{}{}",
                leptos::prelude::window()
                    .location()
                    .pathname()
                    .unwrap_or_default(),
                if roles { "?onglet=roles" } else { "" }
            );
            if let Ok(history) = leptos::prelude::window().history() {
                // Replaced, not pushed: a tab is not a page to go back to.
                let _ = history.replace_state_with_url(
                    &leptos::wasm_bindgen::JsValue::NULL,
                    "",
                    Some(&url),
                );
            }
        }
    };
    let update = ServerAction::<UpdateAgent>::new();
    let set_unit = ServerAction::<SetAgentUnit>::new();
    let detach = ServerAction::<DetachAgent>::new();
    let save_roles = ServerAction::<SaveAgentRoles>::new();
    let set_dates = ServerAction::<SetGrantDates>::new();
    // The fiche and the Rôles tab are loaded by one resource, created here
    // (above the Suspense) and read by one `Suspend`. A resource created
    // inside a `Suspend` is created again (and its owner disposed while its
    // server function runs) when the server walks the view; a `Suspense`
    // nested in a `Suspend`, or waiting on two resources that finish at
    // the same moment, sometimes never resolved on the server: one load in
    // five of this page never ended.
    let data = Resource::new(
        move || {
            (
                org(),
                user(),
                update.version().get(),
                set_unit.version().get(),
                save_roles.version().get() + set_dates.version().get(),
                // After « Détacher » the page shows the person as they now
                // are (no longer at the service), not as they were.
                detach.version().get(),
            )
        },
        |(o, u, _, _, _, _)| async move {
            let (o, u) = (crate::domain::OrganisationId(o), crate::domain::UserId(u));
            let agent = get_agent(o, u).await?;
            let roles = get_agent_roles(o, u).await;
            let effective = get_effective_rights(o, u).await;
            Ok::<_, AppError>((agent, roles, effective))
        },
    );
    let tab = move |roles: bool, label: &'static str, id: &'static str, panel: &'static str| {
        view! {
            <li role="presentation">
                <button type="button" class="fr-btn fr-btn--tertiary-no-outline onglet" id=id role="tab" tabindex=move || if roles_tab.get() == roles { "0" } else { "-1" }
                    aria-selected=move || if roles_tab.get() == roles { "true" } else { "false" } aria-controls=panel
                    on:click=move |_| show_tab(roles)
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        // WAI-ARIA tabs: arrows (and Home / End) move to the
                        // other tab and show its panel.
                        if matches!(ev.key().as_str(), "ArrowLeft" | "ArrowRight" | "Home" | "End") {
                            ev.prevent_default();
                            let other = match ev.key().as_str() {
                                "Home" => false,
                                "End" => true,
                                _ => !roles,
                            };
                            show_tab(other);
                            let id = if other { "onglet-roles" } else { "onglet-coordonnees" };
                            if let Some(el) = document().get_element_by_id(id) {
                                use leptos::wasm_bindgen::JsCast;
                                if let Ok(el) = el.dyn_into::<leptos::web_sys::HtmlElement>() {
                                    let _ = el.focus();
                                }
                            }
                        }
                    }>{label}</button>
            </li>
        }
    };
    view! {
        <div class="fr-container fr-my-4w">
            <Suspense fallback=crate::ui::loading>
                {move || Suspend::new(async move {
                    match data.await {
                        // Detached from the structure: the fiche is no longer
                        // this structure's to show.
                        Err(AppError::NotFound) if matches!(detach.value().get_untracked(), Some(Ok(_))) => view! {
                            <h1>"Personne détachée"</h1>
                            <Success>"La personne a été détachée de la structure : ses habilitations y ont pris fin. "
                                <A href=format!("/structures/{}/agents", org())>"Retour à la liste des agents"</A>
                            </Success>
                        }.into_any(),
                        // Closed by a responsable habilitations: the closing
                        // ended the person's memberships, so they left the
                        // responsable's groups (and reach).
                        Err(AppError::Forbidden) if matches!(update.value().get_untracked(), Some(Ok(_))) => view! {
                            <h1>"Compte clôturé"</h1>
                            <Success>"Les modifications ont été enregistrées. Le compte est clôturé : la personne a quitté vos groupes, ses habilitations ont pris fin. "
                                <A href=format!("/structures/{}/agents", org())>"Retour à la liste des agents"</A>
                            </Success>
                        }.into_any(),
                        Err(e) => view! { <crate::ui::ErrorNotice error=e/> }.into_any(),
                        Ok((a, roles_data, effective)) => {
                            view! {
                            <p><A href=format!("/structures/{}/agents", org())>"Retour à la liste des agents"</A></p>
                            <h1>{format!("{} {}", a.fiche.prenom, a.fiche.nom)}</h1>
                            <p class="fr-text--lead">
                                "Identifiant " <strong>{a.identifier.clone()}</strong> " — " {a.organisation.clone()} " — "
                                <span class="fr-badge" class:fr-badge--success=a.statut == "Ouvert">{a.statut.clone()}</span>
                                {(!a.admin_role.is_empty()).then(|| view! { " " <span class="fr-badge fr-badge--info">{a.admin_role.clone()}</span> })}
                                {a.invitation_pending.then(|| view! { " " <span class="fr-badge fr-badge--warning">"Invitation en attente"</span> })}
                            </p>
                            <div class="onglets">
                                <ul class="onglets__liste" role="tablist" aria-label="Fiche de l'agent">
                                    {tab(false, "Coordonnées", "onglet-coordonnees", "panneau-coordonnees")}
                                    {tab(true, "Rôles", "onglet-roles", "panneau-roles")}
                                </ul>
                                <div id="panneau-coordonnees" class="onglets__panneau" role="tabpanel"
                                    aria-labelledby="onglet-coordonnees" tabindex="0" hidden=move || roles_tab.get()>
                                    <Coordonnees a=a.clone() org=org() update set_unit detach/>
                                </div>
                                <div id="panneau-roles" class="onglets__panneau" role="tabpanel"
                                    aria-labelledby="onglet-roles" tabindex="0" hidden=move || !roles_tab.get()>
                                    // A responsable habilitations administers here only the profiles
                                    // of the démarches whose « Habiliter » role they hold.
                                    {(a.manager || matches!(&roles_data, Ok(apps) if !apps.is_empty())).then(|| view! {
                                        <RolesTab org=org() user=a.id save=save_roles set_dates data=roles_data/>
                                    })}
                                    <EffectiveRights data=effective/>
                                </div>
                            </div>
                        }.into_any()
                        }
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn Coordonnees(
    a: AgentDetail,
    org: i64,
    update: ServerAction<UpdateAgent>,
    set_unit: ServerAction<SetAgentUnit>,
    detach: ServerAction<DetachAgent>,
) -> impl IntoView {
    let err = action_error(update);
    let unit_err = action_error(set_unit);
    let detach_err = action_error(detach);
    let on_unit = a.unit_id.is_some();
    view! {
        <h2 class="fr-h4">"Modifier un utilisateur"</h2>
        {move || match update.value().get() {
            Some(Ok(false)) => Some(view! { <Success>"Les modifications ont été enregistrées."</Success> }.into_any()),
            Some(Ok(true)) => Some(view! { <Success>"Les modifications ont été enregistrées. La nouvelle adresse mail prendra effet quand la personne l'aura confirmée par le lien qui vient de lui être envoyé ; l'ancienne reste valable d'ici là."</Success> }.into_any()),
            _ => None,
        }}
        <FormAlert error=err/>
        {if a.editable {
            view! {
                <ActionForm action=update>
                    <input type="hidden" name="organisation_id" value=org/>
                    <input type="hidden" name="user_id" value=a.id/>
                    <FicheFields f=a.fiche.clone() error=err/>
                    <button type="submit" class="fr-btn">"Enregistrer les modifications"</button>
                </ActionForm>
            }.into_any()
        } else {
            view! {
                <div class="fr-notice fr-notice--info fr-mb-3w"><div class="fr-container"><div class="fr-notice__body">
                    <p class="fr-notice__title">"Le compte de cette personne n'a pas été créé par votre structure, appartient aussi à d'autres structures ou à un administrateur : seul son rattachement à la vôtre peut être modifié ici."</p>
                </div></div></div>
                <dl class="coordonnees">
                    <dt>"Adresse mail"</dt><dd>{a.fiche.email.clone()}</dd>
                    <dt>"Téléphone"</dt><dd>{a.fiche.telephone.clone()}</dd>
                </dl>
            }.into_any()
        }}
        {a.manager.then(|| view! {
        <h2 class="fr-h4 fr-mt-4w">"Rattachement"</h2>
        {move || matches!(set_unit.value().get(), Some(Ok(_))).then(|| view! { <Success>"Le rattachement a été modifié."</Success> })}
        <FormAlert error=unit_err/>
        <ActionForm action=set_unit>
            <input type="hidden" name="organisation_id" value=org/>
            <input type="hidden" name="user_id" value=a.id/>
            <UnitSelect units=a.units.clone() selected=a.unit_id error=unit_err/>
            <button type="submit" class="fr-btn fr-btn--secondary">"Changer le rattachement"</button>
        </ActionForm>
        <h2 class="fr-h4 fr-mt-4w">"Détacher"</h2>
        {move || matches!(detach.value().get(), Some(Ok(_))).then(|| view! {
            <Success>"La personne a été détachée. " <A href=format!("/structures/{org}/agents")>"Retour à la liste des agents"</A></Success>
        })}
        <FormAlert error=detach_err/>
        <ActionForm action=detach>
            <input type="hidden" name="organisation_id" value=org/>
            <input type="hidden" name="user_id" value=a.id/>
            // The safe choice is selected: leaving the service keeps the
            // person (and their rights) in the structure.
            <RadioGroup name="niveau" legend="Détacher" selected=if on_unit { "service" } else { "structure" }
                options=if on_unit { &[("service", "Du service (elle reste rattachée à la structure)"), ("structure", "De la structure (ses habilitations prennent fin)")] } else { &[("structure", "De la structure (ses habilitations prennent fin)")] }
                error=detach_err/>
            <div class="fr-input-group" class:fr-input-group--error=move || detach_err.get().and_then(|e| e.field("commentaire")).is_some()>
                <label class="fr-label" for="champ-commentaire">"Motif (obligatoire)"</label>
                // No `required`: the browser's bubble would speak its own
                // language; the server's French message shows here instead.
                <textarea class="fr-input" id="champ-commentaire" name="commentaire" rows="3" aria-required="true"
                    aria-describedby=move || detach_err.get().and_then(|e| e.field("commentaire")).map(|_| "champ-commentaire-erreur")></textarea>
                {move || detach_err.get().and_then(|e| e.field("commentaire")).map(|m| view! { <p class="fr-error-text" id="champ-commentaire-erreur">{m}</p> })}
            </div>
            <button type="submit" class="fr-btn fr-btn--tertiary">"Détacher"</button>
        </ActionForm>
        })}
    }
}

/// One row per activated application: a checkbox and a level (`data`
/// is loaded by the page, with the fiche).
#[component]
fn RolesTab(
    org: i64,
    user: i64,
    save: ServerAction<SaveAgentRoles>,
    set_dates: ServerAction<SetGrantDates>,
    data: crate::error::AppResult<Vec<AgentAppRole>>,
) -> impl IntoView {
    let err = action_error(save);
    view! {
        <h2 class="fr-h4">"Rôles"</h2>
        {move || matches!(save.value().get(), Some(Ok(_))).then(|| view! { <Success>"Les rôles ont été enregistrés."</Success> })}
        <FormAlert error=err/>
        {match data {
            Err(e) => view! { <crate::ui::ErrorNotice error=e/> }.into_any(),
            Ok(apps) if apps.is_empty() => view! {
                <p>"Aucune démarche n'est activée pour cette structure."</p>
            }.into_any(),
            Ok(apps) => view! {
                <RolesForm org user apps=apps.clone() save/>
                <GrantDates org apps set=set_dates/>
            }.into_any(),
        }}
    }
}

/// « 2026-11-30 » as « 30/11/2026 ».
fn ymd_fr(s: &str) -> String {
    s.parse::<chrono::NaiveDate>()
        .map(|d| crate::ui::date_fr(&d))
        .unwrap_or_else(|_| s.to_string())
}

/// A date field of its own id (the fiche's have the same names).
#[component]
fn DateInput(
    id: &'static str,
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    #[prop(optional, into)] value: String,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    let msg = Memo::new(move |_| error.get().and_then(|e| e.field(name)));
    let err_id = format!("{id}-erreur");
    view! {
        <div class="fr-fieldset__element fr-fieldset__element--inline">
            <div class="fr-input-group" class:fr-input-group--error=move || msg.get().is_some()>
                <label class="fr-label" for=id>{label}<span class="fr-hint-text">{hint}</span></label>
                <input class="fr-input" type="date" id=id name=name value=value
                    aria-describedby={let e = err_id.clone(); move || msg.get().map(|_| e.clone())}/>
                {move || msg.get().map(|m| view! { <p class="fr-error-text" id=err_id.clone()>{m}</p> })}
            </div>
        </div>
    }
}

/// « Modifier les dates » of the rights given directly (held today or
/// from a future date): closing them (never in the past), or moving the
/// opening of one not started yet.
#[component]
fn GrantDates(
    org: i64,
    apps: Vec<AgentAppRole>,
    set: ServerAction<SetGrantDates>,
) -> impl IntoView {
    let err = action_error(set);
    let field_err = move || {
        err.get().and_then(|e| {
            e.field("date_ouverture")
                .or_else(|| e.field("date_cloture"))
        })
    };
    let rows: Vec<_> = apps
        .into_iter()
        .filter_map(|a| {
            let (gid, from, until) = a.grant.clone()?;
            let role = a
                .roles
                .iter()
                .find(|r| Some(r.0) == a.current)
                .map(|r| r.1.clone())
                .unwrap_or_default();
            Some((gid, from, until, format!("{} — {}", a.libelle, role)))
        })
        .collect();
    (!rows.is_empty()).then(|| view! {
        <h3 class="fr-h5 fr-mt-4w">"Dates des habilitations attribuées directement"</h3>
        {move || matches!(set.value().get(), Some(Ok(_))).then(|| view! { <Success>"Les dates ont été modifiées."</Success> })}
        <FormAlert error=err/>
        {move || field_err().map(|m| view! { <div class="fr-alert fr-alert--error fr-alert--sm fr-mb-3w" role="alert"><p>{m}</p></div> })}
        <ul class="fr-raw-list">
            {rows.into_iter().map(|(gid, from, until, label)| {
                let (o, o_for) = (format!("habilitation-{gid}-ouverture"), format!("habilitation-{gid}-ouverture"));
                let (c, c_for) = (format!("habilitation-{gid}-cloture"), format!("habilitation-{gid}-cloture"));
                let legend = format!("habilitation-{gid}-titre");
                let labelled = legend.clone();
                view! {
                    <li class="dates-habilitation">
                        <ActionForm action=set>
                            <input type="hidden" name="organisation_id" value=org/>
                            <input type="hidden" name="grant_id" value=gid/>
                            <fieldset class="fr-fieldset" aria-labelledby=labelled>
                                <legend class="fr-fieldset__legend fr-text--regular" id=legend>{label.clone()}</legend>
                                <div class="fr-fieldset__element fr-fieldset__element--inline">
                                    <div class="fr-input-group">
                                        <label class="fr-label" for=o_for>"Date d'ouverture"</label>
                                        <input class="fr-input" type="date" id=o name="date_ouverture" value=from/>
                                    </div>
                                </div>
                                <div class="fr-fieldset__element fr-fieldset__element--inline">
                                    <div class="fr-input-group">
                                        <label class="fr-label" for=c_for>"Date de clôture"</label>
                                        <input class="fr-input" type="date" id=c name="date_cloture" value=until/>
                                    </div>
                                </div>
                                <div class="fr-fieldset__element fr-fieldset__element--inline filtres__bouton">
                                    <button type="submit" class="fr-btn fr-btn--secondary" aria-label=format!("Modifier les dates : {label}")>"Modifier les dates"</button>
                                </div>
                            </fieldset>
                        </ActionForm>
                    </li>
                }
            }).collect::<Vec<_>>()}
        </ul>
    })
}

/// « Habilitations effectives aujourd'hui »: direct rights and those of
/// the agent's groups, as every reader sees them.
#[component]
fn EffectiveRights(data: crate::error::AppResult<Vec<EffectiveRight>>) -> impl IntoView {
    view! {
        <h3 class="fr-h5 fr-mt-4w">"Habilitations effectives aujourd'hui"</h3>
        {match data {
            Err(e) => view! { <crate::ui::ErrorNotice error=e/> }.into_any(),
            Ok(rows) if rows.is_empty() => view! { <p>"Aucune habilitation effective."</p> }.into_any(),
            Ok(rows) => view! {
                <ScrollTable label="Habilitations effectives">
                    <table>
                        <caption>"Habilitations effectives"</caption>
                        <thead><tr><th scope="col">"Démarche"</th><th scope="col">"Rôle"</th><th scope="col">"Origine"</th></tr></thead>
                        <tbody>
                            {rows.into_iter().map(|r| view! {
                                <tr class="habilitation-effective"><td>{r.application}</td><td>{r.role}</td><td>{r.origine}</td></tr>
                            }).collect::<Vec<_>>()}
                        </tbody>
                    </table>
                </ScrollTable>
            }.into_any(),
        }}
    }
}

#[component]
fn RolesForm(
    org: i64,
    user: i64,
    apps: Vec<AgentAppRole>,
    save: ServerAction<SaveAgentRoles>,
) -> impl IntoView {
    let err = action_error(save);
    // application id → (ticked, level)
    let saved: BTreeMap<i64, (bool, i64)> = apps
        .iter()
        .map(|a| {
            (
                a.application_id,
                (
                    a.current.is_some(),
                    a.current
                        .unwrap_or(a.roles.first().map(|r| r.0).unwrap_or(0)),
                ),
            )
        })
        .collect();
    let state = RwSignal::new(saved.clone());
    let filter = RwSignal::new(String::new());
    let joined = move || {
        state
            .get()
            .values()
            .filter(|(on, _)| *on)
            .map(|(_, r)| r.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let long = apps.len() > 6;
    view! {
        {long.then(|| view! {
            <div class="fr-input-group">
                <label class="fr-label" for="filtre-profil">"Profil recherché"</label>
                <input class="fr-input" type="search" id="filtre-profil" prop:value=move || filter.get()
                    on:input=move |ev| filter.set(event_target_value(&ev))/>
            </div>
        })}
        <ActionForm action=save>
            <input type="hidden" name="organisation_id" value=org/>
            <input type="hidden" name="user_id" value=user/>
            <input type="hidden" name="role_ids" value=joined/>
            <ScrollTable label="Rôles par démarche activée">
                <table>
                    <caption>"Rôles par démarche activée"</caption>
                    <thead><tr><th scope="col">"Démarche"</th><th scope="col">"Niveau"</th><th scope="col">"Période attribuée"</th></tr></thead>
                    <tbody>
                        {apps.into_iter().map(|a| {
                            let app_id = a.application_id;
                            let check_id = format!("demarche-{}", a.code);
                            let level_id = format!("niveau-{}", a.code);
                            let name = a.libelle.clone();
                            let lower = name.to_lowercase();
                            let period = a.grant.as_ref().map(|(_, from, until)| match until.is_empty() {
                                true => format!("à partir du {}", ymd_fr(from)),
                                false => format!("du {} au {} (exclu)", ymd_fr(from), ymd_fr(until)),
                            }).unwrap_or_else(|| "—".into());
                            view! {
                                <tr class="role-demarche" data-app=a.code.clone()
                                    hidden=move || { let f = filter.get().to_lowercase(); !f.is_empty() && !lower.contains(f.trim()) }>
                                    <td>
                                        <div class="fr-checkbox-group">
                                            <input type="checkbox" id=check_id.clone()
                                                prop:checked=move || state.get().get(&app_id).map(|s| s.0).unwrap_or(false)
                                                on:change=move |ev| {
                                                    let on = event_target_checked(&ev);
                                                    state.update(|m| { if let Some(s) = m.get_mut(&app_id) { s.0 = on; } });
                                                }/>
                                            <label class="fr-label" for=check_id>{name.clone()}</label>
                                        </div>
                                    </td>
                                    <td>
                                        <label class="fr-label fr-sr-only" for=level_id.clone()>{format!("Niveau pour {name}")}</label>
                                        <select class="fr-select" id=level_id
                                            prop:value=move || state.get().get(&app_id).map(|s| s.1.to_string()).unwrap_or_default()
                                            on:change=move |ev| {
                                                let v = event_target_value(&ev).parse::<i64>().unwrap_or(0);
                                                state.update(|m| { if let Some(s) = m.get_mut(&app_id) { s.1 = v; } });
                                            }>
                                            {a.roles.iter().map(|(rid, lib)| {
                                                let rid = *rid;
                                                view! { <option value=rid selected=move || state.get().get(&app_id).map(|s| s.1) == Some(rid)>{lib.clone()}</option> }
                                            }).collect::<Vec<_>>()}
                                        </select>
                                    </td>
                                    <td class="periode">{period}</td>
                                </tr>
                            }
                        }).collect::<Vec<_>>()}
                    </tbody>
                </table>
            </ScrollTable>
            <fieldset class="fr-fieldset" aria-labelledby="titre-periode-roles">
                <legend class="fr-fieldset__legend fr-text--regular" id="titre-periode-roles">"Période des rôles ajoutés"</legend>
                <DateInput id="roles-date_ouverture" name="date_ouverture" label="Date d'ouverture" hint="Par défaut : aujourd'hui ; jamais dans le passé." error=err/>
                <DateInput id="roles-date_cloture" name="date_cloture" label="Date de clôture" hint="Facultative : le premier jour où le rôle n'est plus détenu." error=err/>
            </fieldset>
            <ul class="fr-btns-group fr-btns-group--inline">
                <li><button type="submit" class="fr-btn">"Enregistrer"</button></li>
                <li><button type="button" class="fr-btn fr-btn--secondary" on:click=move |_| state.set(saved.clone())>"Réinitialiser"</button></li>
            </ul>
        </ActionForm>
    }
}

/// The invited person chooses their password.
#[component]
pub fn InvitationPage() -> impl IntoView {
    let query = use_query_map();
    let accept = ServerAction::<AcceptInvitation>::new();
    let err = action_error(accept);
    view! {
        <div class="fr-container fr-my-4w">
            <div class="fr-grid-row fr-grid-row--center"><div class="fr-col-12 fr-col-md-8 fr-col-lg-6">
                <h1>"Activer votre compte"</h1>
                {move || if matches!(accept.value().get(), Some(Ok(_))) {
                    view! {
                        <Success>"Votre mot de passe est enregistré et vous êtes connecté(e)."</Success>
                        <A href="/" attr:class="fr-btn">"Accéder à mes démarches"</A>
                    }.into_any()
                } else {
                    view! {
                        <p>"Choisissez le mot de passe de votre compte Habilitations."</p>
                        <FormAlert error=err/>
                        <ActionForm action=accept>
                            <input type="hidden" name="jeton" value=move || query.get().get("jeton").unwrap_or_default()/>
                            <Field label="Mot de passe" name="password" kind="password" autocomplete="new-password"
                                hint="12 caractères au moins ; une phrase de plusieurs mots est plus facile à retenir." required=true error=err/>
                            <Field label="Confirmer le mot de passe" name="password_confirmation" kind="password" autocomplete="new-password" required=true error=err/>
                            <button type="submit" class="fr-btn">"Activer mon compte"</button>
                        </ActionForm>
                    }.into_any()
                }}
            </div></div>
        </div>
    }
}

/// Header: the organisation the person works in, when they have several.
#[component]
pub fn OrganisationSwitcher(
    user: crate::auth::SessionUser,
    /// Where it is shown ("entete", "menu"): the header has it twice.
    place: &'static str,
) -> impl IntoView {
    let switch = ServerAction::<SwitchOrganisation>::new();
    let current = user.current_organisation;
    let id = format!("choix-structure-{place}");
    view! {
        <PostForm
            action=switch
            args=|data: &web_sys::FormData| SwitchOrganisation {
                organisation_id: form_text(data, "organisation_id").parse().unwrap_or_default(),
            }
            class="selecteur-structure"
        >
            <label class="fr-sr-only" for=id.clone()>"Structure de travail"</label>
            <select class="fr-select fr-select--sm" id=id name="organisation_id">
                <option value="0" selected=current.is_none() disabled=true>"Toutes mes structures"</option>
                {user.organisations.into_iter().map(|(id, nom)| view! {
                    <option value=id selected=current == Some(id)>{nom}</option>
                }).collect::<Vec<_>>()}
            </select>
            <button type="submit" class="fr-btn fr-btn--sm fr-btn--tertiary-no-outline">"Changer de structure"</button>
        </PostForm>
    }
}

/// "Mes structures": the invitations to join a structure, each accepted or
/// declined by the invited person (nothing is attached before).
#[component]
pub fn JoinInvitations(answer: ServerAction<AnswerJoinInvitation>) -> impl IntoView {
    let err = action_error(answer);
    let list = Resource::new(move || answer.version().get(), |_| my_invitations());
    view! {
        {move || match answer.value().get() {
            Some(Ok(())) => Some(view! { <Success>"Votre réponse a été enregistrée."</Success> }),
            _ => None,
        }}
        <FormAlert error=err/>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(items) if !items.is_empty() => Some(view! {
                        <section class="fr-mb-4w invitations-structures" aria-labelledby="titre-invitations">
                            <h2 id="titre-invitations" class="fr-h4">"Invitations à rejoindre une structure"</h2>
                            <p>"Une structure souhaite vous rattacher. Rien n'est fait sans votre accord."</p>
                            <ul class="fr-raw-list">
                                {items.into_iter().map(|i| {
                                    let label = i.organisation.clone();
                                    view! {
                                        <li class="fr-mb-2w invitation-structure">
                                            <strong>{i.organisation.clone()}</strong> " — SIRET " {i.siret.clone()}
                                            {(!i.invited_by.is_empty()).then(|| format!(" — invitation de {}", i.invited_by))}
                                            {format!(" (valable jusqu'au {})", i.expires_on)}
                                            <ul class="fr-btns-group fr-btns-group--inline fr-btns-group--sm fr-mt-1w">
                                                <li>
                                                    <ActionForm action=answer>
                                                        <input type="hidden" name="invitation_id" value=i.id/>
                                                        <input type="hidden" name="reponse" value="accepter"/>
                                                        <button type="submit" class="fr-btn fr-btn--sm" aria-label=format!("Accepter de rejoindre {label}")>"Accepter"</button>
                                                    </ActionForm>
                                                </li>
                                                <li>
                                                    <ActionForm action=answer>
                                                        <input type="hidden" name="invitation_id" value=i.id/>
                                                        <input type="hidden" name="reponse" value="refuser"/>
                                                        <button type="submit" class="fr-btn fr-btn--sm fr-btn--secondary" aria-label=format!("Refuser de rejoindre {}", i.organisation)>"Refuser"</button>
                                                    </ActionForm>
                                                </li>
                                            </ul>
                                        </li>
                                    }
                                }).collect::<Vec<_>>()}
                            </ul>
                        </section>
                    }),
                    _ => None,
                }
            })}
        </Suspense>
    }
}

/// The owner of a new address confirms it (link sent by a structure that
/// changed the address on their fiche).
#[component]
pub fn ConfirmEmailChangePage() -> impl IntoView {
    let query = use_query_map();
    let confirm = ServerAction::<ConfirmEmailChange>::new();
    let err = action_error(confirm);
    view! {
        <div class="fr-container fr-my-4w">
            <div class="fr-grid-row fr-grid-row--center"><div class="fr-col-12 fr-col-md-8 fr-col-lg-6">
                <h1>"Confirmer votre nouvelle adresse mail"</h1>
                {move || if matches!(confirm.value().get(), Some(Ok(_))) {
                    view! {
                        <Success>"Votre nouvelle adresse est confirmée : utilisez-la désormais pour vous connecter."</Success>
                        <A href="/connexion" attr:class="fr-btn">"Se connecter"</A>
                    }.into_any()
                } else {
                    view! {
                        <p>"Une structure a indiqué cette adresse pour votre compte Habilitations. Confirmez-la si elle est bien la vôtre ; sinon, ignorez cette page : rien ne change."</p>
                        <FormAlert error=err/>
                        <ActionForm action=confirm>
                            <input type="hidden" name="jeton" value=move || query.get().get("jeton").unwrap_or_default()/>
                            <button type="submit" class="fr-btn">"Confirmer ma nouvelle adresse"</button>
                        </ActionForm>
                    }.into_any()
                }}
            </div></div>
        </div>
    }
}
