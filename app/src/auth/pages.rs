//! Screens: Connexion, Se créer un compte, validation, Mot de passe oublié.
use super::*;
use crate::ui::{action_error, action_ok, form_text, Field, FormAlert, PostForm, Success};
use leptos::form::ActionForm;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

#[component]
fn Narrow(children: Children) -> impl IntoView {
    view! {
        <div class="fr-container fr-my-6w">
            <div class="fr-grid-row fr-grid-row--center">
                <div class="fr-col-12 fr-col-md-8 fr-col-lg-6">{children()}</div>
            </div>
        </div>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<Login>::new();
    let err = action_error(action);
    view! {
        <Narrow>
            <h1>"Connexion"</h1>
            <p>"Accédez simplement à vos démarches en ligne : créez votre compte, validez vos accès, accédez à vos démarches."</p>
            <PostForm action=action args=|data: &web_sys::FormData| Login {
                email: form_text(data, "email"),
                password: form_text(data, "password"),
            }>
                <FormAlert error=err/>
                <Field label="Adresse électronique" name="email" kind="email" autocomplete="email" required=true error=err/>
                <Field label="Mot de passe" name="password" kind="password" autocomplete="current-password" required=true error=err/>
                <p><A href="/mot-de-passe-oublie">"Mot de passe oublié ?"</A></p>
                <button type="submit" class="fr-btn">"Se connecter"</button>
            </PostForm>
            <hr class="fr-mt-4w"/>
            <h2 class="fr-h4">"Pas encore de compte ?"</h2>
            <A href="/inscription" attr:class="fr-btn fr-btn--secondary">"Se créer un compte"</A>
        </Narrow>
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let action = ServerAction::<Signup>::new();
    let err = action_error(action);
    let done = action_ok(action);
    view! {
        <Narrow>
            <h1>"Se créer un compte"</h1>
            <Show
                when=move || !done.get()
                fallback=|| view! {
                    <Success>
                        "Votre demande est enregistrée. Un courriel vous a été envoyé : ouvrez le lien qu'il contient pour valider votre adresse électronique, puis connectez-vous."
                    </Success>
                    <A href="/connexion" attr:class="fr-btn">"Aller à la connexion"</A>
                }
            >
                <p class="fr-text--sm">"Tous les champs sont obligatoires sauf mention contraire."</p>
                <ActionForm action=action>
                    <FormAlert error=err/>
                    <Civilite error=err/>
                    <Field label="Nom" name="nom" autocomplete="family-name" required=true error=err/>
                    <Field label="Prénom" name="prenom" autocomplete="given-name" required=true error=err/>
                    <Field label="Adresse électronique" name="email" kind="email" autocomplete="email" required=true hint="Format attendu : nom@domaine.fr" error=err/>
                    <Field label="Confirmation de l'adresse électronique" name="email_confirmation" kind="email" autocomplete="off" required=true error=err/>
                    <Field label="Téléphone (facultatif)" name="telephone" kind="tel" autocomplete="tel" error=err/>
                    <Field label="Confirmation du téléphone (si renseigné)" name="telephone_confirmation" kind="tel" autocomplete="off" error=err/>
                    <Field label="Mot de passe" name="password" kind="password" autocomplete="new-password" required=true
                        hint="Au moins 12 caractères. Une phrase de passe, facile à retenir, convient très bien." error=err/>
                    <Field label="Confirmation du mot de passe" name="password_confirmation" kind="password" autocomplete="new-password" required=true error=err/>
                    <button type="submit" class="fr-btn">"Créer mon compte"</button>
                </ActionForm>
            </Show>
        </Narrow>
    }
}

/// Civilité as a DSFR radio group.
#[component]
fn Civilite(#[prop(into)] error: Signal<Option<crate::error::AppError>>) -> impl IntoView {
    let msg = move || error.get().and_then(|e| e.field("civilite"));
    view! {
        <fieldset class="fr-fieldset" class:fr-fieldset--error=move || msg().is_some() id="champ-civilite" aria-labelledby="civilite-legend">
            <legend class="fr-fieldset__legend fr-fieldset__legend--regular" id="civilite-legend">"Civilité"</legend>
            <div class="fr-fieldset__element fr-fieldset__element--inline">
                <div class="fr-radio-group">
                    <input type="radio" id="civilite-mme" name="civilite" value="Mme"/>
                    <label class="fr-label" for="civilite-mme">"Madame"</label>
                </div>
            </div>
            <div class="fr-fieldset__element fr-fieldset__element--inline">
                <div class="fr-radio-group">
                    <input type="radio" id="civilite-m" name="civilite" value="M"/>
                    <label class="fr-label" for="civilite-m">"Monsieur"</label>
                </div>
            </div>
            {move || msg().map(|m| view! { <div class="fr-messages-group"><p class="fr-message fr-message--error">{m}</p></div> })}
        </fieldset>
    }
}

#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let action = ServerAction::<VerifyEmail>::new();
    let err = action_error(action);
    let done = action_ok(action);
    let q = use_query_map();
    let jeton = move || q.get().get("jeton").unwrap_or_default();
    view! {
        <Narrow>
            <h1>"Validation de votre adresse électronique"</h1>
            <Show
                when=move || !done.get()
                fallback=|| view! {
                    <Success>"Votre adresse électronique est validée : vous pouvez vous connecter."</Success>
                    <A href="/connexion" attr:class="fr-btn">"Se connecter"</A>
                }
            >
                <ActionForm action=action>
                    <FormAlert error=err/>
                    <input type="hidden" name="jeton" value=jeton/>
                    <p>"Confirmez que cette adresse électronique est bien la vôtre."</p>
                    <button type="submit" class="fr-btn">"Valider mon adresse électronique"</button>
                </ActionForm>
            </Show>
        </Narrow>
    }
}

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<ForgotPassword>::new();
    let err = action_error(action);
    let done = action_ok(action);
    view! {
        <Narrow>
            <h1>"Mot de passe oublié"</h1>
            <Show
                when=move || !done.get()
                fallback=|| view! {
                    <Success>
                        "Si un compte correspond à cette adresse, un courriel contenant un lien de réinitialisation (valable une heure) vient de lui être envoyé."
                    </Success>
                }
            >
                <ActionForm action=action>
                    <FormAlert error=err/>
                    <Field label="Adresse électronique" name="email" kind="email" autocomplete="email" required=true error=err/>
                    <button type="submit" class="fr-btn">"Recevoir un lien de réinitialisation"</button>
                </ActionForm>
            </Show>
        </Narrow>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let action = ServerAction::<ResetPassword>::new();
    let err = action_error(action);
    let done = action_ok(action);
    let q = use_query_map();
    let jeton = move || q.get().get("jeton").unwrap_or_default();
    view! {
        <Narrow>
            <h1>"Choisir un nouveau mot de passe"</h1>
            <Show
                when=move || !done.get()
                fallback=|| view! {
                    <Success>"Votre mot de passe a été modifié. Toutes vos sessions ouvertes ont été fermées."</Success>
                    <A href="/connexion" attr:class="fr-btn">"Se connecter"</A>
                }
            >
                <ActionForm action=action>
                    <FormAlert error=err/>
                    <input type="hidden" name="jeton" value=jeton/>
                    <Field label="Nouveau mot de passe" name="password" kind="password" autocomplete="new-password" required=true
                        hint="Au moins 12 caractères." error=err/>
                    <Field label="Confirmation du mot de passe" name="password_confirmation" kind="password" autocomplete="new-password" required=true error=err/>
                    <button type="submit" class="fr-btn">"Enregistrer le mot de passe"</button>
                </ActionForm>
            </Show>
        </Narrow>
    }
}
