"""The words of the staff pages and the field app, in Danish and English, and dates as Danes write them.

The pages are written with the English text as the key (`t("Sign in")`); Danish, the
default, comes from `DANISH`, English is the key itself. Event kinds, roles, meeting
kinds and the like have their own small tables so a timeline reads in words, never in
topics or payload keys. Times are shown in Europe/Copenhagen with the zone named
("2. december 2026 kl. 14.05 CET"), whatever zone they were stored in.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from datetime import date, datetime
from zoneinfo import ZoneInfo

DANISH_CODE = "da"
LANGUAGES = ("da", "en")
LOCAL = ZoneInfo("Europe/Copenhagen")

#: The language of the page being rendered (set per request from the user's cookie).
language: ContextVar[str] = ContextVar("language", default=DANISH_CODE)

DANISH: dict[str, str] = {
    # frame
    "Skip to content": "Spring til indhold",
    "Sign in": "Log ind",
    "Sign out": "Log ud",
    "Language": "Sprog",
    "Caseload": "Sager",
    "Replay": "Genafspil",
    "Verify": "Kontrollér",
    "Access log": "Adgangslog",
    "Exceptions": "Undtagelser",
    "Monitoring": "Opfølgning",
    "main": "hovedmenu",
    "Back to the caseload": "Tilbage til sagerne",
    "Back to the start": "Tilbage til forsiden",
    "Error": "Fejl",
    "Page not found": "Siden findes ikke",
    # sign in
    "Staff token": "Medarbejdernøgle",
    "Every look at a case is recorded in the access log with your name, department and purpose.": (
        "Hvert opslag i en sag skrives i adgangsloggen med dit navn, din afdeling og dit formål."
    ),
    "That token is not a valid staff token.": "Nøglen er ikke en gyldig medarbejdernøgle.",
    "the form is too large": "formularen er for stor",
    "This form was not sent from this site's own page, or it has expired; nothing was changed.": (
        "Formularen kom ikke fra denne sides egen side, eller den er udløbet; intet blev ændret."
    ),
    # caseload
    "Cases of": "Sager i",
    "Find a family": "Find en familie",
    "Name or CPR number": "Navn eller CPR-nummer",
    "Search": "Søg",
    "Show all": "Vis alle",
    "cases, latest activity first": "sager, senest aktive først",
    "Family": "Familie",
    "Coordinator": "Tovholder",
    "Last activity": "Seneste aktivitet",
    "Next meeting or due date": "Næste møde eller frist",
    "Open conflicts and clashes": "Åbne konflikter og sammenstød",
    "none": "ingen",
    "no name visible": "intet navn synligt",
    "Your department is not a party to any case.": "Din afdeling er ikke part i nogen sag.",
    "No case matches the search.": "Ingen sag passer til søgningen.",
    # case page
    "Case of": "Sag om",
    "Status": "Status",
    "as your department may see it": "som din afdeling må se den",
    "flagged conflict(s) wait for the coordinator.": "markerede konflikt(er) venter på tovholderen.",
    "withheld": "tilbageholdt",
    "entries your department may not see since": "oplysninger, som din afdeling ikke må se siden",
    "Persons": "Personer",
    "Name": "Navn",
    "Role": "Rolle",
    "Born": "Født",
    "CPR number": "CPR-nummer",
    "Show CPR number": "Vis CPR-nummer",
    "No person details are visible to your department.": "Din afdeling kan ikke se oplysninger om personerne.",
    "Coordinator and team": "Tovholder og team",
    "no coordinator assigned": "ingen tovholder udpeget",
    "Team": "Team",
    "Department": "Afdeling",
    "Member since": "Med siden",
    "Who can see this case and why": "Hvem kan se sagen og hvorfor",
    "Grounds": "Grundlag",
    "Consents": "Samtykker",
    "Subject": "Om",
    "Given by": "Givet af",
    "To": "Til",
    "Covers": "Omfatter",
    "Purpose": "Formål",
    "Valid until": "Gyldigt til",
    "State": "Tilstand",
    "in force": "gælder",
    "withdrawn": "tilbagekaldt",
    "lapsed": "bortfaldet",
    "No consent names your department.": "Intet samtykke nævner din afdeling.",
    "Plan": "Plan",
    "Goal": "Mål",
    "Person": "Person",
    "Part of": "Del af",
    "Owner": "Ansvarlig",
    "Progress (1–5)": "Fremskridt (1–5)",
    "Closed": "Lukket",
    "yes": "ja",
    "no": "nej",
    "No plan is visible to your department.": "Din afdeling kan ikke se nogen plan.",
    "Activities": "Aktiviteter",
    "Kind": "Art",
    "Ends": "Slutter",
    "started": "i gang",
    "ended": "afsluttet",
    "planned": "planlagt",
    "Meetings": "Møder",
    "Held": "Afholdt",
    "Participants": "Deltagere",
    "Due dates": "Frister",
    "What": "Hvad",
    "Due": "Frist",
    "Decisions": "Afgørelser",
    "under": "efter",
    "by": "af",
    "Conflicts": "Konflikter",
    "open": "åben",
    "resolved": "løst",
    "No conflicts.": "Ingen konflikter.",
    "Timeline": "Tidslinje",
    "Everything your department may see, with the grounds": "Alt, hvad din afdeling må se, med grundlaget",
    "When": "Hvornår",
    "By": "Af",
    "Details": "Detaljer",
    "none visible": "ingen synlige",
    # audit and monitoring
    "Replay a case": "Genafspil en sag",
    "Case id": "Sags-id",
    "As of (a date means the end of that day, or a date and time; Copenhagen time; empty for now)": (
        "Pr. (en dato betyder slutningen af dagen, eller dato og klokkeslæt; dansk tid; tom for nu)"
    ),
    "Choose another moment (a date means the end of that day, Copenhagen time)": (
        "Vælg et andet tidspunkt (en dato betyder slutningen af dagen, dansk tid)"
    ),
    "given by": "givet af",
    "Who could see what, and why": "Hvem kunne se hvad, og hvorfor",
    "departments; each cell the grounds the department saw the event on": (
        "afdelinger; i hver celle grundlaget for, at afdelingen så hændelsen"
    ),
    "Event": "Hændelse",
    "received": "modtaget",
    "all": "alle",
    "From (date, Copenhagen time)": "Fra (dato, dansk tid)",
    "To (date, Copenhagen time)": "Til (dato, dansk tid)",
    "per page": "pr. side",
    "pages": "sider",
    "First page": "Første side",
    "Next page": "Næste side",
    "Law": "Lovgrundlag",
    "Meeting": "Møde",
    "not in the case": "ikke i sagen",
    "Case": "Sag",
    "as of": "pr.",
    "parties then": "parter dengang",
    "access log of this case": "adgangslog for sagen",
    "event(s)": "hændelse(r)",
    "not in force": "gælder ikke",
    "for": "for",
    "Integrity of the log": "Loggens integritet",
    "events in": "hændelser i",
    "cases and": "sager og",
    "signed batches": "signerede portioner",
    "no problems found": "ingen fejl fundet",
    "problem(s) found": "fejl fundet",
    "Position": "Position",
    "Sequence": "Nummer",
    "Problem": "Fejl",
    "of case": "for sag",
    "Show": "Vis",
    "entries, newest first": "opslag, nyeste først",
    "Who": "Hvem",
    "View": "Visning",
    "Outcome": "Udfald",
    "Shared on a legal basis, without consent": "Delt med lovhjemmel, uden samtykke",
    "disclosure(s)": "videregivelse(r)",
    "Basis": "Hjemmel",
    "Categories": "Kategorier",
    "Reason": "Begrundelse",
    "Counts only, no person. A cell counting fewer than five cases is shown as": (
        "Kun tal, ingen personer. En celle med færre end fem sager vises som"
    ),
    'Each report is defined in the README, section "Monitoring"; also as': (
        'Hver rapport er beskrevet i README, afsnittet "Monitoring"; også som'
    ),
    "nothing recorded yet": "intet registreret endnu",
    # the coordinator's actions
    "Back to the case": "Tilbage til sagen",
    "Recorded. Laptops get it at their next sync.": "Registreret. Bærbare får det ved næste synkronisering.",
    "Change the coordinator": "Skift tovholder",
    "Assign a coordinator": "Udpeg en tovholder",
    "Worker id": "Medarbejder-id",
    "Assign": "Udpeg",
    "Add a department to the team": "Tilføj en afdeling til teamet",
    "Add to the team": "Føj til teamet",
    "Minutes": "Referat",
    "Record a meeting": "Registrér et møde",
    "Held (local time, Europe/Copenhagen)": "Afholdt (lokal tid, Europe/Copenhagen)",
    "Record the meeting": "Registrér mødet",
    "Financing": "Finansiering",
    "Activity": "Aktivitet",
    "Shares": "Andele",
    "Granted by": "Bevilget af",
    "Paid by": "Betalt af",
    "Agreed": "Aftalt",
    "Open conflict": "Åben konflikt",
    "Flagged": "Markeret",
    "version(s) your department may not see": "version(er), som din afdeling ikke må se",
    "Version": "Udgave",
    "Keep version": "Behold version",
    "Write the resolved text": "Skriv den afklarede tekst",
    "Resolved text": "Afklaret tekst",
    "Resolve the conflict": "Løs konflikten",
    "The coordinator resolves it.": "Tovholderen løser den.",
    "conflict(s) resolved; see the timeline.": "konflikt(er) løst; se tidslinjen.",
    "concurrent revisions of the same goal from the same base": (
        "samtidige revisioner af samme mål fra samme udgangspunkt"
    ),
    "a decision recorded against a consent withdrawn meanwhile": (
        "en afgørelse registreret mod et samtykke, der imens blev tilbagekaldt"
    ),
    "there is no active worker with that id": "der er ingen aktiv medarbejder med det id",
    "that conflict is not part of this case": "den konflikt hører ikke til sagen",
    "the version chosen is not one of the conflict's": "den valgte version hører ikke til konflikten",
    "the resolved text is empty": "den afklarede tekst er tom",
    "the resolved text is longer than 2000 characters": "den afklarede tekst er længere end 2000 tegn",
    "the text of the minutes is longer than 2000 characters": "referatet er længere end 2000 tegn",
    "a meeting's date and time is missing": "mødets dato og klokkeslæt mangler",
    "a meeting's time is a date and a time of day": "mødets tidspunkt er en dato og et klokkeslæt",
    "a worker id is 1 to 64 letters, digits, '-', '_' or '.'": (
        "et medarbejder-id er 1 til 64 bogstaver, cifre, '-', '_' eller '.'"
    ),
    "no such action": "den handling findes ikke",
    "only the case's coordinator acts on the case from this page; nothing was changed": (
        "kun sagens tovholder handler i sagen fra denne side; intet blev ændret"
    ),
    # the field app (`tovholder client ui`)
    "Field app": "Feltapp",
    "Unlock": "Lås op",
    "Lock": "Lås",
    "Passphrase": "Adgangsord",
    "The cases on this laptop are encrypted. Your passphrase opens them; the app locks itself when you leave it.": (
        "Sagerne på denne computer er krypteret. Dit adgangsord åbner dem; appen låser sig selv, når du går fra den."
    ),
    "The passphrase does not open this laptop's store; nothing was unlocked.": (
        "Adgangsordet åbner ikke denne computers lager; intet blev låst op."
    ),
    "This form was not sent from this app's own page, or it has expired; nothing was changed.": (
        "Formularen kom ikke fra appens egen side, eller den er udløbet; intet blev ændret."
    ),
    "New case": "Ny sag",
    "Cases on this laptop": "Sager på denne computer",
    "Cases": "Sager",
    "Name, CPR number or date of birth": "Navn, CPR-nummer eller fødselsdato",
    "Last contact": "Seneste kontakt",
    "Not yet sent": "Ikke sendt endnu",
    "not yet sent": "ikke sendt endnu",
    "New since the last sync": "Nyt siden sidste synkronisering",
    "new since the last sync": "nyt siden sidste synkronisering",
    "Open conflicts": "Åbne konflikter",
    "No case is on this laptop yet.": "Der er endnu ingen sager på denne computer.",
    "Sync now": "Synkronisér nu",
    "Synced.": "Synkroniseret.",
    "Not synced since the app started.": "Ikke synkroniseret, siden appen startede.",
    "The server did not answer; nothing was lost, sync again later.": (
        "Serveren svarede ikke; intet gik tabt, synkronisér igen senere."
    ),
    "Recorded on this laptop; it is sent at the next sync.": (
        "Registreret på denne computer; det sendes ved næste synkronisering."
    ),
    "entries of this case are not shown on this laptop: your department may not see them "
    "(the server judges again at the next sync).": (
        "oplysninger i sagen vises ikke på denne computer: din afdeling må ikke se dem "
        "(serveren vurderer igen ved næste synkronisering)."
    ),
    "Conflicts to resolve": "Konflikter, der skal løses",
    "Two changes were made at the same time from the same starting point": (
        "To ændringer blev lavet samtidig ud fra det samme udgangspunkt"
    ),
    "Record": "Registrér",
    "Whose": "Hvis",
    "Withdraw consent": "Tilbagekald samtykke",
    "revision": "udgave",
    "Referrals": "Henvisninger",
    "Newest first; times in Danish time": "Nyeste først; tider i dansk tid",
    "Kind of case": "Sagstype",
    "Lead department": "Ledende afdeling",
    "First person's name (empty: none yet)": "Første persons navn (tom: ingen endnu)",
    "Open the case": "Opret sagen",
    "Quick contact": "Hurtig kontakt",
    "Anonymous tally": "Anonym optælling",
    "Add a person": "Tilføj en person",
    "Give consent": "Giv samtykke",
    "Add a goal": "Tilføj et mål",
    "Record progress": "Registrér fremskridt",
    "Revise a goal": "Revidér et mål",
    "Close a goal": "Luk et mål",
    "Add an activity": "Tilføj en aktivitet",
    "Carried out by": "Udføres af",
    "e.g. mentor, treatment course": "f.eks. mentor, behandlingsforløb",
    "Starts": "Starter",
    "Referral outcome": "Udfald af henvisning",
    "Referral": "Henvisning",
    "Did the citizen arrive?": "Mødte borgeren op?",
    "New wording": "Ny formulering",
    "Make a referral": "Henvis",
    "Record a decision": "Registrér en afgørelse",
    "Kind of contact": "Kontaktform",
    "Challenges": "Udfordringer",
    "Place": "Sted",
    "Note": "Notat",
    "Happened at (empty: now)": "Skete (tom: nu)",
    "Day (empty: today)": "Dag (tom: i dag)",
    "Contacts per challenge": "Kontakter pr. udfordring",
    "CPR number (optional)": "CPR-nummer (valgfrit)",
    "Born (optional)": "Født (valgfrit)",
    "Whose consent": "Hvis samtykke",
    "Shared with": "Deles med",
    "Information": "Oplysninger",
    "Health: at most one year.": "Helbred: højst et år.",
    "The child's own view (from 10 years)": "Barnets egen holdning (fra 10 år)",
    "The text shown to the citizen": "Teksten, borgeren fik vist",
    "Empty: made from the choices above. Kept with its SHA-256.": (
        "Tom: skrives ud fra valgene ovenfor. Gemmes med sin SHA-256."
    ),
    "I consent to {recipients} receiving information about {categories} concerning {subject}, "
    "for this purpose: {purpose}. The consent is valid until {until}, and I may withdraw it at any time.": (
        "Jeg giver samtykke til, at {recipients} får oplysninger om {categories} vedrørende {subject} "
        "til dette formål: {purpose}. Samtykket gælder til og med {until}, og jeg kan altid tilbagekalde det."
    ),
    "For": "For",
    "Sub-goal of": "Delmål af",
    "Score (1–5)": "Score (1–5)",
    "Kind of meeting": "Mødetype",
    "Departments taking part": "Deltagende afdelinger",
    "Concerns": "Vedrører",
    "Legal basis": "Hjemmel",
    "e.g. aktivloven § 81": "f.eks. aktivloven § 81",
    "Kind of decision": "Afgørelsestype",
    "Facts it rests on": "Oplysninger, den bygger på",
    "Considerations": "Overvejelser",
    "Explanation to the citizen": "Begrundelse til borgeren",
    "Amount in kroner (optional)": "Beløb i kroner (valgfrit)",
    "How it was settled": "Hvordan den blev løst",
    "DD-MM-YYYY": "DD-MM-ÅÅÅÅ",
    "Fill in this field.": "Udfyld feltet.",
    "Choose at least one.": "Vælg mindst én.",
    "Choose from the list.": "Vælg fra listen.",
    "Write the date as 01-06-2027 or 2027-06-01.": "Skriv datoen som 01-06-2027 eller 2027-06-01.",
    "Write the date and time as 2027-06-01 14:30.": "Skriv dato og tid som 2027-06-01 14:30.",
    "It cannot have happened in the future.": "Det kan ikke være sket i fremtiden.",
    "Count at least one contact.": "Tæl mindst én kontakt.",
    "A count is a whole number.": "Et antal er et helt tal.",
    "Write the amount in kroner, e.g. 4500.": "Skriv beløbet i kroner, f.eks. 4500.",
    "Your department does not decide under this legal basis.": (
        "Din afdeling træffer ikke afgørelser efter denne hjemmel."
    ),
    "That case is not on this laptop.": "Sagen er ikke på denne computer.",
    "There is no such form for this case.": "Den formular findes ikke for sagen.",
}

#: Rules broken, in Danish: a pattern of the rule's English message and its Danish words
#: (the field app shows them beside the field; the placeholders are the message's own).
RULES_DANISH: tuple[tuple[str, str], ...] = (
    (
        r"consent for (.+) information must expire within one year of (\S+)",
        "samtykke til oplysninger om {0} skal udløbe inden for et år fra {1}",
    ),
    (r"unknown department '(.+)'", "ukendt afdeling '{0}'"),
    (
        r"a consent must state a specific purpose, in at least (\d+) characters .*",
        "et samtykke skal angive et konkret formål med mindst {0} tegn (hvad oplysningerne skal bruges til)",
    ),
    (
        r"a consent must state a specific purpose; .*",
        "et samtykke skal angive et konkret formål; et vagt samtykke som 'alle relevante oplysninger' er ikke gyldigt",
    ),
    (
        r"events recorded concurrently clash; the coordinator resolves it",
        "hændelser registreret samtidig strider mod hinanden; tovholderen løser det",
    ),
    (
        r"concurrent revisions of the same goal from the same base",
        "to revisioner af det samme mål ud fra den samme udgave",
    ),
    (
        r"a decision recorded against a consent withdrawn meanwhile",
        "en afgørelse registreret mod et samtykke, der er tilbagekaldt i mellemtiden",
    ),
    (
        r"the text shown to the citizen does not match its SHA-256 in the consent",
        "teksten, borgeren fik vist, passer ikke med dens SHA-256 i samtykket",
    ),
    (
        r"a CPR number starts with a valid date of birth, DDMMYY",
        "et CPR-nummer begynder med en gyldig fødselsdato, DDMMÅÅ",
    ),
    (
        r"the birth date does not agree with the CPR number; correct one of them",
        "fødselsdatoen passer ikke med CPR-nummeret; ret en af dem",
    ),
    (
        r"a citizen case has one citizen; open a family case for several",
        "en borgersag har én borger; opret en familiesag til flere",
    ),
    (r"case \S+ is an anonymous tally; it names no person", "sagen er en anonym optælling; den nævner ingen person"),
    (r"case \S+ is closed; reopen it before recording", "sagen er lukket; genoptag den, før du registrerer"),
    (
        r"a consent is given by its subject or by a custody holder",
        "et samtykke gives af personen selv eller af forældremyndigheden",
    ),
    (
        r"consent for a young person from 15 needs both the custody holder and the young person",
        "samtykke for en ung fra 15 år kræver både forældremyndigheden og den unge",
    ),
    (r"a tally's count is a whole number from 1 to (\d+)", "et antal i en optælling er et helt tal fra 1 til {0}"),
    (
        r"a decision under (.+) belongs to (\S+); (\S+) may not record it",
        "en afgørelse efter {0} hører til {1}; {2} må ikke træffe den",
    ),
    (
        r"only a caseworker \(or the coordinator\) records a decision",
        "kun en sagsbehandler (eller tovholderen) træffer en afgørelse",
    ),
    (r"only the case's coordinator resolves a flagged (\S+)", "kun sagens tovholder løser en markeret {0}"),
    (r"the shares of a financing split add up to 100 %", "andelene i en finansiering giver tilsammen 100 %"),
    (r"goal \S+ is closed", "målet er lukket"),
    (r"a consent's valid-until date cannot be in the past", "et samtykke kan ikke gælde til en dato, der er gået"),
    (
        r"consent for a child under 15 is given by a custody holder",
        "samtykke for et barn under 15 gives af forældremyndigheden",
    ),
    (
        r"a child from 10 must have their own view recorded with the consent",
        "et barn fra 10 år skal have sin egen holdning skrevet med i samtykket",
    ),
    (
        r"an adult gives their own consent \(or a court-appointed guardian does\)",
        "en voksen giver selv sit samtykke (eller en værge gør)",
    ),
)

#: Event kinds in words: topic -> (Danish, English).
EVENT_KINDS: dict[str, tuple[str, str]] = {
    "case.opened": ("Sag oprettet", "Case opened"),
    "case.closed": ("Sag lukket", "Case closed"),
    "case.reopened": ("Sag genoptaget", "Case reopened"),
    "case.transferred": ("Sag overdraget", "Case transferred"),
    "case.erased": ("Sag slettet", "Case erased"),
    "person.added": ("Person tilføjet", "Person added"),
    "person.corrected": ("Person rettet", "Person corrected"),
    "coordinator.assigned": ("Tovholder udpeget", "Coordinator assigned"),
    "team.joined": ("Afdeling med i teamet", "Department joined the team"),
    "team.left": ("Afdeling ude af teamet", "Department left the team"),
    "consent.given": ("Samtykke givet", "Consent given"),
    "consent.withdrawn": ("Samtykke tilbagekaldt", "Consent withdrawn"),
    "share.legal-basis": ("Delt med lovhjemmel", "Shared on a legal basis"),
    "child.reported": ("Underretning", "Report of concern"),
    "erasure.requested": ("Sletning anmodet", "Erasure requested"),
    "erasure.decided": ("Sletning afgjort", "Erasure decided"),
    "contact.recorded": ("Kontakt", "Contact"),
    "contacts.tallied": ("Kontakter optalt", "Contacts tallied"),
    "case.linked": ("Sag sammenkædet", "Case linked"),
    "meeting.held": ("Møde holdt", "Meeting held"),
    "assessment.recorded": ("Vurdering", "Assessment"),
    "goal.added": ("Mål tilføjet", "Goal added"),
    "goal.revised": ("Mål revideret", "Goal revised"),
    "goal.closed": ("Mål lukket", "Goal closed"),
    "activity.added": ("Aktivitet tilføjet", "Activity added"),
    "activity.started": ("Aktivitet startet", "Activity started"),
    "activity.ended": ("Aktivitet afsluttet", "Activity ended"),
    "progress.recorded": ("Fremskridt registreret", "Progress recorded"),
    "referral.made": ("Henvisning", "Referral"),
    "referral.outcome": ("Henvisningens udfald", "Referral outcome"),
    "decision.made": ("Afgørelse truffet", "Decision made"),
    "financing.agreed": ("Finansiering aftalt", "Financing agreed"),
    "conflict.flagged": ("Konflikt markeret", "Conflict flagged"),
    "conflict.resolved": ("Konflikt løst", "Conflict resolved"),
    "clash.flagged": ("Sammenstød markeret", "Clash flagged"),
    "clash.resolved": ("Sammenstød løst", "Clash resolved"),
    "aftercare.started": ("Efterværn startet", "Aftercare started"),
}

#: Words that stand in payloads, states and grounds: code -> (Danish, English).
WORDS: dict[str, tuple[str, str]] = {
    "parent": ("forælder", "parent"),
    "child": ("barn", "child"),
    "citizen": ("borger", "citizen"),
    "guardian": ("værge", "guardian"),
    "open": ("åben", "open"),
    "new": ("ny", "new"),
    "closed": ("lukket", "closed"),
    "own": ("egen registrering", "recorded by itself"),
    "consent": ("samtykke", "consent"),
    "legal-basis": ("lovhjemmel", "legal basis"),
    "recipient": ("modtager", "recipient"),
    "lead": ("sagsansvarlig", "lead"),
    "party": ("part i sagen", "party to the case"),
    "due": ("forfalder", "due"),
    "overdue": ("overskredet", "overdue"),
    "ending": ("ophører ved 18", "ends at 18"),
    "statutory-16": ("møde ved 16 år", "meeting at 16"),
    "statutory-17.5": ("møde ved 17½ år", "meeting at 17½"),
    "statutory-18": ("møde ved 18 år", "meeting at 18"),
    "ends-at-18": ("indsats ophører ved 18", "service ends at 18"),
    "network": ("netværksmøde", "network meeting"),
    "ssd": ("SSD-møde", "SSD meeting"),
    "contact": ("kontaktoplysninger", "contact information"),
    "health": ("helbred", "health"),
    "serviceloven-49a": (
        "serviceloven § 49 a: tidlig bekymring for et barn drøftet på et SSD-møde",
        "the Social Services Act § 49 a: early concern for a child discussed at an SSD meeting",
    ),
    "retsplejeloven-115": (
        "retsplejeloven § 115: kriminalitetsforebyggelse i SSP-samarbejdet",
        "the Administration of Justice Act § 115: crime prevention in SSP cooperation",
    ),
    "forvaltningsloven-28": (
        "forvaltningsloven § 28: oplysninger af væsentlig betydning for modtagerens afgørelse",
        "the Public Administration Act § 28: information of substantial importance to the receiver's decision",
    ),
    "barnets-lov-133": ("barnets lov § 133: underretning", "the Children's Act § 133: report of concern"),
    "handover": ("overdragelse", "handover"),
    "cover": ("vikariat under fravær", "cover during absence"),
    "intake": ("modtagelse", "intake"),
    "assessment": ("udredningsmøde", "assessment meeting"),
    "analysis": ("analysemøde", "analysis meeting"),
    "status": ("statusmøde", "status meeting"),
    "ssp": ("SSP-møde", "SSP meeting"),
    # the field app (`tovholder client ui`)
    "tally": ("anonym optælling", "anonymous tally"),
    "pseudonymous": ("pseudonym", "pseudonymous"),
    "family": ("familie", "family"),
    "trusted-adult": ("betroet voksen", "trusted adult"),
    "grant": ("bevilling", "grant"),
    "refusal": ("afslag", "refusal"),
    "sanction": ("sanktion", "sanction"),
    "payment-stop": ("stop for udbetaling", "payment stop"),
    "allowance": ("ydelse", "allowance"),
    "one-off-payment": ("engangsydelse", "one-off payment"),
    "running": ("i gang", "running"),
    "planned": ("planlagt", "planned"),
    "ended": ("afsluttet", "ended"),
    "arrived": ("mødt op", "arrived"),
    "not arrived": ("ikke mødt op", "did not arrive"),
    "conflict": ("konflikt", "conflict"),
    "clash": ("sammenstød", "clash"),
}

MONTHS = (
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
)
MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def chosen(cookie: str | None) -> str:
    """The language a cookie asks for; Danish for anything else."""
    return cookie if cookie in LANGUAGES else DANISH_CODE


def t(text: str) -> str:
    """`text` in the page's language."""
    return DANISH.get(text, text) if language.get() == DANISH_CODE else text


def _pair(table: dict[str, tuple[str, str]], code: str) -> str:
    pair = table.get(code)
    if pair is None:
        return code
    return pair[0] if language.get() == DANISH_CODE else pair[1]


def event_kind(topic: str) -> str:
    """An event's kind in words."""
    return _pair(EVENT_KINDS, topic)


def word(code: str) -> str:
    """A role, state, ground or kind in words; the code itself when it has none."""
    return _pair(WORDS, code)


def day(value: date | str | None) -> str:
    """A date as people write it: "2. december 2026" or "2 December 2026"."""
    if value is None or value == "":
        return ""
    d = date.fromisoformat(value[:10]) if isinstance(value, str) else value
    if language.get() == DANISH_CODE:
        return f"{d.day}. {MONTHS[d.month - 1]} {d.year}"
    return f"{d.day} {MONTHS_EN[d.month - 1]} {d.year}"


def when(value: datetime | str | None) -> str:
    """A moment in Copenhagen time with the zone named: "2. december 2026 kl. 14.05 CET"."""
    if value is None or value == "":
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = moment.astimezone(LOCAL)
    zone = local.tzname() or ""
    if language.get() == DANISH_CODE:
        return f"{day(local.date())} kl. {local:%H.%M} {zone}"
    return f"{day(local.date())} at {local:%H:%M} {zone}"


#: The payload fields a timeline tells in words, in this order; codes go through `word`,
#: person ids through the case's names. Ids, keys and CPR numbers are never shown.
TOLD: tuple[str, ...] = ("name", "role", "kind", "text", "note", "minutes", "summary", "legal_basis", "basis")
TOLD += ("explanation", "description", "resolution", "reason", "purpose")
CODES = frozenset({"role", "kind"})
PERSON_REFS = ("subject", "child", "person")


def told(payload: dict[str, object], names: dict[str, str]) -> str:
    """What an event says, in words: its text fields, the persons it names, no keys."""
    parts = [names[str(payload[k])] for k in PERSON_REFS if payload.get(k) and str(payload[k]) in names]
    for key in TOLD:
        value = payload.get(key)
        if isinstance(value, str) and value:
            parts.append(word(value) if key in CODES else value)
    return " · ".join(parts)


def rule(message: str) -> str:
    """A broken rule's message in the page's language: the Danish words of `RULES_DANISH`
    or of `DANISH` when it has them, the message as it is otherwise."""
    if language.get() != DANISH_CODE:
        return message
    for pattern, danish in RULES_DANISH:
        found = re.fullmatch(pattern, message)
        if found:
            return danish.format(*(word(g) for g in found.groups()))
    return t(message)
