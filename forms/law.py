"""The Framework Decision 2008/947/JHA as enums and constants, each named after its article.

Every value here carries the confidence tag of design/fd947.md: [V] verified, [V~] verified
indirectly, [R] recollection of the OJ text, [U] unverified. The tags live in `CONFIDENCE` so
that whoever re-keys the text from OJ L 337, 16.12.2008, p. 102 can find what to check.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Confidence(StrEnum):
    """How sure we are of a legal fact (design/fd947.md, "Confidence tags")."""

    VERIFIED = "V"
    VERIFIED_INDIRECTLY = "V~"
    RECOLLECTION = "R"
    UNVERIFIED = "U"


class MeasureCategory(StrEnum):
    """Art 4(1) (a)-(k): what every executing State must be able to supervise; "other" is Art 4(2)."""

    INFORM_CHANGE_OF_RESIDENCE_OR_WORK = "a"
    NOT_ENTER_PLACES = "b"
    LIMITS_ON_LEAVING_TERRITORY = "c"
    INSTRUCTIONS_BEHAVIOUR_RESIDENCE_TRAINING_WORK = "d"
    REPORT_AT_SPECIFIED_TIMES = "e"
    AVOID_CONTACT_WITH_PERSONS = "f"
    AVOID_CONTACT_WITH_OBJECTS = "g"
    COMPENSATE_PREJUDICE = "h"
    COMMUNITY_SERVICE = "i"
    COOPERATE_WITH_PROBATION_OFFICER = "j"
    THERAPEUTIC_OR_ADDICTION_TREATMENT = "k"
    # Art 4(2): only allowed on a certificate when the executing State notified it (Art 6(4)).
    OTHER = "other"


# Art 4(1) wording, essentially verbatim [V] (checked against the Irish Act s.19(1)(a)-(k)).
ART_4_1_WORDING: Final[dict[MeasureCategory, str]] = {
    MeasureCategory.INFORM_CHANGE_OF_RESIDENCE_OR_WORK: (
        "an obligation for the sentenced person to inform a specific authority of any change of residence "
        "or working place"
    ),
    MeasureCategory.NOT_ENTER_PLACES: (
        "an obligation not to enter certain localities, places or defined areas in the issuing or executing State"
    ),
    MeasureCategory.LIMITS_ON_LEAVING_TERRITORY: (
        "an obligation containing limitations on leaving the territory of the executing State"
    ),
    MeasureCategory.INSTRUCTIONS_BEHAVIOUR_RESIDENCE_TRAINING_WORK: (
        "instructions relating to behaviour, residence, education and training, leisure activities, or "
        "containing limitations on or modalities of carrying out a professional activity"
    ),
    MeasureCategory.REPORT_AT_SPECIFIED_TIMES: "an obligation to report at specified times to a specific authority",
    MeasureCategory.AVOID_CONTACT_WITH_PERSONS: "an obligation to avoid contact with specific persons",
    MeasureCategory.AVOID_CONTACT_WITH_OBJECTS: (
        "an obligation to avoid contact with specific objects which have been used or are likely to be used "
        "by the sentenced person with a view to committing a criminal offence"
    ),
    MeasureCategory.COMPENSATE_PREJUDICE: (
        "an obligation to compensate financially for the prejudice caused by the offence and/or an obligation "
        "to provide proof of compliance with such an obligation"
    ),
    MeasureCategory.COMMUNITY_SERVICE: "an obligation to carry out community service",
    MeasureCategory.COOPERATE_WITH_PROBATION_OFFICER: (
        "an obligation to cooperate with a probation officer or with a representative of a social service "
        "having responsibilities in respect of sentenced persons"
    ),
    MeasureCategory.THERAPEUTIC_OR_ADDICTION_TREATMENT: (
        "an obligation to undergo therapeutic treatment or treatment for addiction"
    ),
    MeasureCategory.OTHER: "other measures that the executing State is prepared to supervise (Art 4(2))",
}


class ListOffence(StrEnum):
    """Art 10(1): the 32 offences recognised without verification of double criminality [R].

    Same list as FD 2002/584 and FD 2008/909; the value is the position in the list, so the
    certificate's tick boxes (box (g) point 2) keep their order.
    """

    CRIMINAL_ORGANISATION = "1"
    TERRORISM = "2"
    TRAFFICKING_IN_HUMAN_BEINGS = "3"
    SEXUAL_EXPLOITATION_OF_CHILDREN = "4"
    NARCOTIC_DRUGS = "5"
    WEAPONS_MUNITIONS_EXPLOSIVES = "6"
    CORRUPTION = "7"
    FRAUD = "8"
    MONEY_LAUNDERING = "9"
    COUNTERFEITING_CURRENCY = "10"
    COMPUTER_CRIME = "11"
    ENVIRONMENTAL_CRIME = "12"
    FACILITATION_OF_UNAUTHORISED_ENTRY = "13"
    MURDER_GRIEVOUS_BODILY_INJURY = "14"
    HUMAN_ORGANS = "15"
    KIDNAPPING_HOSTAGE_TAKING = "16"
    RACISM_XENOPHOBIA = "17"
    ORGANISED_ARMED_ROBBERY = "18"
    CULTURAL_GOODS = "19"
    SWINDLING = "20"
    RACKETEERING_EXTORTION = "21"
    COUNTERFEITING_PRODUCTS = "22"
    FORGERY_OF_ADMINISTRATIVE_DOCUMENTS = "23"
    FORGERY_OF_MEANS_OF_PAYMENT = "24"
    HORMONAL_SUBSTANCES = "25"
    NUCLEAR_RADIOACTIVE_MATERIALS = "26"
    STOLEN_VEHICLES = "27"
    RAPE = "28"
    ARSON = "29"
    ICC_CRIMES = "30"
    UNLAWFUL_SEIZURE_OF_AIRCRAFT_SHIPS = "31"
    SABOTAGE = "32"


class RefusalGround(StrEnum):
    """Art 11(1) (a)-(k): optional grounds for refusing recognition ("may refuse") [R]."""

    CERTIFICATE_INCOMPLETE = "a"
    ART_5_OR_6_4_CRITERIA_NOT_MET = "b"
    NE_BIS_IN_IDEM = "c"
    NO_DOUBLE_CRIMINALITY = "d"
    STATUTE_BARRED = "e"
    IMMUNITY = "f"
    AGE = "g"
    IN_ABSENTIA = "h"  # as replaced by FD 2009/299
    TREATMENT_NOT_SUPERVISABLE = "i"
    LESS_THAN_SIX_MONTHS = "j"
    TERRITORIALITY = "k"


# Art 11(1) (a)-(k) in words, abridged from design/fd947.md [R] (letter order from recollection; content
# confirmed by NL WETS 3:12/3:13 [V~]): what an integrator or a prosecutor reads beside each letter.
ART_11_1_WORDING: Final[dict[RefusalGround, str]] = {
    RefusalGround.CERTIFICATE_INCOMPLETE: (
        "the certificate is incomplete or obviously does not correspond to the judgment, and was not completed "
        "or corrected within the period set"
    ),
    RefusalGround.ART_5_OR_6_4_CRITERIA_NOT_MET: "the criteria of Art 5(1), 5(2) or 6(4) are not met",
    RefusalGround.NE_BIS_IN_IDEM: "recognition would be contrary to the principle of ne bis in idem",
    RefusalGround.NO_DOUBLE_CRIMINALITY: (
        "the acts do not constitute an offence under the law of the executing State (Art 10(3), or 10(1) after "
        "an Art 10(4) declaration)"
    ),
    RefusalGround.STATUTE_BARRED: "enforcement is statute-barred under the law of the executing State",
    RefusalGround.IMMUNITY: "an immunity under the law of the executing State makes supervision impossible",
    RefusalGround.AGE: "owing to age, the person cannot be held criminally liable under the executing State's law",
    RefusalGround.IN_ABSENTIA: (
        "the person did not appear in person at the trial, and none of the exceptions of box (h) applies "
        "(as replaced by FD 2009/299)"
    ),
    RefusalGround.TREATMENT_NOT_SUPERVISABLE: (
        "the judgment provides for medical or therapeutic treatment that the executing State cannot supervise"
    ),
    RefusalGround.LESS_THAN_SIX_MONTHS: "the probation measure or alternative sanction lasts less than six months",
    RefusalGround.TERRITORIALITY: (
        "the offence is regarded as committed wholly or for a major or essential part on the executing "
        "State's territory"
    ),
}


# Art 11(3): the executing authority must consult the issuing authority before refusing on these.
CONSULTATION_REQUIRED: Final[frozenset[RefusalGround]] = frozenset(
    {
        RefusalGround.CERTIFICATE_INCOMPLETE,
        RefusalGround.ART_5_OR_6_4_CRITERIA_NOT_MET,
        RefusalGround.NE_BIS_IN_IDEM,
        RefusalGround.IN_ABSENTIA,
        RefusalGround.TREATMENT_NOT_SUPERVISABLE,
        RefusalGround.LESS_THAN_SIX_MONTHS,
        RefusalGround.TERRITORIALITY,
    }
)


# Art 11(3) sets no period for the issuing authority's answer to a consultation: the executing authority sets
# one when it consults. This default is policy, not law; without an answer, a refusal on the consulted ground
# waits until it has run out.
CONSULTATION_REPLY_DAYS_POLICY: Final[int] = 10


class JudgmentType(StrEnum):
    """Art 2(1)(a)-(d): what a judgment under the FD imposes; box (i) point 1 of the certificate."""

    SUSPENDED_SENTENCE = "suspended_sentence"  # Art 2(2)
    CONDITIONAL_SENTENCE = "conditional_sentence"  # Art 2(3)
    ALTERNATIVE_SANCTION = "alternative_sanction"  # Art 2(4)
    CONDITIONAL_RELEASE = "conditional_release"  # Art 2(6)


class Art14_3Case(StrEnum):
    """Art 14(3) (a)-(c): cases in which a State may decline the Art 14(1)(b)-(c) decisions [V]."""

    ALTERNATIVE_SANCTION_WITHOUT_CUSTODY_IN_DEFAULT = "a"
    CONDITIONAL_SENTENCE = "b"
    NO_DOUBLE_CRIMINALITY = "c"


# The 27 member states as the EU writes them (EL for Greece), CONTRACT "Vocabulary".
MEMBER_STATES: Final[tuple[str, ...]] = (
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
)  # fmt: skip

# The 24 official languages of the EU (ISO 639-1): the only ones Art 21 lets a State accept.
EU_LANGUAGES: Final[frozenset[str]] = frozenset(
    {
        "bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr",
        "hu", "it", "lt", "lv", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv",
    }
)  # fmt: skip

# Art 10(1): a list offence dispenses with double criminality only when punishable in the issuing
# State by a custodial sentence with a maximum of at least three years [R].
ART_10_1_MIN_MAXIMUM_YEARS: Final[int] = 3

# Art 11(1)(j): the executing State may refuse where the measure lasts less than six months [R].
ART_11_1_J_MIN_MONTHS: Final[int] = 6

# Where the FD counts in months or years but the certificate counts in days, we convert with the
# mean Gregorian year; minima round down and maxima round up so that a judge's "5 years" that
# happens to span two leap days is never reported as too long.
DAYS_PER_YEAR: Final[float] = 365.2425
DAYS_PER_MONTH: Final[float] = DAYS_PER_YEAR / 12

# Where a rule's article or wording is still to be re-keyed from the OJ.
CONFIDENCE: Final[dict[str, Confidence]] = {
    "art_4_1": Confidence.VERIFIED,
    "art_4_2": Confidence.RECOLLECTION,
    "art_5": Confidence.VERIFIED_INDIRECTLY,
    "art_6_4": Confidence.RECOLLECTION,
    "art_9": Confidence.RECOLLECTION,
    "art_10_1": Confidence.RECOLLECTION,
    "art_11_1": Confidence.RECOLLECTION,
    "art_11_3": Confidence.RECOLLECTION,
    "art_14_3": Confidence.VERIFIED,
    "art_21": Confidence.RECOLLECTION,
}


class SubsequentDecision(StrEnum):
    """Art 14(1), 16(1), 17(4): the decisions taken after the judgment, while the measures are supervised."""

    MODIFY = "modify"  # 14(1)(a): modify the obligations or instructions, or the period of probation
    REVOKE = "revoke"  # 14(1)(b): revoke the suspension or the conditional release
    EXECUTE_CUSTODY = "execute_custody"  # 14(1)(c): impose the custodial sentence of an alternative sanction
    LAPSE = "lapse"  # 14(1), 16(1)(d): the measures lapse


# What each subsequent decision does to the case: it goes on (None) or closes with this outcome.
SUBSEQUENT_DECISION_OUTCOME: Final[dict[SubsequentDecision, str | None]] = {
    SubsequentDecision.MODIFY: None,
    SubsequentDecision.REVOKE: "revoked",
    SubsequentDecision.EXECUTE_CUSTODY: "revoked",
    SubsequentDecision.LAPSE: "lapsed",
}

# Art 14(3): the decisions a declaring executing State leaves to the issuing State (14(1)(b)-(c)).
ISSUING_DECISIONS_UNDER_14_3: Final[frozenset[SubsequentDecision]] = frozenset(
    {SubsequentDecision.REVOKE, SubsequentDecision.EXECUTE_CUSTODY}
)

# Art 14(3): what the issuing State may decide where the executing State declared it: revoke the suspension
# or order the custodial sentence (14(1)(b)-(c)), and declare the measures lapsed where that follows. Modifying
# the obligations or the period (14(1)(a)) stays with the executing State, under its own law (13, 14(2)).
ISSUING_MAY_DECIDE_UNDER_14_3: Final[frozenset[SubsequentDecision]] = (
    ISSUING_DECISIONS_UNDER_14_3 | {SubsequentDecision.LAPSE}
)


class ReviewOutcome(StrEnum):
    """Art 19: what the issuing State reports of a review of the judgment."""

    ANNULLED = "annulled"  # nothing is left to supervise: the measures lapse on both sides
    AMENDED = "amended"
    CONFIRMED = "confirmed"


REVIEW_OUTCOME_CLOSES: Final[dict[ReviewOutcome, str | None]] = {
    ReviewOutcome.ANNULLED: "lapsed", ReviewOutcome.AMENDED: None, ReviewOutcome.CONFIRMED: None,
}


class TransferBackReason(StrEnum):
    """Art 20: why competence for the supervision goes back to the issuing State."""

    ABSCONDED = "absconded"  # 20(1): the person absconded
    RESIDENCE_LOST = "residence_lost"  # 20(1): no longer lawful and ordinary residence in the executing State
    ISSUING_REQUEST = "issuing_request"  # 20(2): new proceedings in the issuing State, which asked for it


class DecisionOutcome(StrEnum):
    """Art 8, 9, 11, 12(1): what the executing authority decides on a certificate."""

    RECOGNISED = "recognised"
    ADAPTED = "adapted"  # Art 9, 18(5)
    REFUSED = "refused"  # Art 11(1), 18(4)
