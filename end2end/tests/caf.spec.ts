import { test, expect, Page } from "@playwright/test";
import { checkA11y, email, hydrated, logIn, mailLink, person, signUp, visit, PASSWORD, registerOrganisation } from "./helpers";

const ASSOCIATION = "66629388100056";
const OPERATOR = process.env.HAB_OPERATOR_EMAIL ?? "operateur@e2e.habilitations.test";

function isoDay(inDays: number): string {
  const d = new Date();
  d.setDate(d.getDate() + inDays);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** An invited person follows the mailed link, chooses a password and signs in. */
async function activate(page: Page, address: string) {
  const link = await mailLink(page, address, "Votre compte Habilitations a été créé");
  await visit(page, link);
  await page.getByLabel("Mot de passe", { exact: false }).first().fill(PASSWORD);
  await page.getByLabel("Confirmer le mot de passe").fill(PASSWORD);
  await page.getByRole("button", { name: "Activer mon compte" }).click();
  await expect(page.getByText("vous êtes connecté(e)")).toBeVisible();
  await logIn(page, address);
}

// The CAF « Mon Compte Partenaire » journey: the operator formalises a
// convention; the partner's administrator creates a user (fiche 1), a group
// whose responsable habilitations is created on the spot (« Créer… »),
// gives the group a role (fiche 12) and adds the user to it (fiche 4); the
// user sees the tile; the responsable sees only their group's users and
// cannot open the group's rights; a membership closed from tomorrow keeps
// the tile today.
test("CAF journey: convention, group, responsable, dated membership", async ({ page, browser }) => {
  test.setTimeout(420_000);
  const admin = { email: email("partenaire"), prenom: "Claire", nom: "Partenaire" };
  await signUp(page, admin);
  await logIn(page, admin.email);
  await registerOrganisation(page, ASSOCIATION);
  await page.getByRole("link", { name: "Liste des agents" }).click();
  await expect(page.getByRole("heading", { name: "Liste des agents" })).toBeVisible();
  const org = page.url().match(/structures\/(\d+)\/agents/)![1];

  // « Formaliser une convention »: CDAP for the structure. Bad input first.
  const op = await person(browser);
  await logIn(op, OPERATOR);
  await visit(op, "/operateur/structures");
  await op.getByRole("link", { name: "Formaliser une convention" }).click();
  await expect(op.getByRole("heading", { name: "Formaliser une convention" })).toBeVisible();
  await hydrated(op);
  await op.getByLabel("SIRET de l'organisme partenaire").fill(ASSOCIATION);
  await op.getByLabel("Libellé").fill("   ");
  await op.getByLabel("Date de clôture").fill(isoDay(-1));
  await op.getByRole("button", { name: "Formaliser la convention" }).click();
  await expect(op.locator("#champ-libelle-erreur")).toContainText("libellé");
  await expect(op.locator("#champ-date_cloture-erreur")).toContainText("passé");
  await expect(op.locator("#champ-role_ids-erreur")).toContainText("au moins un rôle");
  await checkA11y(op, "convention-erreurs");
  await op.getByLabel("Libellé").fill("Convention CDAP 2026");
  await op.getByLabel("Date de clôture").fill("");
  await op.getByRole("group", { name: /^CDAP/ }).getByLabel("Consultation").check({ force: true });
  await op.getByRole("button", { name: "Formaliser la convention" }).click();
  await expect(op.getByText("La convention est enregistrée.")).toBeVisible();
  await expect(op.locator(".bandeau-convention")).toContainText("Convention sélectionnée : Convention CDAP 2026");
  await checkA11y(op, "convention");
  await visit(op, "/conventions?structure=association");
  const convRow = op.locator("tr.convention", { hasText: "Convention CDAP 2026" });
  await expect(convRow).toContainText("CDAP : Consultation");
  await checkA11y(op, "conventions");

  // Fiche 1: the administrator creates a user, who activates the account.
  const agent = { email: email("mathieu"), prenom: "Mathieu", nom: "Durand" };
  await visit(page, `/structures/${org}/nouvel-agent`);
  await page.getByLabel("Nom", { exact: true }).fill(agent.nom);
  await page.getByLabel("Prénom").fill(agent.prenom);
  await page.getByLabel("Adresse mail", { exact: true }).fill(agent.email);
  await page.getByLabel("Confirmer l'adresse mail").fill(agent.email);
  await page.getByRole("button", { name: "Valider" }).click();
  await expect(page.getByText(`Une invitation a été envoyée à ${agent.email.toLowerCase()}`)).toBeVisible();
  const mathieu = await person(browser);
  await activate(mathieu, agent.email);
  await expect(mathieu.locator(".tuile[data-app=cdap]")).toHaveCount(0);

  // The administrator reads the convention (no modification) and reaches
  // its groups from it.
  await visit(page, `/conventions?organisation=${org}`);
  const row = page.locator("tr.convention", { hasText: "Convention CDAP 2026" });
  await row.locator("summary").click();
  await row.getByRole("link", { name: "Groupes" }).click();
  await expect(page.getByRole("heading", { name: "Groupes d'utilisateurs" })).toBeVisible();
  await expect(page.locator(".bandeau-convention")).toContainText("Convention sélectionnée : Convention CDAP 2026");
  await checkA11y(page, "groupes-vide");

  // Fiche 7: « Créer un groupe », its responsable created through « Créer… ».
  await page.getByRole("link", { name: "Créer un groupe" }).click();
  await expect(page.getByRole("heading", { name: "Créer un groupe utilisateurs" })).toBeVisible();
  await hydrated(page);
  await page.getByLabel("Code").fill("CDAP T1");
  await page.getByLabel("Libellé").fill("Cdap T1");
  await page.getByRole("button", { name: "Créer…" }).click();
  const panel = page.locator("#creer-responsable");
  await expect(panel).toBeVisible();
  const resp = { email: email("responsable"), prenom: "Rose", nom: "Responsable" };
  await panel.getByLabel("Nom", { exact: true }).fill(resp.nom);
  await panel.getByLabel("Prénom").fill(resp.prenom);
  await panel.getByLabel("Adresse mail", { exact: true }).fill(resp.email);
  await panel.getByLabel("Confirmer l'adresse mail").fill(resp.email);
  await checkA11y(page, "groupe-creation-responsable");
  await panel.getByRole("button", { name: "Créer l'utilisateur" }).click();
  await expect(panel).toHaveCount(0);
  await expect(page.getByLabel("Responsable habilitations (obligatoire)")).toHaveValue(resp.email.toLowerCase());
  await page.getByRole("button", { name: "Créer le groupe" }).click();
  await expect(page.getByText("Le groupe est enregistré.")).toBeVisible();
  await expect(page.getByRole("heading", { name: "Modifier un groupe utilisateurs" })).toBeVisible();
  const group = page.url().match(/groupes\/(\d+)/)![1];
  await checkA11y(page, "groupe");

  // Fiche 12: « Habilitations du groupe »: assign CDAP Consultation.
  await page.getByRole("link", { name: "Habilitations du groupe" }).click();
  await expect(page.getByRole("heading", { name: "Habilitations d'un groupe utilisateurs" })).toBeVisible();
  await hydrated(page);
  await page.getByLabel("Rôles disponibles").selectOption({ label: "Consultation" });
  await page.getByRole("button", { name: "Assigner rôle" }).click();
  await expect(page.getByLabel("Rôles assignés").locator("option")).toHaveText(["Consultation"]);
  await page.getByRole("button", { name: "Enregistrer les modifications" }).click();
  await expect(page.getByText("Les habilitations du groupe sont enregistrées.")).toBeVisible();
  await checkA11y(page, "groupe-habilitations");

  // Fiche 4: from the Liste des agents, « Ajouter à un groupe », with dates.
  await visit(page, `/structures/${org}/agents`);
  const line = page.locator("tr.agent", { hasText: agent.email.toLowerCase() });
  await line.locator("summary", { hasText: "Actions" }).click();
  await line.getByRole("link", { name: `Ajouter à un groupe : ${agent.prenom} ${agent.nom}` }).click();
  await expect(page.getByRole("heading", { name: "Gérer l'appartenance de l'utilisateur" })).toBeVisible();
  await hydrated(page);
  await page.getByRole("combobox", { name: /^Groupe/ }).selectOption({ label: "CDAP T1 — Cdap T1" });
  await page.getByLabel("Date d'ouverture").fill(isoDay(0));
  await page.getByRole("button", { name: "Ajouter au groupe" }).click();
  await expect(page.getByText("L'utilisateur est ajouté au groupe.")).toBeVisible();
  await expect(page.locator("tr.appartenance", { hasText: "CDAP T1" })).toContainText("Ouvert");
  await checkA11y(page, "appartenance");

  // The user now holds CDAP: the tile is there.
  await visit(mathieu, "/");
  await expect(mathieu.locator(".tuile[data-app=cdap]")).toBeVisible();

  // The responsable: only their group's users, never the group's rights.
  const rose = await person(browser);
  await activate(rose, resp.email);
  await visit(rose, "/structures");
  await rose.getByRole("link", { name: "Mes groupes d'utilisateurs" }).click();
  await expect(rose.locator("tr.groupe")).toHaveCount(1);
  await expect(rose.locator("tr.groupe")).toContainText("CDAP T1");
  await checkA11y(rose, "responsable-groupes");
  await visit(rose, `/structures/${org}/agents`);
  await expect(rose.locator("tr.agent")).toHaveCount(1);
  await expect(rose.locator("tr.agent")).toContainText(agent.nom);
  await checkA11y(rose, "responsable-agents");
  await visit(rose, `/structures/${org}/groupes/${group}/habilitations`);
  await expect(rose.getByRole("alert")).toContainText("Vous n'avez pas les droits");
  await expect(rose.getByLabel("Rôles assignés")).toHaveCount(0);

  // The responsable closes the membership from tomorrow: the tile stays
  // today.
  await visit(rose, `/structures/${org}/groupes/${group}/utilisateurs`);
  await expect(rose.getByRole("heading", { name: "Utilisateurs du groupe" })).toBeVisible();
  const membership = rose.locator("tr.appartenance", { hasText: agent.nom });
  await membership.getByRole("textbox", { name: `Date de clôture pour ${agent.prenom} ${agent.nom}` }).fill(isoDay(1));
  await membership.getByRole("button", { name: /Enregistrer la date de clôture/ }).click();
  await expect(rose.getByText("L'appartenance est enregistrée.")).toBeVisible();
  await expect(rose.locator("tr.appartenance", { hasText: agent.nom })).toContainText("Ouvert");
  await checkA11y(rose, "groupe-utilisateurs");
  await visit(mathieu, "/");
  await expect(mathieu.locator(".tuile[data-app=cdap]")).toBeVisible();

  // The responsable creates a user into their group (point 6): the new
  // account is in the group at once; then modifies and closes it.
  await visit(rose, `/structures/${org}/nouvel-agent`);
  await expect(rose.getByLabel("Niveau de rattachement")).toHaveCount(0);
  const lucie = { email: email("lucie"), prenom: "Lucie", nom: "Lemaire" };
  await rose.getByLabel("Nom", { exact: true }).fill(lucie.nom);
  await rose.getByLabel("Prénom").fill(lucie.prenom);
  await rose.getByLabel("Adresse mail", { exact: true }).fill(lucie.email);
  await rose.getByLabel("Confirmer l'adresse mail").fill(lucie.email);
  await rose.getByRole("button", { name: "Valider" }).click();
  await expect(rose.getByText("Choisissez le groupe d'utilisateurs")).toBeVisible();
  await rose.getByLabel("Groupe d'utilisateurs").selectOption({ label: "CDAP T1 — Cdap T1" });
  await checkA11y(rose, "responsable-creation");
  await rose.getByRole("button", { name: "Valider" }).click();
  await expect(rose.getByText(`Une invitation a été envoyée à ${lucie.email.toLowerCase()}`)).toBeVisible();
  await expect(rose.locator(".invitation-envoyee")).toContainText("CDAP T1 — Cdap T1");
  await visit(rose, `/structures/${org}/agents`);
  await expect(rose.locator("tr.agent")).toHaveCount(2);
  await rose.locator("tr.agent", { hasText: lucie.nom }).getByRole("link", { name: lucie.nom }).click();
  await expect(rose.getByRole("heading", { name: "Modifier un utilisateur" })).toBeVisible();
  await hydrated(rose);
  await expect(rose.getByRole("heading", { name: "Rattachement" })).toHaveCount(0);
  await rose.getByLabel("Date de clôture").fill(isoDay(0));
  await checkA11y(rose, "responsable-fiche");
  await rose.getByRole("button", { name: "Enregistrer les modifications" }).click();
  // Closing ends her memberships (issue 17): she leaves Rose's group and
  // reach, and the page says so.
  await expect(rose.getByRole("heading", { name: "Compte clôturé" })).toBeVisible();
  await expect(rose.getByText("la personne a quitté vos groupes")).toBeVisible();
  await checkA11y(rose, "responsable-fiche-cloturee");
  await visit(rose, `/structures/${org}/agents`);
  await expect(rose.locator("tr.agent", { hasText: lucie.nom })).toHaveCount(0);

  // A request for the group's role reaches the responsable, who accepts
  // it into the group: the requester sees the tile.
  const asker = { email: email("demandeuse"), prenom: "Dora", nom: "Demandeuse" };
  const dora = await person(browser);
  await signUp(dora, asker);
  await logIn(dora, asker.email);
  await visit(dora, `/demandes/nouvelle?structure=${org}`);
  await dora.getByLabel("Démarche et rôle demandés").selectOption({ label: "CDAP — Consultation" });
  await dora.getByRole("button", { name: "Envoyer la demande" }).click();
  await expect(dora.getByText("Votre demande est envoyée")).toBeVisible();
  await visit(rose, "/structures");
  await rose.getByRole("link", { name: "Demandes à traiter" }).click();
  await expect(rose.getByRole("heading", { name: "Demandes d'accès à traiter" })).toBeVisible();
  await hydrated(rose);
  const request = rose.locator("section.demande-a-traiter", { hasText: asker.nom });
  await expect(request).toContainText("CDAP : Consultation");
  await checkA11y(rose, "demandes-a-traiter");
  await request.getByLabel("Groupe d'utilisateurs").selectOption({ label: "CDAP T1 — Cdap T1" });
  await request.getByRole("button", { name: "Accepter" }).click();
  await expect(rose.getByText("La décision est enregistrée")).toBeVisible();
  await expect(rose.locator("section.demande-a-traiter")).toHaveCount(0);
  await visit(dora, "/");
  await expect(dora.locator(".tuile[data-app=cdap]")).toBeVisible();

  // Dates on the Rôles tab (point 8): the administrator gives Mathieu CDAP
  // directly from tomorrow, then closes it earlier.
  await visit(page, `/structures/${org}/agents`);
  await page.locator("tr.agent", { hasText: agent.nom }).getByRole("link", { name: agent.nom }).click();
  await expect(page.getByRole("heading", { name: "Modifier un utilisateur" })).toBeVisible();
  await hydrated(page);
  await page.getByRole("tab", { name: "Rôles" }).click();
  await page.locator("#demarche-cdap").check({ force: true });
  await page.locator("#roles-date_ouverture").fill(isoDay(1));
  await page.locator("#roles-date_cloture").fill(isoDay(10));
  await page.getByRole("button", { name: "Enregistrer", exact: true }).click();
  await expect(page.getByText("Les rôles ont été enregistrés.")).toBeVisible();
  const [, m1, d1] = isoDay(1).split("-");
  await expect(page.locator("tr.role-demarche[data-app=cdap] .periode")).toContainText(`du ${d1}/${m1}/`);
  const dates = page.locator("li.dates-habilitation", { hasText: "CDAP" });
  await dates.getByLabel("Date de clôture").fill(isoDay(5));
  await dates.getByRole("button", { name: /Modifier les dates/ }).click();
  await expect(page.getByText("Les dates ont été modifiées.")).toBeVisible();
  const [, m5, d5] = isoDay(5).split("-");
  await expect(page.locator("tr.role-demarche[data-app=cdap] .periode")).toContainText(`au ${d5}/${m5}/`);
  await checkA11y(page, "roles-dates");

  // The operator's own staff (point 1): « Agents de l'opérateur ».
  await visit(op, "/operateur/structures");
  await op.getByRole("link", { name: "Agents de l'opérateur" }).click();
  await expect(op.getByRole("heading", { name: "Agents de l'opérateur" })).toBeVisible();
  await hydrated(op);
  await expect(op.locator("tr.agent-operateur", { hasText: OPERATOR })).toBeVisible();
  const staff = { email: email("agent.caf"), prenom: "Nora", nom: "Caf" };
  await op.getByLabel("Adresse mail", { exact: true }).fill(staff.email);
  await op.getByLabel("Confirmer l'adresse mail").fill(staff.email);
  await op.getByRole("button", { name: "Créer l'agent" }).click();
  await expect(op.locator("#champ-nom-erreur")).toBeVisible();
  await checkA11y(op, "agents-operateur-erreurs");
  await op.getByLabel("Nom", { exact: true }).fill(staff.nom);
  await op.getByLabel("Prénom", { exact: true }).fill(staff.prenom);
  await op.getByRole("button", { name: "Créer l'agent" }).click();
  await expect(op.getByText("une invitation à choisir son mot de passe a été envoyée")).toBeVisible();
  await expect(op.locator("tr.agent-operateur", { hasText: staff.email.toLowerCase() })).toContainText("Ouvert");
  await checkA11y(op, "agents-operateur");
});
