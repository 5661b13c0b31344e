import { test, expect, Page } from "@playwright/test";
import { checkA11y, email, hydrated, logIn, mailLink, person, signUp, visit, PASSWORD, registerOrganisation } from "./helpers";

const MEGALIS = "46913810100321";
const OPERATOR = process.env.HAB_OPERATOR_EMAIL ?? "operateur@e2e.habilitations.test";

async function rolesTab(page: Page) {
  await page.getByRole("tab", { name: "Rôles" }).click();
  await expect(page.getByRole("tabpanel", { name: "Rôles" })).toBeVisible();
}

// The Mégalis "administrateur du socle": the operator opens Parapheur to
// the structure, the administrator creates an agent (who is invited and
// sets a password), finds them in the Liste des agents, gives them
// Parapheur at level Administrateur, then detaches them with a comment.
test("Mégalis journey: agents, invitation, Rôles tab, detachment", async ({ page, browser }) => {
  test.setTimeout(180_000);
  const admin = { email: email("socle"), prenom: "Alice", nom: "Socle" };
  await signUp(page, admin);
  await logIn(page, admin.email);
  await registerOrganisation(page, MEGALIS);
  await page.getByRole("link", { name: "Liste des agents" }).click();
  await expect(page.getByRole("heading", { name: "Liste des agents" })).toBeVisible();
  const org = page.url().match(/structures\/(\d+)\/agents/)![1];

  // The operator formalises a convention: Parapheur (both levels) for the
  // structure; « Démarches activées » then lists it.
  const op = await person(browser);
  await logIn(op, OPERATOR);
  await visit(op, `/conventions/nouvelle?structure=${org}`);
  await expect(op.getByRole("heading", { name: "Formaliser une convention" })).toBeVisible();
  await op.getByLabel("Libellé").fill("Convention Parapheur");
  const parapheur = op.getByRole("group", { name: /^Parapheur/ });
  await parapheur.getByLabel("Utilisateur").check({ force: true });
  await parapheur.getByLabel("Administrateur").check({ force: true });
  await op.getByRole("button", { name: "Formaliser la convention" }).click();
  await expect(op.getByText("La convention est enregistrée.")).toBeVisible();
  await expect(op.getByRole("heading", { name: "Modifier une convention" })).toBeVisible();
  await checkA11y(op, "convention-formalisee");
  await visit(op, `/operateur/structures/${org}/demarches`);
  await expect(op.getByRole("heading", { name: "Démarches activées" })).toBeVisible();
  await expect(op.locator(".liste-demarches li", { hasText: "Parapheur" })).toContainText("Utilisateur, Administrateur");
  await checkA11y(op, "operateur-demarches");

  // "Créer un utilisateur": a bad fiche is refused field by field.
  await visit(page, `/structures/${org}/agents`);
  await page.getByRole("link", { name: "Créer un utilisateur" }).click();
  await expect(page.getByRole("heading", { name: "Créer un utilisateur" })).toBeVisible();
  await hydrated(page);
  const agent = { email: email("agent"), prenom: "Mathieu", nom: "Durand" };
  await page.getByLabel("Nom", { exact: true }).fill(agent.nom);
  await page.getByLabel("Prénom").fill(agent.prenom);
  await page.getByLabel("Adresse mail", { exact: true }).fill(agent.email);
  await page.getByLabel("Confirmer l'adresse mail").fill("autre." + agent.email);
  await page.getByRole("button", { name: "Valider" }).click();
  await expect(page.locator("#champ-email_confirmation-erreur")).toContainText("ne correspondent pas");
  await checkA11y(page, "agent-creation-erreur");
  await page.getByLabel("Confirmer l'adresse mail").fill(agent.email);
  await page.locator("label[for=poste-itinerant]").click();
  await page.getByRole("button", { name: "Valider" }).click();
  await expect(page.getByText(`Une invitation a été envoyée à ${agent.email.toLowerCase()}`)).toBeVisible();

  // The invited person sets a password and is signed in.
  const invited = await person(browser);
  const link = await mailLink(invited, agent.email, "Votre compte Habilitations a été créé");
  await visit(invited, link);
  await expect(invited.getByRole("heading", { name: "Activer votre compte" })).toBeVisible();
  await checkA11y(invited, "invitation");
  await invited.getByLabel("Mot de passe", { exact: false }).first().fill(PASSWORD);
  await invited.getByLabel("Confirmer le mot de passe").fill(PASSWORD);
  await invited.getByRole("button", { name: "Activer mon compte" }).click();
  await expect(invited.getByText("vous êtes connecté(e)")).toBeVisible();
  await logIn(invited, agent.email);

  // Liste des agents: filter, open the agent, Rôles tab.
  await visit(page, `/structures/${org}/agents`);
  await page.getByLabel("Nom", { exact: true }).fill("dur");
  await page.getByRole("button", { name: "Filtrer" }).click();
  const row = page.locator("tr.agent", { hasText: agent.email });
  await expect(row).toBeVisible();
  await expect(page.locator("tr.agent")).toHaveCount(1);
  await checkA11y(page, "liste-des-agents");
  await row.locator("summary", { hasText: "Actions" }).click();
  await row.getByRole("link", { name: `Modifier la fiche de ${agent.prenom} ${agent.nom}` }).click();
  await expect(page.getByRole("heading", { name: `${agent.prenom} ${agent.nom}` })).toBeVisible();
  await hydrated(page);
  await checkA11y(page, "agent-coordonnees");
  await rolesTab(page);
  const line = page.locator("tr.role-demarche[data-app=parapheur]");
  await line.getByLabel("Parapheur", { exact: true }).check({ force: true });
  await line.getByLabel("Niveau pour Parapheur").selectOption({ label: "Administrateur" });
  await page.getByRole("button", { name: "Enregistrer", exact: true }).click();
  await expect(page.getByText("Les rôles ont été enregistrés.")).toBeVisible();
  await checkA11y(page, "agent-roles");

  // Reload: the saved state shows.
  await visit(page, new URL(page.url()).pathname);
  // Keyboard: the arrow keys move between the tabs.
  await page.getByRole("tab", { name: "Coordonnées" }).focus();
  await page.keyboard.press("ArrowRight");
  await expect(page.getByRole("tab", { name: "Rôles" })).toBeFocused();
  await expect(page.getByRole("tabpanel", { name: "Rôles" })).toBeVisible();
  await expect(page.getByRole("tabpanel", { name: "Coordonnées" })).toBeHidden();
  await expect(line.getByLabel("Parapheur", { exact: true })).toBeChecked();
  await expect(line.getByLabel("Niveau pour Parapheur")).toHaveValue(
    await line.locator("option", { hasText: "Administrateur" }).getAttribute("value") as string,
  );
  // Réinitialiser undoes an unsaved change.
  await line.getByLabel("Parapheur", { exact: true }).uncheck({ force: true });
  await expect(line.getByLabel("Parapheur", { exact: true })).not.toBeChecked();
  await page.getByRole("button", { name: "Réinitialiser" }).click();
  await expect(line.getByLabel("Parapheur", { exact: true })).toBeChecked();

  // Detach from the structure, with the mandatory comment.
  await page.getByRole("tab", { name: "Coordonnées" }).click();
  await page.getByLabel("Motif (obligatoire)").fill("Mutation dans une autre collectivité");
  await page.getByRole("button", { name: "Détacher", exact: true }).click();
  await expect(page.getByText("La personne a été détachée de la structure")).toBeVisible();
  await visit(page, `/structures/${org}/agents`);
  await expect(page.locator("tr.agent", { hasText: agent.email })).toHaveCount(0);

  // The journal of the structure tells the whole story, in names.
  await visit(page, `/structures/${org}/journal`);
  await expect(page.getByRole("heading", { name: "Journal", exact: true })).toBeVisible();
  const events = page.locator("tr.evenement");
  const who = `${admin.prenom} ${admin.nom}`;
  const created = events.filter({ hasText: "Création d'un utilisateur" });
  await expect(created).toHaveCount(1);
  await expect(created).toContainText(who);
  await expect(created).toContainText(`${agent.prenom} ${agent.nom}`);
  await expect(events.filter({ hasText: "Activation d'un compte invité" })).toHaveCount(1);
  const granted = events.filter({ hasText: "Attribution d'une habilitation" });
  await expect(granted).toHaveCount(1);
  await expect(granted).toContainText("Parapheur");
  await expect(granted).toContainText("Administrateur");
  const detached = events.filter({ has: page.locator("td", { hasText: /^Détachement de la structure$/ }) });
  await expect(detached).toHaveCount(1);
  await expect(detached).toContainText("Mutation dans une autre collectivité");
  // The right the detachment ended has its own event, with the reason.
  const ended = events
    .filter({ has: page.locator("td", { hasText: /^Retrait d'une habilitation$/ }) })
    .filter({ hasText: "Détachement de la structure" });
  await expect(ended).toHaveCount(1);
  await expect(ended).toContainText("Parapheur");
  await checkA11y(page, "journal-megalis");

  // The operator's global journal has the convention opening Parapheur.
  await visit(op, "/operateur/structures");
  await op.getByRole("link", { name: "Journal de la plateforme" }).click();
  await expect(op.getByRole("heading", { name: "Journal", exact: true })).toBeVisible();
  const activation = op.locator("tr.evenement", { hasText: "Formalisation d'une convention" })
    .filter({ hasText: "MEGALIS BRETAGNE" }).first();
  await expect(activation).toContainText("Convention Parapheur");
  await expect(activation).toContainText("Rôles ajoutés : Parapheur — Utilisateur, Parapheur — Administrateur");
});
