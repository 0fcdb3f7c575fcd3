"""The project's own example documents: a complete, valid certificate and breach report.

The dates are fixed in the past so renderings and golden tests do not change from day to day.
Everything personal is invented. The free text exists in French, German and English here, and in
more languages in `labels/examples/<code>.yaml`; the example is written in the first of them that the
receiving State accepts (Art 21), French, German and English first.
"""

from __future__ import annotations

import functools
import secrets
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from forms.annex1 import Certificate
from forms.annex2 import BreachReport
from forms.states import certificate_language, load_state

_EXAMPLE_TEXT_DIR = Path(__file__).parent / "labels" / "examples"

_TEXT: dict[str, dict[str, str]] = {
    "fr": {
        "court": "Tribunal d'arrondissement de Luxembourg, chambre correctionnelle",
        "authority": "Parquet général du Grand-Duché de Luxembourg, Service Central d'Assistance Sociale",
        "facts": (
            "Entre le 1er septembre et le 30 novembre 2024, à Luxembourg-Ville, le condamné a harcelé son "
            "ancienne compagne par des appels et messages répétés et lui a porté des coups le 30 novembre 2024, "
            "entraînant une incapacité de travail de cinq jours."
        ),
        "classification": (
            "Harcèlement obsessionnel (art. 442-2 du Code pénal) ; coups et blessures volontaires "
            "(art. 398 et 399 du Code pénal)."
        ),
        "full_description": (
            "Appels et messages répétés à l'ancienne compagne contre sa volonté pendant trois mois, troublant "
            "gravement sa tranquillité ; le 30 novembre 2024, coups portés volontairement au visage et aux bras, "
            "causant une incapacité de travail personnelle de cinq jours."
        ),
        "m_residence": ("Informer le SCAS (et l'autorité d'exécution) de tout changement de résidence ou d'emploi."),
        "m_report": "Se présenter une fois par mois à l'agent de probation aux dates fixées par celui-ci.",
        "m_victim": "Ne pas entrer en contact avec la victime, de quelque manière que ce soit.",
        "m_damages": (
            "Indemniser la partie civile à hauteur de 2 500 EUR et en justifier auprès de l'agent de probation."
        ),
        "m_service": "Accomplir 120 heures de travail d'intérêt général non rémunéré.",
        "m_training": "Suivre une formation à la gestion de la violence (violence conjugale).",
        "other": "Aucune condamnation antérieure. Le condamné vit et travaille en Belgique depuis mars 2025.",
        "post": "Substitut du procureur général",
    },
    "de": {
        "court": "Bezirksgericht Luxemburg, Strafkammer",
        "authority": ("Generalstaatsanwaltschaft des Großherzogtums Luxemburg, Service Central d'Assistance Sociale"),
        "facts": (
            "Zwischen dem 1. September und dem 30. November 2024 belästigte der Verurteilte in Luxemburg-Stadt "
            "seine frühere Partnerin durch wiederholte Anrufe und Nachrichten und schlug sie am 30. November 2024, "
            "was eine Arbeitsunfähigkeit von fünf Tagen zur Folge hatte."
        ),
        "classification": (
            "Nachstellung (Art. 442-2 Strafgesetzbuch); vorsätzliche Körperverletzung (Art. 398 und 399 "
            "Strafgesetzbuch)."
        ),
        "full_description": (
            "Wiederholte Anrufe und Nachrichten an die frühere Partnerin gegen ihren Willen über drei Monate, "
            "die ihre Ruhe schwer beeinträchtigten; am 30. November 2024 vorsätzliche Schläge ins Gesicht und auf "
            "die Arme mit fünf Tagen Arbeitsunfähigkeit."
        ),
        "m_residence": (
            "Den SCAS (und die Vollstreckungsbehörde) über jeden Wohnsitz- oder Arbeitsplatzwechsel unterrichten."
        ),
        "m_report": "Sich einmal im Monat zu den festgesetzten Terminen beim Bewährungshelfer melden.",
        "m_victim": "Keinerlei Kontakt zum Opfer aufnehmen.",
        "m_damages": ("Der Zivilpartei 2 500 EUR Schadensersatz zahlen und dies dem Bewährungshelfer nachweisen."),
        "m_service": "120 Stunden unentgeltliche gemeinnützige Arbeit leisten.",
        "m_training": "An einem Anti-Gewalt-Training (häusliche Gewalt) teilnehmen.",
        "other": "Keine Vorstrafen. Der Verurteilte lebt und arbeitet seit März 2025 in Belgien.",
        "post": "Stellvertretender Generalstaatsanwalt",
    },
    "en": {
        "court": "District Court of Luxembourg, criminal chamber",
        "authority": (
            "Office of the Attorney General of the Grand Duchy of Luxembourg, Central Social Assistance Service"
        ),
        "facts": (
            "Between 1 September and 30 November 2024, in Luxembourg City, the sentenced person harassed his "
            "former partner with repeated calls and messages and struck her on 30 November 2024, causing five "
            "days' incapacity for work."
        ),
        "classification": (
            "Harassment (Criminal Code art. 442-2); intentional assault and battery (Criminal Code arts. 398 and 399)."
        ),
        "full_description": (
            "Repeated calls and messages to his former partner against her will over three months, seriously "
            "disturbing her peace; on 30 November 2024, intentional blows to the face and arms causing five days' "
            "incapacity for work."
        ),
        "m_residence": "Inform the SCAS (and the executing authority) of any change of residence or job.",
        "m_report": "Report once a month to the probation officer on the dates the officer sets.",
        "m_victim": "Have no contact of any kind with the victim.",
        "m_damages": "Pay the civil party EUR 2,500 in damages and prove it to the probation officer.",
        "m_service": "Carry out 120 hours of unpaid community service.",
        "m_training": "Follow a training in violence handling (domestic violence).",
        "other": ("No previous convictions. The sentenced person has lived and worked in Belgium since March 2025."),
        "post": "Deputy Attorney General",
    },
}

_BREACH_TEXT: dict[str, dict[str, str]] = {
    "fr": {
        "authority": "Maison de justice d'Arlon",
        "breach": ("Ne s'est pas présenté aux rendez-vous des 3 et 10 février 2026 et n'a donné aucune justification."),
        "findings": (
            "Selon la police locale, l'intéressé aurait quitté son domicile d'Arlon depuis le 12 février 2026."
        ),
        "post": "Assistant de justice",
    },
    "de": {
        "authority": "Justizhaus Arlon",
        "breach": ("Ist zu den Terminen am 3. und 10. Februar 2026 nicht erschienen und hat sich nicht entschuldigt."),
        "findings": (
            "Nach Angaben der örtlichen Polizei hat der Betroffene seine "
            "Wohnung in Arlon am 12. Februar 2026 verlassen."
        ),
        "post": "Justizassistent",
    },
    "en": {
        "authority": "House of Justice, Arlon",
        "breach": "Did not attend the appointments of 3 and 10 February 2026 and gave no justification.",
        "findings": (
            "According to the local police, the person appears to have left his home in Arlon on 12 February 2026."
        ),
        "post": "Justice assistant",
    },
}


def _load_more_languages() -> None:
    """The example's free text in the other languages, one YAML file each (`labels/examples/<code>.yaml`)."""
    for path in sorted(_EXAMPLE_TEXT_DIR.glob("*.yaml")):
        with path.open(encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        _TEXT.setdefault(path.stem, {str(k): str(v) for k, v in data["certificate"].items()})
        _BREACH_TEXT.setdefault(path.stem, {str(k): str(v) for k, v in data["breach"].items()})


_load_more_languages()
# French, German and English first, so a State accepting one of them gets what it always got; the other
# languages follow, so a State accepting none of the three still gets an example in a language it accepts.
_TEXT_LANGUAGES: tuple[str, ...] = ("fr", "de", "en", *(lang for lang in _TEXT if lang not in ("fr", "de", "en")))


def _language(receiving: str) -> str:
    # A State we know nothing about still gets an example: English, which validation will flag.
    return certificate_language(receiving, _TEXT_LANGUAGES) or "en"


def _address(state: str) -> dict[str, Any]:
    if state == "LU":
        return {"street": "12, rue de l'Exemple", "postcode": "L-4001", "city": "Esch-sur-Alzette", "country": "LU"}
    if state == "BE":
        return {"street": "Rue de l'Exemple 7", "postcode": "6700", "city": "Arlon", "country": "BE"}
    return {"street": "Example Street 1", "postcode": "00000", "city": "Example City", "country": state}


def _uses_lu_catalogue(issuing: str) -> bool:
    return issuing == "LU"


def judgment_of_its_own(reference: str | None) -> str:
    """The example's judgment reference made unique: each training or walk-through transfer stands for a
    judgment of its own, since Art 6(5) refuses a second transfer of a judgment while one is open."""
    return f"{reference or 'TRAINING'}-{secrets.token_hex(3).upper()}"


def example_certificate(issuing: str = "LU", executing: str = "BE") -> Certificate:
    """A complete certificate: a Luxembourg sursis probatoire with six measures, sent for supervision."""
    lang = _language(executing)
    text = _TEXT[lang]
    national = _uses_lu_catalogue(issuing)

    def measure(category: str, key: str, national_id: str, **extra: Any) -> dict[str, Any]:
        item: dict[str, Any] = {"category": category, "description": text[key], **extra}
        if national and load_state(issuing).national_measure(national_id) is not None:
            item["national_measure"] = national_id
        return item

    data: dict[str, Any] = {
        "issuing_state": issuing,
        "executing_state": executing,
        "language": lang,
        "judgment": {
            "court": text["court"],
            "delivered_on": "2025-03-14",
            "final_on": "2025-04-24",
            "reference": "LCRI 1234/2025",
        },
        "contact_authority": {
            "kind": "public_prosecutor",
            "name": text["authority"],
            "address": {
                "street": "Cité judiciaire, Plateau du Saint-Esprit",
                "postcode": "L-2080",
                "city": "Luxembourg",
                "country": issuing,
            },
            "phone": "+352 00 00 00 00",
            "email": "probation@parquet.example.lu",
            "languages": ["fr", "de", "en"],
            "contact_persons": [
                {
                    "name": "Claire Exemple",
                    "post": "Agent de probation",
                    "phone": "+352 00 00 00 01",
                    "email": "c.exemple@scas.example.lu",
                    "languages": ["fr", "de"],
                }
            ],
        },
        "person": {
            "surname": "Muller",
            "forenames": "Jean Paul",
            "sex": "male",
            "nationality": [issuing],
            "identity_number": "1990060212345",
            "date_of_birth": "1990-06-02",
            "place_of_birth": "Esch-sur-Alzette",
            "addresses": {
                "in_issuing_state": _address(issuing),
                "in_executing_state": _address(executing),
            },
            "languages_understood": ["fr", "de"],
            "identity_documents": [{"kind": "id_card", "number": "XY1234567"}],
        },
        "forwarding_ground": {"basis": "art_5_1", "returned_or_will_return": True},
        "offences": {
            "count": 2,
            "facts": text["facts"],
            "legal_classification": text["classification"],
            "list_offences": [],
            "full_description": text["full_description"],
        },
        "appearance": {"appeared_in_person": True},
        "judgment_nature": {
            "judgment_type": "suspended_sentence",
            "national_decision": "sursis_probatoire" if national else None,
            "suspended_custody_days": 365,
            "probation_period_days": 1096,
            "custody_on_revocation_days": 365,
        },
        "supervision": {"total_duration_days": 1096},
        "measures": [
            measure("a", "m_residence", "inform_scas_of_residence"),
            measure("e", "m_report", "report_to_probation_officer"),
            measure("d", "m_victim", "no_contact_with_victim"),
            measure("h", "m_damages", "pay_damages", duration_days=365),
            measure("i", "m_service", "community_service", hours=120, duration_days=365),
            measure("d", "m_training", "violence_training", duration_days=270),
        ],
        "other_circumstances": {"text": text["other"], "judgment_attached": True},
        "signature": {
            "name": "Marc Exemple",
            "post": text["post"],
            "signed_on": "2025-05-05",
            "file_reference": "PG-PROB-2025-0042",
            "official_stamp": True,
        },
    }
    return Certificate.model_validate(data)


def example_breach(issuing: str = "LU", executing: str = "BE") -> BreachReport:
    """A report from the executing State: missed appointments, and the person may have absconded."""
    lang = _language(issuing)  # Annex II goes into a language of the issuing State (Art 21)
    text = _BREACH_TEXT[lang]
    cert_text = _TEXT[lang]
    data: dict[str, Any] = {
        "issuing_state": issuing,
        "executing_state": executing,
        "language": lang,
        "person": {
            "surname": "Muller",
            "forenames": "Jean Paul",
            "sex": "male",
            "nationality": [issuing],
            "date_of_birth": "1990-06-02",
            "place_of_birth": "Esch-sur-Alzette",
            "address": _address(executing),
            "languages_understood": ["fr", "de"],
        },
        "judgment": {
            "judgment_delivered_on": "2025-03-14",
            "judgment_reference": "LCRI 1234/2025",
            "court": {"name": cert_text["court"]},
            "certificate_issued_on": "2025-05-05",
            "certificate_authority": cert_text["authority"],
            "certificate_reference": "PG-PROB-2025-0042",
        },
        "supervising_authority": {
            "name": text["authority"],
            "contact_person": "Sophie Exemple",
            "post": text["post"],
            "address": _address(executing),
            "phone": "+32 00 00 00 00",
            "email": "arlon@justice.example.be",
            "languages": ["fr", "nl"],
        },
        "breaches": [
            {
                "category": "e",
                "measure": 1,
                "occurred_on": "2026-02-10",
                "place": "Arlon",
                "description": text["breach"],
            }
        ],
        "other_findings": text["findings"],
        "contact": {
            "name": "Sophie Exemple",
            "address": _address(executing),
            "phone": "+32 00 00 00 00",
            "email": "arlon@justice.example.be",
        },
        "signature": {
            "name": "Sophie Exemple",
            "post": text["post"],
            "signed_on": date(2026, 2, 16).isoformat(),
            "official_stamp": False,
        },
    }
    return BreachReport.model_validate(data)


EXAMPLE_JUDGMENT_FILENAME = "judgment-LCRI-1234-2025.pdf"
EXAMPLE_JUDGMENT_LANGUAGE = "fr"

_JUDGMENT_HTML = """<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>Jugement LCRI 1234/2025 (exemple)</title></head>
<body>
<p class="meta">EXEMPLE DE FORMATION — document fictif produit par probatio; aucune personne réelle.</p>
<h1>Tribunal d'arrondissement de Luxembourg — chambre correctionnelle</h1>
<p>Jugement n° LCRI 1234/2025 du 14 mars 2025, coulé en force de chose jugée le 24 avril 2025.</p>
<p>Dans la cause du ministère public contre Jean Paul Muller, né le 2 juin 1990 à Esch-sur-Alzette,
le tribunal, statuant contradictoirement, condamne le prévenu à une peine d'emprisonnement d'un an,
assortie du sursis probatoire pendant trois ans.</p>
<ol>
<li>informer le service central d'assistance sociale de tout changement de résidence;</li>
<li>se présenter aux convocations de l'agent de probation;</li>
<li>s'abstenir de tout contact avec la victime;</li>
<li>indemniser la victime dans un délai d'un an;</li>
<li>accomplir 120 heures de travail d'intérêt général;</li>
<li>suivre une formation sur la violence.</li>
</ol>
<p>Ainsi jugé et prononcé en audience publique à Luxembourg.</p>
</body></html>
"""


@functools.cache
def example_judgment_pdf() -> bytes:
    """The judgment that goes with the example certificate (Art 6(1)): a short invented one-page judgment,
    printed by the same PDF machinery as the annexes, the same bytes every time."""
    from forms.pdf import html_to_pdf

    return html_to_pdf(_JUDGMENT_HTML, EXAMPLE_JUDGMENT_LANGUAGE)
