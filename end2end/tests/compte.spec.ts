import { test, expect } from "@playwright/test";
import { checkA11y, email, logIn, mailLink, PASSWORD, signUp, visit } from "./helpers";

test("sign-up errors show next to their fields and nothing is created", async ({ page }) => {
  await visit(page, "/inscription");
  await checkA11y(page, "inscription");
  await page.getByLabel("Nom", { exact: true }).fill("Martin");
  await page.getByLabel("Prénom").fill("Jeanne");
  await page.getByLabel("Adresse électronique Format attendu").fill("jeanne@exemple.fr");
  await page.getByLabel("Confirmation de l'adresse électronique").fill("jeane@exemple.fr");
  await page.getByLabel("Mot de passe Au moins 12").fill("court");
  await page.getByLabel("Confirmation du mot de passe").fill("court");
  await page.getByRole("button", { name: "Créer mon compte" }).click();
  await expect(page.locator("#champ-email_confirmation-erreur")).toHaveText("Les deux adresses électroniques ne correspondent pas.");
  await expect(page.locator("#champ-password-erreur")).toContainText("au moins 12 caractères");
  await expect(page.getByText("Choisissez une civilité.")).toBeVisible();
  await expect(page.getByLabel("Confirmation de l'adresse électronique")).toHaveAttribute("aria-invalid", "true");
  await checkA11y(page, "inscription-erreurs");
});

test("connexion page, wrong password, then a forgotten-password reset", async ({ page }) => {
  const who = { email: email("oubli"), prenom: "Jeanne", nom: "Oubli" };
  await signUp(page, who);
  await visit(page, "/connexion");
  await checkA11y(page, "connexion");
  await page.getByLabel("Adresse électronique").fill(who.email);
  await page.getByLabel("Mot de passe").fill("pas le bon mot de passe");
  await page.getByRole("button", { name: "Se connecter" }).click();
  await expect(page.getByRole("alert")).toHaveText("Adresse électronique ou mot de passe incorrect.");

  await page.getByRole("link", { name: "Mot de passe oublié ?" }).click();
  await expect(page.getByRole("heading", { name: "Mot de passe oublié" })).toBeVisible();
  await checkA11y(page, "mot-de-passe-oublie");
  await page.getByLabel("Adresse électronique").fill(who.email);
  await page.getByRole("button", { name: "Recevoir un lien de réinitialisation" }).click();
  await expect(page.getByText("un courriel contenant un lien de réinitialisation")).toBeVisible();

  const link = await mailLink(page, who.email, "Réinitialisation de votre mot de passe");
  await visit(page, link);
  await checkA11y(page, "nouveau-mot-de-passe");
  const fresh = "un nouveau mot de passe tout neuf";
  await page.getByLabel("Nouveau mot de passe").fill(fresh);
  await page.getByLabel("Confirmation du mot de passe").fill(fresh);
  await page.getByRole("button", { name: "Enregistrer le mot de passe" }).click();
  await expect(page.getByText("Votre mot de passe a été modifié")).toBeVisible();
  await logIn(page, who.email, fresh);
  await checkA11y(page, "mes-demarches-vide");

  // The link was single-use.
  await visit(page, link);
  await page.getByLabel("Nouveau mot de passe").fill(PASSWORD + " encore");
  await page.getByLabel("Confirmation du mot de passe").fill(PASSWORD + " encore");
  await page.getByRole("button", { name: "Enregistrer le mot de passe" }).click();
  await expect(page.getByRole("alert")).toContainText("n'est plus valable");
});

test("structure registration refuses a closed establishment", async ({ page }) => {
  const who = { email: email("structure"), prenom: "Luc", nom: "Structure" };
  await signUp(page, who);
  await logIn(page, who.email);
  await visit(page, "/structures");
  await page.getByLabel("SIRET 14 chiffres").fill("663 069 979 00297");
  await page.getByRole("button", { name: "Enregistrer la structure" }).click();
  await expect(page.locator("#champ-siret-erreur")).toContainText("fermé");
  await checkA11y(page, "mes-structures");
});

test("the login form works with the keyboard alone", async ({ page }) => {
  const who = { email: email("clavier"), prenom: "Jeanne", nom: "Clavier" };
  await signUp(page, who);
  await visit(page, "/connexion");
  await page.getByLabel("Adresse électronique").focus();
  await page.keyboard.type(who.email);
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("Mot de passe")).toBeFocused();
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "Mes démarches" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Se déconnecter" })).toBeVisible();
  // Logging out with the keyboard too.
  await page.getByRole("button", { name: "Se déconnecter" }).focus();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "Connexion" })).toBeVisible();
});

test("anonymous visitors see the welcome page; unknown pages answer 404", async ({ page }) => {
  await visit(page, "/");
  await expect(page.getByText("Accédez simplement à vos démarches en ligne.")).toBeVisible();
  // The menu is for signed-in people: a visitor is offered to sign in.
  await expect(page.getByRole("navigation", { name: "Menu principal" })).toHaveCount(0);
  await expect(page.getByRole("link", { name: "Mes structures" })).toHaveCount(0);
  await expect(page.getByRole("banner").getByRole("link", { name: "Se connecter" })).toBeVisible();
  await checkA11y(page, "accueil-anonyme");
  const resp = await page.goto("/cette-page-n-existe-pas");
  expect(resp?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page introuvable" })).toBeVisible();
  await checkA11y(page, "page-introuvable");
});

test("forms work before the WASM has loaded (JavaScript off)", async ({ browser }) => {
  const who = { email: email("sansjs"), prenom: "Jeanne", nom: "SansJS" };
  const withJs = await browser.newPage();
  await signUp(withJs, who);
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/connexion");
  await page.getByLabel("Adresse électronique").fill(who.email);
  await page.getByLabel("Mot de passe").fill("pas le bon mot de passe");
  await page.getByRole("button", { name: "Se connecter" }).click();
  await expect(page.getByRole("alert")).toHaveText("Adresse électronique ou mot de passe incorrect.");
  await page.getByLabel("Adresse électronique").fill(who.email);
  await page.getByLabel("Mot de passe").fill(PASSWORD);
  await page.getByRole("button", { name: "Se connecter" }).click();
  await expect(page.getByRole("heading", { name: "Mes démarches" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Se déconnecter" })).toBeVisible();
});
