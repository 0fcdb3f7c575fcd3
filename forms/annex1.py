"""Annex I: the certificate that travels with the judgment (Art 6), box by box (design/fd947.md §4).

The whole annex is [R] (recollection of the OJ form as amended by FD 2009/299); fields whose very
existence on the form is uncertain carry `confidence: U` in the JSON Schema. A few fields are not
boxes of the form but make the rules checkable (the statutory maximum behind box (g) point 2, the
issuing State's national decision and measure ids); their descriptions say so.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from forms.common import (
    Address,
    ContactPerson,
    CountryCode,
    Days,
    FormModel,
    Hours,
    LanguageCode,
    LongText,
    MemberStateCode,
    ShortText,
    Signature,
    tagged,
)
from forms.documents import MAX_DOCUMENTS, AttachedDocument, SeparateChannel
from forms.law import Confidence, JudgmentType, ListOffence, MeasureCategory

# --- box (b) and (c) -------------------------------------------------------------------------


class Judgment(FormModel):
    """Box (b): the court which delivered the judgment."""

    court: ShortText = Field(description="official name of the court")
    delivered_on: date
    final_on: date = Field(description="date on which the judgment became final")
    reference: ShortText | None = Field(default=None, description="reference number, if available")


class ProbationDecision(FormModel):
    """Box (c): the authority which issued the probation decision, if any (Art 2(5))."""

    authority: ShortText = Field(description="official name of the authority")
    delivered_on: date
    final_on: date
    reference: ShortText | None = None


# --- box (d) ---------------------------------------------------------------------------------


class AuthorityKind(StrEnum):
    COURT = "court"
    PUBLIC_PROSECUTOR = "public_prosecutor"
    PROBATION_SERVICE = "probation_service"
    OTHER = "other"


class ContactAuthority(FormModel):
    """Box (d): the authority to contact for any question about the certificate."""

    kind: AuthorityKind = tagged(Confidence.UNVERIFIED, "exact list of tick boxes")
    kind_other: ShortText | None = Field(default=None, description="the other competent authority, specified")
    name: ShortText
    address: Address
    phone: ShortText = Field(description="tel. (country code, area code, number)")
    fax: ShortText | None = None
    email: ShortText | None = None
    languages: list[LanguageCode] = Field(min_length=1, description="languages in which one can communicate")
    contact_persons: list[ContactPerson] = Field(default_factory=list)


# --- box (e) ---------------------------------------------------------------------------------


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"
    UNKNOWN = "unknown"


class IdentityDocumentKind(StrEnum):
    ID_CARD = "id_card"
    PASSPORT = "passport"
    RESIDENCE_PERMIT = "residence_permit"
    OTHER = "other"


class IdentityDocument(FormModel):
    kind: IdentityDocumentKind
    number: ShortText


class PersonAddresses(FormModel):
    """Box (e): last known address or residence in the issuing State, the executing State, elsewhere."""

    in_issuing_state: Address | None = None
    in_executing_state: Address | None = None
    elsewhere: Address | None = None


class SentencedPerson(FormModel):
    """Box (e): the natural person in respect of whom the judgment or probation decision was issued."""

    surname: ShortText
    forenames: ShortText
    maiden_name: ShortText | None = None
    aliases: list[ShortText] = Field(default_factory=list)
    sex: Sex
    nationality: list[CountryCode] = Field(min_length=1)
    identity_number: ShortText | None = Field(default=None, description="identity or social security number")
    date_of_birth: date
    place_of_birth: ShortText
    addresses: PersonAddresses
    languages_understood: list[LanguageCode] = Field(default_factory=list)
    identity_documents: list[IdentityDocument] = Field(default_factory=list)
    residence_permit: IdentityDocument | None = Field(
        default=None, description="type and number of the residence permit in the executing State"
    )
    photo_or_fingerprints_contact: ShortText | None = tagged(
        Confidence.UNVERIFIED,
        "present in FD 909's certificate; not sure for FD 947",
        default=None,
        description="contact for obtaining a photograph or fingerprints",
    )


# --- box (f) ---------------------------------------------------------------------------------


class ForwardingBasis(StrEnum):
    ART_5_1 = "art_5_1"  # lawful and ordinary residence, has returned or wants to return
    ART_5_2 = "art_5_2"  # has moved or intends to move, on request, with consent of the executing State


class MoveReason(StrEnum):
    """Box (f): reasons for moving to the executing State (recital 14) [V]."""

    EMPLOYMENT_CONTRACT = "employment_contract"
    FAMILY_MEMBER = "family_member"
    STUDY_OR_TRAINING = "study_or_training"
    OTHER = "other"


class ForwardingGround(FormModel):
    """Box (f): why the certificate goes to the executing State named in box (a) (Art 5)."""

    basis: ForwardingBasis
    returned_or_will_return: bool = Field(
        default=False, description="Art 5(1): the person has returned or wants to return to the executing State"
    )
    reasons: list[MoveReason] = Field(default_factory=list, description="Art 5(2): reasons for the move")
    other_reason: ShortText | None = None
    person_requested: bool = tagged(
        Confidence.UNVERIFIED,
        "whether the form records the request",
        default=False,
        description="Art 5(2): the sentenced person asked for the forwarding",
    )
    executing_consent: bool = tagged(
        Confidence.UNVERIFIED,
        "whether the form records the consent",
        default=False,
        description="Art 5(2): the executing State's competent authority consented",
    )
    consent_reference: ShortText | None = tagged(Confidence.UNVERIFIED, default=None)


# --- box (g) ---------------------------------------------------------------------------------


class Offences(FormModel):
    """Box (g): the offences the judgment relates to."""

    count: int = Field(ge=1, le=10_000, description="the judgment relates to this many offences in total")
    facts: LongText = Field(description="summary of facts: time, place and the person's involvement")
    legal_classification: LongText = Field(description="nature and legal classification, statutory provisions")
    list_offences: list[ListOffence] = Field(default_factory=list, description="point 2: Art 10(1) list offences")
    maximum_custody_months: int | None = Field(
        default=None,
        ge=0,
        le=12_000,
        description=(
            "not a box of the form: the issuing State's statutory maximum for the ticked offences, "
            "which point 2 certifies to be at least three years (Art 10(1))"
        ),
    )
    full_description: LongText | None = Field(
        default=None, description="point 3: full description where no list offence applies or Art 10(4) was declared"
    )


# --- box (h) ---------------------------------------------------------------------------------


class AbsentiaException(StrEnum):
    """Box (h) point 3 as replaced by FD 2009/299 [V~] (NL WETS 3:12(1)(h))."""

    SUMMONED_IN_PERSON = "3.1a"
    INFORMED_BY_OTHER_MEANS = "3.1b"
    DEFENDED_BY_MANDATED_LAWYER = "3.2"
    SERVED_AND_DID_NOT_CONTEST = "3.3"


class RetrialResponse(StrEnum):
    EXPRESSLY_NOT_CONTESTED = "expressly_not_contested"
    NO_REQUEST_IN_TIME = "no_request_in_time"


class Appearance(FormModel):
    """Box (h) as replaced by FD 2009/299: did the person appear in person at the trial?"""

    appeared_in_person: bool
    exception: AbsentiaException | None = None
    summoned_on: date | None = Field(default=None, description="3.1a: date of the summons in person")
    served_on: date | None = Field(default=None, description="3.3: date the decision was served")
    retrial_response: RetrialResponse | None = None
    how_met: LongText | None = Field(default=None, description="point 4: how the condition was met (3.1b, 3.2, 3.3)")


class AppearancePre2009(FormModel):
    """Box (h) of the original 2008 form, for States that had not transposed FD 2009/299."""

    rendered_in_absentia: bool
    summoned_personally_or_via_representative: bool | None = None
    indicated_not_contesting: bool | None = None


# --- box (i) ---------------------------------------------------------------------------------


class ConditionalSentenceKind(StrEnum):
    IMPOSITION_DEFERRED = "imposition_deferred"
    INSTEAD_OF_CUSTODY = "instead_of_custody"


class JudgmentNature(FormModel):
    """Box (i): the nature of the judgment or probation decision (Art 2)."""

    judgment_type: JudgmentType
    national_decision: ShortText | None = Field(
        default=None,
        description="not a box of the form: id of the decision in the issuing State's catalogue (forms/states)",
    )
    conditional_sentence_kind: ConditionalSentenceKind | None = None
    custody_in_default: bool | None = Field(
        default=None,
        description="alternative sanction: the judgment contains a custodial sentence to be enforced on non-compliance",
    )
    custody_pending_trial_days: Days | None = Field(default=None, description="2.1")
    custody_served_days: Days | None = Field(default=None, description="2.2, conditional release only")
    suspended_custody_days: Days | None = Field(default=None, description="2.3: custodial sentence suspended")
    probation_period_days: Days | None = Field(default=None, description="2.3: probation period")
    custody_on_revocation_days: Days | None = Field(default=None, description="2.4: custody to serve on revocation")


# --- box (j) ---------------------------------------------------------------------------------


class Measure(FormModel):
    """Box (j) points 2, 4 and 5: one probation measure or alternative sanction."""

    category: MeasureCategory
    description: LongText
    duration_days: Days | None = Field(default=None, description="duration of this obligation, if it has its own")
    hours: Hours | None = Field(default=None, description="hours of community service")
    national_measure: ShortText | None = Field(
        default=None, description="not a box of the form: id in the issuing State's measure catalogue"
    )
    notified_measure: ShortText | None = Field(
        default=None,
        description="for category 'other': id of the executing State's Art 4(2) notification it relies on",
    )


class Supervision(FormModel):
    """Box (j) points 1, 3 and 6."""

    total_duration_days: Days = Field(description="1: total duration of the supervision")
    probation_period_days: Days | None = Field(default=None, description="3: probation period, if different")
    starts_on: date | None = tagged(
        Confidence.UNVERIFIED,
        "not a recalled box; the start of the probation period",
        default=None,
    )
    reports_available: bool = tagged(Confidence.UNVERIFIED, default=False)
    report_languages: list[LanguageCode] = tagged(Confidence.UNVERIFIED, default_factory=list)


# --- box (k) ---------------------------------------------------------------------------------


class OtherCircumstances(FormModel):
    """Box (k): other relevant circumstances (optional)."""

    text: LongText | None = None
    judgment_attached: bool = tagged(Confidence.UNVERIFIED, default=True)
    # Art 6(1): filled by the issuing node from what is attached when the certificate is sent, so the
    # box says which documents travel with it, or how the judgment is sent instead.
    documents: list[AttachedDocument] = Field(default_factory=list, max_length=MAX_DOCUMENTS)
    judgment_sent_separately: SeparateChannel | None = None


# --- the certificate -------------------------------------------------------------------------


class MeasureFacts(BaseModel):
    model_config = ConfigDict(frozen=True)

    index: int
    category: MeasureCategory
    duration_days: int | None
    hours: int | None


class CertificateFacts(BaseModel):
    """What the workflows may know of a certificate: no names, dates of birth or addresses."""

    model_config = ConfigDict(frozen=True)

    issuing_state: str
    executing_state: str
    judgment_type: JudgmentType
    measures: list[MeasureFacts]
    probation_period_days: int | None
    supervision_start: date | None
    probation_end: date | None
    # Whether the person did not appear at the trial: the workflows need it to know whether
    # Art 11(1)(h) (consultation required) is in play; it identifies no one.
    in_absentia: bool
    custody_in_default: bool | None


# Box (l) where the approving prosecutor gives no post of their own (the approval's `post`).
DEFAULT_APPROVER_POST = "Public prosecutor"


class Certificate(FormModel):
    """CERTIFICATE referred to in Article 6 of Council Framework Decision 2008/947/JHA (Annex I)."""

    form_version: str = Field(default="2008/947+2009/299", description="the text of Annex I this follows")
    # box (a)
    issuing_state: MemberStateCode
    executing_state: MemberStateCode
    language: LanguageCode = Field(description="the language the free text of this certificate is written in")
    judgment: Judgment  # (b)
    probation_decision: ProbationDecision | None = None  # (c)
    contact_authority: ContactAuthority  # (d)
    person: SentencedPerson  # (e)
    forwarding_ground: ForwardingGround  # (f)
    offences: Offences  # (g)
    # (h): exactly one of the two versions of the box; validation checks it.
    appearance: Appearance | None = None
    appearance_pre_2009: AppearancePre2009 | None = None
    judgment_nature: JudgmentNature  # (i)
    supervision: Supervision  # (j) 1, 3, 6
    measures: list[Measure] = Field(min_length=1, max_length=100)  # (j) 2, 4, 5
    other_circumstances: OtherCircumstances = Field(default_factory=OtherCircumstances)  # (k)
    signature: Signature  # (l)

    @property
    def in_absentia(self) -> bool:
        if self.appearance is not None:
            return not self.appearance.appeared_in_person
        if self.appearance_pre_2009 is not None:
            return self.appearance_pre_2009.rendered_in_absentia
        return False

    def probation_period_days(self) -> int | None:
        """Box (j)3 where given, else box (i)2.3, else the total supervision of box (j)1."""
        for days in (
            self.supervision.probation_period_days,
            self.judgment_nature.probation_period_days,
            self.supervision.total_duration_days,
        ):
            if days is not None:
                return days
        return None

    def supervision_start(self) -> date | None:
        """The stated start, else the day the deciding instrument became final.

        Luxembourg runs the probation period "from the date of the judicial decision"; where the
        certificate gives no start, finality of the probation decision (or judgment) is the best proxy.
        """
        if self.supervision.starts_on is not None:
            return self.supervision.starts_on
        if self.probation_decision is not None:
            return self.probation_decision.final_on
        return self.judgment.final_on

    def judgment_identity(self) -> tuple[str, str, str]:
        """Art 6(5): what makes two certificates forward the same judgment: the court, the day it was delivered
        and its reference (box (b)), compared without regard to case or spacing."""
        return (identity_text(self.judgment.court), self.judgment.delivered_on.isoformat(),
                identity_text(self.judgment.reference))

    def signed_by(self, name: str, post: str | None, on: date) -> Certificate:
        """Art 6(3): box (l) is the approving prosecutor's signature: their name, post and the day of approval.
        The file reference and the stamp stay the case's; what the officer had written there does not."""
        signature = self.signature.model_copy(update={"name": name, "post": post or DEFAULT_APPROVER_POST,
                                                      "signed_on": on})
        return self.model_copy(update={"signature": signature})

    def facts(self) -> CertificateFacts:
        period = self.probation_period_days()
        start = self.supervision_start()
        return CertificateFacts(
            issuing_state=self.issuing_state,
            executing_state=self.executing_state,
            judgment_type=self.judgment_nature.judgment_type,
            measures=[
                MeasureFacts(index=i, category=m.category, duration_days=m.duration_days, hours=m.hours)
                for i, m in enumerate(self.measures)
            ],
            probation_period_days=period,
            supervision_start=start,
            probation_end=start + timedelta(days=period) if start is not None and period is not None else None,
            in_absentia=self.in_absentia,
            custody_in_default=self.judgment_nature.custody_in_default,
        )


__all__ = [
    "AbsentiaException",
    "Address",
    "Appearance",
    "AppearancePre2009",
    "AuthorityKind",
    "Certificate",
    "CertificateFacts",
    "ConditionalSentenceKind",
    "ContactAuthority",
    "ContactPerson",
    "CountryCode",
    "ForwardingBasis",
    "ForwardingGround",
    "IdentityDocument",
    "IdentityDocumentKind",
    "Judgment",
    "JudgmentNature",
    "Measure",
    "MeasureFacts",
    "MoveReason",
    "Offences",
    "OtherCircumstances",
    "PersonAddresses",
    "ProbationDecision",
    "RetrialResponse",
    "SentencedPerson",
    "Sex",
    "Supervision",
]


def identity_text(text: str | None) -> str:
    """A court's name or a reference as Art 6(5) compares them: spacing and case aside (Unicode case folding,
    so that "Gießen" and "GIESSEN", or a Greek final sigma, compare equal)."""
    return " ".join((text or "").split()).casefold()
