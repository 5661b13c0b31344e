//! Screens « Groupes d'utilisateurs », « Créer / Modifier un groupe »,
//! « Habilitations du groupe », « Utilisateurs du groupe » and « Gérer
//! l'appartenance de l'utilisateur ».
use super::*;
use crate::ui::{
    action_error, action_ok, date_fr, Field, FilterField, FormAlert, ScrollTable, Success,
};
use leptos::form::ActionForm;
use leptos_router::components::{Form, A};
use leptos_router::hooks::use_query_map;

fn query_id(name: &'static str) -> impl Fn() -> i64 + Copy {
    let query = use_query_map();
    move || {
        query
            .get()
            .get(name)
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    }
}

/// « Convention sélectionnée : … — Organisme partenaire : … ».
#[component]
fn ConventionBanner(convention: Option<String>, organisation: String) -> impl IntoView {
    view! {
        <p class="fr-text--lead bandeau-convention">
            {convention.map(|c| view! { "Convention sélectionnée : " <strong>{c}</strong> " — " })}
            "Organisme partenaire : " <strong>{organisation}</strong>
        </p>
    }
}

fn period_text(o: &NaiveDate, c: &Option<NaiveDate>) -> String {
    match c {
        None => format!("depuis le {}", date_fr(o)),
        Some(c) => format!("du {} au {} (exclu)", date_fr(o), date_fr(c)),
    }
}

#[component]
pub fn GroupsPage() -> impl IntoView {
    let org = crate::ui::id_param("org");
    let convention = query_id("convention");
    let query = use_query_map();
    let get = move |k: &str| query.get().get(k).unwrap_or_default();
    let close = ServerAction::<CloseGroup>::new();
    let close_err = action_error(close);
    let data = Resource::new(
        move || {
            (
                org(),
                convention(),
                get("code"),
                get("libelle"),
                get("utilisateur"),
                get("apres"),
                close.version().get(),
            )
        },
        |(o, c, code, l, u, a, _)| {
            list_groups(
                crate::domain::OrganisationId(o),
                crate::domain::ConventionId(c),
                code,
                l,
                u,
                a,
            )
        },
    );
    view! {
        <div class="fr-container fr-my-4w">
            <h1>"Groupes d'utilisateurs"</h1>
            <FormAlert error=close_err/>
            {move || matches!(close.value().get(), Some(Ok(_))).then(|| view! {
                <Success>"Le groupe est clôturé : ses utilisateurs en sont retirés et ses droits ne comptent plus."</Success>
            })}
            <Suspense fallback=crate::ui::loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <crate::ui::ErrorNotice error=e/> }.into_any(),
                        Ok(page) => {
                            let org_id = org();
                            let cid = convention();
                            let filters = ["code", "libelle", "utilisateur"].map(get);
                            let keep = cid.to_string();
                            let next_href = page.next.clone().map(|n| crate::ui::query_string(&[
                                ("convention", if cid == 0 { String::new() } else { keep.clone() }),
                                ("code", filters[0].clone()), ("libelle", filters[1].clone()),
                                ("utilisateur", filters[2].clone()), ("apres", n),
                            ]));
                            let new_href = format!("/structures/{org_id}/groupes/nouveau{}",
                                crate::ui::query_string(&[("convention", if cid == 0 { String::new() } else { keep.clone() })]));
                            let manager = page.manager;
                            view! {
                                <ConventionBanner convention=page.convention.as_ref().map(|c| c.1.clone()) organisation=page.organisation.clone()/>
                                <ul class="fr-btns-group fr-btns-group--inline-md fr-btns-group--icon-left barre-actions">
                                    {manager.then(|| view! {
                                        <li><A href=new_href attr:class="fr-btn fr-icon-add-line fr-btn--icon-left">"Créer un groupe"</A></li>
                                        <li><A href=format!("/conventions?organisation={org_id}") attr:class="fr-btn fr-btn--tertiary">"Retour à la liste des conventions"</A></li>
                                    })}
                                    {(!manager).then(|| view! {
                                        <li><A href=format!("/structures/{org_id}/agents") attr:class="fr-btn fr-btn--tertiary">"Utilisateurs de mes groupes"</A></li>
                                    })}
                                </ul>
                                <Form method="GET" action="">
                                    {(cid != 0).then(|| view! { <input type="hidden" name="convention" value=cid/> })}
                                    <fieldset class="fr-fieldset filtres" aria-labelledby="titre-filtres">
                                        <legend class="fr-fieldset__legend fr-text--regular" id="titre-filtres">"Filtrer les groupes par"</legend>
                                        <FilterField id="filtre-code" name="code" label="Code" value=filters[0].clone()/>
                                        <FilterField id="filtre-libelle" name="libelle" label="Libellé" value=filters[1].clone()/>
                                        <FilterField id="filtre-utilisateur" name="utilisateur" label="Sélectionner un utilisateur (identifiant)" value=filters[2].clone()/>
                                        <div class="fr-fieldset__element fr-fieldset__element--inline filtres__bouton">
                                            <button class="fr-btn" type="submit">"Filtrer"</button>
                                        </div>
                                    </fieldset>
                                </Form>
                                {page.rows.is_empty().then(|| view! { <p role="status">"Aucun groupe ne correspond."</p> })}
                                {(!page.rows.is_empty()).then(|| view! {
                                    <ScrollTable label="Groupes d'utilisateurs">
                                        <table>
                                            <caption>"Groupes d'utilisateurs"</caption>
                                            <thead><tr>
                                                <th scope="col">"Code"</th><th scope="col">"Libellé"</th><th scope="col">"Niveau"</th>
                                                <th scope="col">"Date d'ouverture"</th><th scope="col">"Date de clôture"</th>
                                                <th scope="col">"Statut"</th><th scope="col">"Responsable habilitations"</th>
                                                <th scope="col" class="colonne-actions">"Actions"</th>
                                            </tr></thead>
                                            <tbody>
                                                {page.rows.into_iter().map(|g| view! { <GroupLine g org_id manager close/> }).collect::<Vec<_>>()}
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
fn GroupLine(
    g: GroupRow,
    org_id: i64,
    manager: bool,
    close: ServerAction<CloseGroup>,
) -> impl IntoView {
    let base = format!("/structures/{org_id}/groupes/{}", g.id);
    let open = g.statut == "Ouvert";
    let closable = manager && g.statut != "Clôturé";
    let confirming = RwSignal::new(false);
    let name = format!("{} — {}", g.code, g.libelle);
    let gid = g.id;
    view! {
        <tr class="groupe">
            <td>{g.code.clone()}</td>
            <td class="fr-cell--multiline">
                {g.libelle.clone()}
                {(!g.parent.is_empty()).then(|| view! { <br/><span class="fr-text--xs">"Sous-groupe de " {g.parent.clone()}</span> })}
            </td>
            <td>{g.niveau}</td>
            <td>{date_fr(&g.date_ouverture)}</td>
            <td>{g.date_cloture.map(|d| date_fr(&d)).unwrap_or_default()}</td>
            <td><span class="fr-badge fr-badge--sm" class:fr-badge--success=open>{g.statut.clone()}</span></td>
            <td class="fr-cell--multiline">{g.responsable.clone()}</td>
            <td class="colonne-actions">
                <details class="menu-actions">
                    <summary class="fr-btn fr-btn--sm fr-btn--tertiary" aria-label=format!("Actions pour le groupe {name}")>"Actions"</summary>
                    <ul class="menu-actions__liste">
                        <li><A href=base.clone()>{if manager { "Modifier" } else { "Détails du groupe" }}</A></li>
                        {manager.then(|| view! { <li><A href=format!("{base}/habilitations")>"Habilitations du groupe"</A></li> })}
                        <li><A href=format!("{base}/utilisateurs")>"Utilisateurs du groupe"</A></li>
                        {closable.then(|| view! {
                            <li><button type="button" on:click=move |_| confirming.set(true)>"Clôturer"</button></li>
                        })}
                    </ul>
                </details>
                {move || confirming.get().then(|| view! {
                    <div class="fr-alert fr-alert--warning fr-alert--sm fr-mt-1w" role="alertdialog" aria-label=format!("Clôturer le groupe {}", g.code)>
                        <p>"Clôturer ce groupe ? Ses utilisateurs en sont retirés (ils restent ouverts) et ses droits ne comptent plus."</p>
                        <ActionForm action=close>
                            <input type="hidden" name="organisation_id" value=org_id/>
                            <input type="hidden" name="group_id" value=gid/>
                            <ul class="fr-btns-group fr-btns-group--inline-sm fr-mt-1w">
                                <li><button type="submit" class="fr-btn fr-btn--sm">"Oui, clôturer"</button></li>
                                <li><button type="button" class="fr-btn fr-btn--sm fr-btn--secondary" on:click=move |_| confirming.set(false)>"Annuler"</button></li>
                            </ul>
                        </ActionForm>
                    </div>
                })}
            </td>
        </tr>
    }
}

/// « Créer un groupe utilisateurs » (`/structures/:org/groupes/nouveau`),
/// « Modifier » / « Détails du groupe » (`/structures/:org/groupes/:id`).
#[component]
pub fn GroupPage() -> impl IntoView {
    let org = crate::ui::id_param("org");
    let id = crate::ui::id_param("group");
    let convention = query_id("convention");
    let save = ServerAction::<SaveGroup>::new();
    let name = ServerAction::<SetGroupResponsable>::new();
    Effect::new(move |_| {
        if let Some(Ok(gid)) = save.value().get() {
            if id() == 0 {
                let navigate = leptos_router::hooks::use_navigate();
                navigate(
                    &format!("/structures/{}/groupes/{gid}?enregistre=1", org()),
                    Default::default(),
                );
            }
        }
    });
    let data = Resource::new(
        move || {
            (
                org(),
                id(),
                convention(),
                save.version().get(),
                name.version().get(),
            )
        },
        |(o, i, c, _, _)| {
            get_group(
                crate::domain::OrganisationId(o),
                crate::domain::GroupId(i),
                crate::domain::ConventionId(c),
            )
        },
    );
    view! {
        <div class="fr-container fr-my-4w">
            <Suspense fallback=crate::ui::loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <crate::ui::ErrorNotice error=e/> }.into_any(),
                        Ok(g) => view! { <GroupForm g save name/> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn GroupForm(
    g: GroupDetail,
    save: ServerAction<SaveGroup>,
    name: ServerAction<SetGroupResponsable>,
) -> impl IntoView {
    let err = action_error(save);
    let name_err = action_error(name);
    let saved = action_ok(save);
    let named = action_ok(name);
    let just_created = use_query_map().get_untracked().get("enregistre").is_some();
    let is_new = g.id == 0;
    let org_id = g.organisation_id;
    let base = format!("/structures/{org_id}/groupes");
    let title = if is_new {
        "Créer un groupe utilisateurs"
    } else if g.manager {
        "Modifier un groupe utilisateurs"
    } else {
        "Visualiser un groupe utilisateurs"
    };
    let responsable = RwSignal::new(g.responsable.clone());
    let creating = RwSignal::new(false);
    let cancel_href = base.clone();
    view! {
        <h1>{title}</h1>
        <ConventionBanner convention=(!g.convention.is_empty()).then(|| g.convention.clone()) organisation=g.organisation.clone()/>
        {move || (saved.get() || just_created).then(|| view! { <Success>"Le groupe est enregistré."</Success> })}
        {move || named.get().then(|| view! { <Success>"Le responsable habilitations est désigné."</Success> })}
        {if g.manager {
            let suggestions = g.suggestions.clone();
            view! {
                <ActionForm action=save>
                    <FormAlert error=err/>
                    <input type="hidden" name="organisation_id" value=org_id/>
                    <input type="hidden" name="id" value=g.id/>
                    {is_new.then(|| view! {
                        <ChoiceSelect label="Convention" name="convention_id" hint="Les rôles du groupe viennent de cette convention"
                            choices=g.conventions.clone() selected=g.convention_id placeholder="Choisir une convention" error=err/>
                    })}
                    <div class="fr-grid-row fr-grid-row--gutters fr-mb-3w">
                        <div class="fr-col-12 fr-col-md-6">
                            <Field label="Code" name="code" required=true hint="Unique dans la structure" value=g.code.clone() error=err/>
                            <Field label="Libellé" name="libelle" required=true value=g.libelle.clone() error=err/>
                        </div>
                        <div class="fr-col-12 fr-col-md-6">
                            <Field label="Date d'ouverture" name="date_ouverture" kind="date" required=true value=g.date_ouverture.to_string() error=err/>
                            <Field label="Date de clôture (facultative)" name="date_cloture" kind="date"
                                hint="Le premier jour où le groupe est clôturé : ses droits valent jusqu'à la veille."
                                value=g.date_cloture.map(|d| d.to_string()).unwrap_or_default() error=err/>
                        </div>
                    </div>
                    <ResponsableField value=responsable suggestions creating error=err/>
                    <ChoiceSelect label="Sous-groupe de" name="parent_id" hint="Facultatif : un sous-groupe ne reçoit que des rôles de son groupe parent"
                        choices=g.parents.clone() selected=g.parent_id placeholder="Aucun (groupe de niveau 1)" error=err/>
                    <ul class="fr-btns-group fr-btns-group--inline-md">
                        <li><button type="submit" class="fr-btn">{if is_new { "Créer le groupe" } else { "Enregistrer les modifications" }}</button></li>
                        <li><A href=cancel_href.clone() attr:class="fr-btn fr-btn--secondary">"Annuler"</A></li>
                    </ul>
                </ActionForm>
                {move || creating.get().then(|| view! { <CreateResponsable org_id value=responsable creating/> })}
            }.into_any()
        } else {
            view! {
                <dl class="coordonnees">
                    <dt>"Code"</dt><dd>{g.code.clone()}</dd>
                    <dt>"Libellé"</dt><dd>{g.libelle.clone()}</dd>
                    <dt>"Niveau"</dt><dd>{g.niveau}</dd>
                    <dt>"Sous-groupe de"</dt><dd>{if g.parent.is_empty() { "—".to_string() } else { g.parent.clone() }}</dd>
                    <dt>"Période"</dt><dd>{period_text(&g.date_ouverture, &g.date_cloture)} " — " {g.statut.clone()}</dd>
                    <dt>"Responsable habilitations"</dt><dd>{g.responsable_nom.clone()} " (" {g.responsable.clone()} ")"</dd>
                </dl>
                {g.may_name_responsable.then(|| view! {
                    <h2 class="fr-h4 fr-mt-4w">"Remplacer le responsable habilitations"</h2>
                    <ActionForm action=name>
                        <FormAlert error=name_err/>
                        <input type="hidden" name="organisation_id" value=org_id/>
                        <input type="hidden" name="group_id" value=g.id/>
                        <ResponsableField value=responsable suggestions=vec![] error=name_err/>
                        <button type="submit" class="fr-btn">"Désigner le responsable"</button>
                    </ActionForm>
                })}
            }.into_any()
        }}
        {(!is_new).then(|| view! {
            <ul class="fr-btns-group fr-btns-group--inline-md fr-mt-4w">
                {g.manager.then(|| view! { <li><A href=format!("{base}/{}/habilitations", g.id) attr:class="fr-btn fr-btn--secondary">"Habilitations du groupe"</A></li> })}
                <li><A href=format!("{base}/{}/utilisateurs", g.id) attr:class="fr-btn fr-btn--secondary">"Utilisateurs du groupe"</A></li>
                <li><A href=format!("{base}?convention={}", g.convention_id) attr:class="fr-btn fr-btn--tertiary">"Retour aux groupes"</A></li>
            </ul>
        })}
    }
}

/// « Responsable habilitations (obligatoire) »: an agent's identifiant or
/// email, with the structure's agents suggested; « Créer… » (when
/// `creating` is given) opens the form that creates one on the spot.
#[component]
fn ResponsableField(
    value: RwSignal<String>,
    suggestions: Vec<(String, String)>,
    #[prop(optional)] creating: Option<RwSignal<bool>>,
    error: Signal<Option<crate::error::AppError>>,
) -> impl IntoView {
    let msg = Memo::new(move |_| error.get().and_then(|e| e.field("responsable")));
    view! {
        <div class="fr-input-group" class:fr-input-group--error=move || msg.get().is_some()>
            <label class="fr-label" for="champ-responsable">
                "Responsable habilitations (obligatoire)"
                <span class="fr-hint-text">"Identifiant ou adresse mail d'un agent de la structure"</span>
            </label>
            <div class="champ-avec-bouton">
                <input class="fr-input" id="champ-responsable" name="responsable" required=true
                    prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))
                    list="agents-structure" autocomplete="off"
                    aria-invalid=move || msg.get().map(|_| "true")
                    aria-describedby=move || msg.get().map(|_| "champ-responsable-erreur")/>
                {creating.map(|c| view! {
                    <button type="button" class="fr-btn fr-btn--secondary" aria-expanded=move || c.get().to_string()
                        aria-controls="creer-responsable" on:click=move |_| c.update(|v| *v = !*v)>"Créer…"</button>
                })}
            </div>
            <datalist id="agents-structure">
                {suggestions.into_iter().map(|(ident, nom)| view! { <option value=ident>{nom}</option> }).collect::<Vec<_>>()}
            </datalist>
            {move || msg.get().map(|m| view! { <p id="champ-responsable-erreur" class="fr-error-text">{m}</p> })}
        </div>
    }
}

/// « Créer un utilisateur » from the group form: the new agent of the
/// structure becomes the responsable typed in the field.
#[component]
fn CreateResponsable(
    org_id: i64,
    value: RwSignal<String>,
    creating: RwSignal<bool>,
) -> impl IntoView {
    let create = ServerAction::<crate::users::CreateAgent>::new();
    let err = action_error(create);
    let first = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        if let Some(Ok(sent)) = create.value().get() {
            value.set(sent.email.clone());
            creating.set(false);
        }
    });
    // The panel takes the focus when it opens.
    Effect::new(move |_| {
        if let Some(div) = first.get() {
            use leptos::wasm_bindgen::JsCast;
            if let Some(input) = div
                .query_selector("input:not([type=hidden])")
                .ok()
                .flatten()
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
            {
                let _ = input.focus();
            }
        }
    });
    view! {
        <section id="creer-responsable" class="fr-p-3w fr-mb-3w bloc-creation" aria-labelledby="titre-creer-responsable">
            <h2 class="fr-h5" id="titre-creer-responsable">"Créer un utilisateur"</h2>
            <p class="fr-text--sm">"Il reçoit un courriel pour choisir son mot de passe ; il devient le responsable habilitations saisi ci-dessus."</p>
            <ActionForm action=create>
                <FormAlert error=err/>
                <input type="hidden" name="organisation_id" value=org_id/>
                <div node_ref=first class="fr-grid-row fr-grid-row--gutters">
                    <div class="fr-col-12 fr-col-md-6"><Field label="Nom" name="nom" required=true error=err/></div>
                    <div class="fr-col-12 fr-col-md-6"><Field label="Prénom" name="prenom" required=true error=err/></div>
                    <div class="fr-col-12 fr-col-md-6"><Field label="Adresse mail" name="email" kind="email" required=true error=err/></div>
                    <div class="fr-col-12 fr-col-md-6"><Field label="Confirmer l'adresse mail" name="email_confirmation" kind="email" required=true error=err/></div>
                </div>
                <ul class="fr-btns-group fr-btns-group--inline-sm">
                    <li><button type="submit" class="fr-btn fr-btn--sm">"Créer l'utilisateur"</button></li>
                    <li><button type="button" class="fr-btn fr-btn--sm fr-btn--secondary" on:click=move |_| creating.set(false)>"Annuler"</button></li>
                </ul>
            </ActionForm>
        </section>
    }
}

#[component]
fn ChoiceSelect(
    label: &'static str,
    name: &'static str,
    hint: &'static str,
    choices: Vec<Choice>,
    selected: i64,
    placeholder: &'static str,
    error: Signal<Option<crate::error::AppError>>,
) -> impl IntoView {
    let id = format!("champ-{name}");
    let err_id = format!("champ-{name}-erreur");
    let msg = Memo::new(move |_| error.get().and_then(|e| e.field(name)));
    let described = {
        let err_id = err_id.clone();
        move || msg.get().map(|_| err_id.clone())
    };
    view! {
        <div class="fr-select-group" class:fr-select-group--error=move || msg.get().is_some()>
            <label class="fr-label" for=id.clone()>{label} <span class="fr-hint-text">{hint}</span></label>
            <select class="fr-select" id=id name=name aria-describedby=described>
                <option value="0" selected=selected == 0>{placeholder}</option>
                {choices.into_iter().map(|c| view! { <option value=c.id selected=c.id == selected>{c.label}</option> }).collect::<Vec<_>>()}
            </select>
            {move || msg.get().map(|m| view! { <p id=err_id.clone() class="fr-error-text">{m}</p> })}
        </div>
    }
}

/// « Habilitations d'un groupe utilisateurs » (fiches 9, 12, 13).
#[component]
pub fn GroupRightsPage() -> impl IntoView {
    let org = crate::ui::id_param("org");
    let id = crate::ui::id_param("group");
    let service = query_id("service");
    let save = ServerAction::<SetGroupRoles>::new();
    let data = Resource::new(
        move || (org(), id(), service(), save.version().get()),
        |(o, g, s, _)| {
            load_group_rights(
                crate::domain::OrganisationId(o),
                crate::domain::GroupId(g),
                crate::domain::ApplicationId(s),
            )
        },
    );
    view! {
        <div class="fr-container fr-my-4w">
            <h1>"Habilitations d'un groupe utilisateurs"</h1>
            <Suspense fallback=crate::ui::loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <crate::ui::ErrorNotice error=e/> }.into_any(),
                        Ok(r) => view! { <RightsEditor r org_id=org() group_id=id() save/> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn RightsEditor(
    r: GroupRights,
    org_id: i64,
    group_id: i64,
    save: ServerAction<SetGroupRoles>,
) -> impl IntoView {
    let err = action_error(save);
    let saved = action_ok(save);
    let initial_assigned = r.assigned.clone();
    let initial_available = r.available.clone();
    let assigned = RwSignal::new(r.assigned.clone());
    let available = RwSignal::new(r.available.clone());
    let picked_left = RwSignal::new(Vec::<i64>::new());
    let picked_right = RwSignal::new(Vec::<i64>::new());
    let move_items = move |from: RwSignal<Vec<Choice>>,
                           to: RwSignal<Vec<Choice>>,
                           picked: RwSignal<Vec<i64>>| {
        let ids = picked.get();
        let moving: Vec<Choice> = from
            .get()
            .into_iter()
            .filter(|c| ids.contains(&c.id))
            .collect();
        from.update(|v| v.retain(|c| !ids.contains(&c.id)));
        to.update(|v| {
            v.extend(moving);
            v.sort_by(|a, b| a.label.cmp(&b.label));
        });
        picked.set(vec![]);
    };
    let joined = move || {
        assigned
            .get()
            .iter()
            .map(|c| c.id.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let selected_ids = |ev: &leptos::ev::Event| -> Vec<i64> {
        use leptos::wasm_bindgen::JsCast;
        let Some(sel) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok())
        else {
            return vec![];
        };
        let opts = sel.selected_options();
        (0..opts.length())
            .filter_map(|i| opts.item(i))
            .filter_map(|o| o.get_attribute("value"))
            .filter_map(|v| v.parse().ok())
            .collect()
    };
    let app_id = r.application_id;
    let services = r.services.clone();
    let no_services = r.services.is_empty();
    view! {
        <ConventionBanner convention=Some(r.convention.clone()) organisation=r.organisation.clone()/>
        <dl class="coordonnees">
            <dt>"Code groupe"</dt><dd>{r.code.clone()}</dd>
            <dt>"Libellé groupe"</dt><dd>{r.libelle.clone()}</dd>
            {(!r.parent.is_empty()).then(|| view! { <dt>"Sous-groupe de"</dt><dd>{r.parent.clone()}</dd> })}
        </dl>
        {(!r.open).then(|| view! { <p class="fr-alert fr-alert--info fr-alert--sm">"Ce groupe est clôturé : ses droits ne se modifient plus."</p> })}
        <Form method="GET" action="">
            <div class="fr-select-group champ-avec-bouton fr-mb-3w">
                <label class="fr-label" for="choix-service">"Services"</label>
                <select class="fr-select" id="choix-service" name="service">
                    {services.into_iter().map(|s| view! { <option value=s.id selected=s.id == app_id>{s.label}</option> }).collect::<Vec<_>>()}
                </select>
                <button type="submit" class="fr-btn fr-btn--secondary">"Afficher les rôles"</button>
            </div>
        </Form>
        {no_services.then(|| view! { <p>"La convention du groupe ne prévoit aucun service ouvert."</p> })}
        {move || saved.get().then(|| view! { <Success>"Les habilitations du groupe sont enregistrées."</Success> })}
        <ActionForm action=save>
            <FormAlert error=err/>
            <input type="hidden" name="organisation_id" value=org_id/>
            <input type="hidden" name="group_id" value=group_id/>
            <input type="hidden" name="application_id" value=app_id/>
            <input type="hidden" name="role_ids" prop:value=joined/>
            <div class="fr-grid-row fr-grid-row--gutters listes-roles">
                <div class="fr-col-12 fr-col-md-5">
                    <label class="fr-label" for="roles-disponibles">"Rôles disponibles"</label>
                    <select class="fr-select" id="roles-disponibles" multiple=true size="8"
                        on:change=move |ev| picked_left.set(selected_ids(&ev))>
                        {move || available.get().into_iter().map(|c| view! { <option value=c.id>{c.label}</option> }).collect::<Vec<_>>()}
                    </select>
                </div>
                <div class="fr-col-12 fr-col-md-2 listes-roles__boutons">
                    <button type="button" class="fr-btn fr-btn--secondary fr-btn--sm" disabled=move || !r.open
                        on:click=move |_| move_items(available, assigned, picked_left)>"Assigner rôle"</button>
                    <button type="button" class="fr-btn fr-btn--secondary fr-btn--sm" disabled=move || !r.open
                        on:click=move |_| move_items(assigned, available, picked_right)>"Retirer rôle"</button>
                </div>
                <div class="fr-col-12 fr-col-md-5">
                    <label class="fr-label" for="roles-assignes">"Rôles assignés"</label>
                    <select class="fr-select" id="roles-assignes" multiple=true size="8"
                        on:change=move |ev| picked_right.set(selected_ids(&ev))>
                        {move || assigned.get().into_iter().map(|c| view! { <option value=c.id>{c.label}</option> }).collect::<Vec<_>>()}
                    </select>
                </div>
            </div>
            <ul class="fr-btns-group fr-btns-group--inline-md fr-mt-2w">
                <li><button type="button" class="fr-btn fr-btn--secondary" on:click=move |_| {
                    assigned.set(initial_assigned.clone());
                    available.set(initial_available.clone());
                }>"Annuler"</button></li>
                <li><button type="submit" class="fr-btn" disabled=move || !r.open>"Enregistrer les modifications"</button></li>
            </ul>
        </ActionForm>
        <p><A href=format!("/structures/{org_id}/groupes/{group_id}") attr:class="fr-link">"Retour au groupe"</A></p>
    }
}

/// « Utilisateurs du groupe » (`/structures/:org/groupes/:group/utilisateurs`)
/// and « Gérer l'appartenance de l'utilisateur »
/// (`/structures/:org/agents/:user/groupes`), with « Ajouter à un groupe ».
#[component]
pub fn MembershipsPage() -> impl IntoView {
    let org = crate::ui::id_param("org");
    let group = crate::ui::id_param("group");
    let user = crate::ui::id_param("user");
    let after = query_id("apres");
    let add = ServerAction::<AddToGroup>::new();
    let update = ServerAction::<UpdateMembership>::new();
    let data = Resource::new(
        move || {
            (
                org(),
                group(),
                user(),
                after(),
                add.version().get(),
                update.version().get(),
            )
        },
        |(o, g, u, a, _, _)| {
            list_memberships(
                crate::domain::OrganisationId(o),
                crate::domain::GroupId(g),
                crate::domain::UserId(u),
                a,
            )
        },
    );
    let choices = Resource::new(
        move || (org(), group()),
        |(o, g)| async move {
            if g == 0 {
                group_choices(crate::domain::OrganisationId(o)).await
            } else {
                Ok(vec![])
            }
        },
    );
    let add_err = action_error(add);
    let update_err = action_error(update);
    view! {
        <div class="fr-container fr-my-4w">
            <Suspense fallback=crate::ui::loading>
                {move || Suspend::new(async move {
                    match (data.await, choices.await) {
                        (Err(e), _) | (_, Err(e)) => view! { <crate::ui::ErrorNotice error=e/> }.into_any(),
                        (Ok(m), Ok(groups)) => {
                            let org_id = org();
                            let by_group = group() != 0;
                            let next_href = m.next.map(|n| format!("?apres={n}"));
                            view! {
                                <h1>{if by_group { "Utilisateurs du groupe" } else { "Gérer l'appartenance de l'utilisateur" }}</h1>
                                <p class="fr-text--lead">{if by_group { "Groupe : " } else { "Utilisateur : " }} <strong>{m.title.clone()}</strong>
                                    " — Organisme partenaire : " <strong>{m.organisation.clone()}</strong></p>
                                <FormAlert error=update_err/>
                                {move || action_ok(update).get().then(|| view! { <Success>"L'appartenance est enregistrée."</Success> })}
                                {m.rows.is_empty().then(|| view! { <p role="status">"Aucune appartenance."</p> })}
                                {(!m.rows.is_empty()).then(|| view! {
                                    <ScrollTable label="Appartenances">
                                        <table>
                                            <caption>"Appartenances"</caption>
                                            <thead><tr>
                                                <th scope="col">{if by_group { "Utilisateur" } else { "Groupe" }}</th>
                                                <th scope="col">"Groupe parent"</th>
                                                <th scope="col">"Date d'ouverture"</th><th scope="col">"Date de clôture"</th>
                                                <th scope="col">"Statut"</th><th scope="col">"Modifier les dates"</th>
                                            </tr></thead>
                                            <tbody>
                                                {m.rows.into_iter().map(|r| view! { <MemberLine r by_group org_id update/> }).collect::<Vec<_>>()}
                                            </tbody>
                                        </table>
                                    </ScrollTable>
                                })}
                                {next_href.map(|h| view! { <A href=h attr:class="fr-btn fr-btn--secondary">"Page suivante"</A> })}
                                <h2 class="fr-h4 fr-mt-4w" id="ajouter">{if by_group { "Ajouter un utilisateur au groupe" } else { "Ajouter à un groupe" }}</h2>
                                {move || action_ok(add).get().then(|| view! { <Success>"L'utilisateur est ajouté au groupe."</Success> })}
                                <ActionForm action=add>
                                    <FormAlert error=add_err/>
                                    <input type="hidden" name="organisation_id" value=org_id/>
                                    {if by_group {
                                        view! {
                                            <input type="hidden" name="group_id" value=group()/>
                                            <Field label="Utilisateur" name="utilisateur" required=true
                                                hint="Identifiant ou adresse mail d'un agent de la structure" error=add_err/>
                                        }.into_any()
                                    } else {
                                        view! {
                                            <input type="hidden" name="user_id" value=user()/>
                                            <ChoiceSelect label="Groupe" name="group_id" hint="Le groupe parent est indiqué entre parenthèses"
                                                choices=groups selected=0 placeholder="Choisir un groupe" error=add_err/>
                                        }.into_any()
                                    }}
                                    <div class="fr-grid-row fr-grid-row--gutters">
                                        <div class="fr-col-12 fr-col-md-6">
                                            <Field label="Date d'ouverture" name="date_ouverture" kind="date" required=true
                                                value=chrono::Local::now().date_naive().to_string() error=add_err/>
                                        </div>
                                        <div class="fr-col-12 fr-col-md-6">
                                            <Field label="Date de clôture (facultative)" name="date_cloture" kind="date"
                                                hint="Le premier jour hors du groupe : l'utilisateur en est membre jusqu'à la veille." error=add_err/>
                                        </div>
                                    </div>
                                    <button type="submit" class="fr-btn">"Ajouter au groupe"</button>
                                </ActionForm>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </div>
    }
}

#[component]
fn MemberLine(
    r: MemberRow,
    by_group: bool,
    org_id: i64,
    update: ServerAction<UpdateMembership>,
) -> impl IntoView {
    let open = r.statut == "Ouvert";
    let who = if by_group {
        format!("{} {} ({})", r.prenom, r.nom, r.identifier)
    } else {
        r.group.clone()
    };
    let input_id = format!("cloture-{}", r.membership_id);
    let (who_link, label_text, button_label) = (
        who.clone(),
        format!("Date de clôture pour {who}"),
        format!("Enregistrer la date de clôture pour {who}"),
    );
    view! {
        <tr class="appartenance">
            <td class="fr-cell--multiline">
                {if by_group {
                    view! { <A href=format!("/structures/{org_id}/agents/{}/groupes", r.user_id)>{who_link}</A> }.into_any()
                } else {
                    view! { <A href=format!("/structures/{org_id}/groupes/{}/utilisateurs", r.group_id)>{who}</A> }.into_any()
                }}
            </td>
            <td class="fr-cell--multiline">{if r.parent.is_empty() { "N'a pas de parent".to_string() } else { r.parent.clone() }}</td>
            <td>{date_fr(&r.date_ouverture)}</td>
            <td>{r.date_cloture.map(|d| date_fr(&d)).unwrap_or_default()}</td>
            <td><span class="fr-badge fr-badge--sm" class:fr-badge--success=open>{r.statut.clone()}</span></td>
            <td>
                {r.editable.then(|| view! {
                    <ActionForm action=update attr:class="champ-avec-bouton">
                        <input type="hidden" name="organisation_id" value=org_id/>
                        <input type="hidden" name="membership_id" value=r.membership_id/>
                        <label class="fr-sr-only" for=input_id.clone()>{label_text}</label>
                        <input class="fr-input" type="date" id=input_id name="date_cloture"
                            value=r.date_cloture.map(|d| d.to_string()).unwrap_or_default()/>
                        <button type="submit" class="fr-btn fr-btn--sm fr-btn--secondary" aria-label=button_label>"Enregistrer"</button>
                    </ActionForm>
                })}
            </td>
        </tr>
    }
}
