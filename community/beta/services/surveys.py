"""Per-build surveys defined by staff: rating scales, single and multiple choice, free text; results per question."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from community.beta.services import is_tester, require_staff, required_text
from community.errors import Conflict, Forbidden, ValidationFailed
from community.extensions import db
from community.models import (
    BetaBuild,
    QuestionKind,
    Survey,
    SurveyQuestion,
    SurveyResponse,
    User,
)

MAX_QUESTIONS = 20
MAX_OPTIONS = 10
MAX_ANSWER = 2000


def create_survey(staff: User, build: BetaBuild, title: object, questions: list[dict[str, Any]]) -> Survey:
    """Define a survey for a build; questions are dicts of kind, prompt, options (choices), scale_max (ratings)."""
    require_staff(staff)
    survey = Survey(build_id=build.id, title=required_text(title, "title", _("Title"), 200))
    if not questions or len(questions) > MAX_QUESTIONS:
        message = _("A survey has 1 to %(n)d questions.", n=MAX_QUESTIONS)
        raise ValidationFailed(message, {"questions": [message]})
    for position, q in enumerate(questions):
        field_name = f"questions.{position}"
        try:
            kind = QuestionKind(q.get("kind"))
        except ValueError:
            message = _("Question %(n)d: choose rating, single, multiple or text.", n=position + 1)
            raise ValidationFailed(message, {field_name: [message]}) from None
        prompt = required_text(q.get("prompt"), field_name, _("Question %(n)d", n=position + 1), 300)
        options = [str(o).strip() for o in (q.get("options") or []) if str(o).strip()]
        if kind in (QuestionKind.single, QuestionKind.multiple) and not (2 <= len(options) <= MAX_OPTIONS):
            message = _("Question %(n)d needs 2 to %(max)d choices.", n=position + 1, max=MAX_OPTIONS)
            raise ValidationFailed(message, {field_name: [message]})
        scale = int(q.get("scale_max") or 5)
        if kind is QuestionKind.rating and not 2 <= scale <= 10:
            message = _("Question %(n)d: a rating scale goes up to 2–10.", n=position + 1)
            raise ValidationFailed(message, {field_name: [message]})
        survey.questions.append(SurveyQuestion(position=position, kind=kind, prompt=prompt,
                                               options=options if kind in (QuestionKind.single, QuestionKind.multiple)
                                               else [], scale_max=scale))
    db.session.add(survey)
    db.session.flush()
    return survey


def surveys_for(build: BetaBuild) -> list[Survey]:
    """The build's surveys, oldest first."""
    return list(db.session.scalars(select(Survey).where(Survey.build_id == build.id).order_by(Survey.id)))


def response_of(survey: Survey, user: User) -> SurveyResponse | None:
    """The user's response, if they answered."""
    return db.session.scalar(select(SurveyResponse).where(SurveyResponse.survey_id == survey.id,
                                                          SurveyResponse.user_id == user.id))


def _answer(q: SurveyQuestion, raw: Any) -> Any:
    name = f"q{q.id}"
    if raw in (None, "", []):
        return None
    if q.kind is QuestionKind.rating:
        try:
            value = int(raw)
        except (TypeError, ValueError):
            value = 0
        if not 1 <= value <= q.scale_max:
            message = _("Pick a rating from 1 to %(n)d.", n=q.scale_max)
            raise ValidationFailed(message, {name: [message]})
        return value
    if q.kind is QuestionKind.single:
        if raw not in q.options:
            message = _("Pick one of the choices.")
            raise ValidationFailed(message, {name: [message]})
        return raw
    if q.kind is QuestionKind.multiple:
        values = raw if isinstance(raw, list) else [raw]
        if any(v not in q.options for v in values):
            message = _("Pick among the choices.")
            raise ValidationFailed(message, {name: [message]})
        return [o for o in q.options if o in values]
    text = str(raw).strip()
    if len(text) > MAX_ANSWER:
        message = _("At most %(n)d characters.", n=MAX_ANSWER)
        raise ValidationFailed(message, {name: [message]})
    return text or None


def respond(user: User, survey: Survey, answers: dict[str, Any]) -> SurveyResponse:
    """A tester answers a survey once; answers map "q<id>" (or the id) to the value."""
    if not is_tester(survey.build.program_id, user):
        raise Forbidden(_("Only the program's testers can answer its surveys."))
    if response_of(survey, user) is not None:
        raise Conflict(_("You already answered this survey. Thank you!"))
    stored: dict[str, Any] = {}
    for q in survey.questions:
        raw = answers.get(f"q{q.id}", answers.get(str(q.id)))
        value = _answer(q, raw)
        if value is not None:
            stored[str(q.id)] = value
    if not stored:
        message = _("Answer at least one question.")
        raise ValidationFailed(message, {"answers": [message]})
    response = SurveyResponse(survey_id=survey.id, user_id=user.id, answers=stored)
    db.session.add(response)
    db.session.flush()
    return response


@dataclass
class QuestionResult:
    question: SurveyQuestion
    answered: int = 0
    average: float | None = None
    counts: dict[str, int] = field(default_factory=dict)  # choice (or rating value) -> count
    texts: list[str] = field(default_factory=list)


def results(survey: Survey) -> tuple[int, list[QuestionResult]]:
    """How many responded, and per question: the average (ratings), the counts (choices), the texts."""
    responses = list(db.session.scalars(select(SurveyResponse).where(SurveyResponse.survey_id == survey.id)))
    out = []
    for q in survey.questions:
        r = QuestionResult(q)
        if q.kind is QuestionKind.rating:
            r.counts = {str(v): 0 for v in range(1, q.scale_max + 1)}
        elif q.kind in (QuestionKind.single, QuestionKind.multiple):
            r.counts = dict.fromkeys(q.options, 0)
        values = [resp.answers.get(str(q.id)) for resp in responses]
        values = [v for v in values if v not in (None, "", [])]
        r.answered = len(values)
        for v in values:
            if q.kind is QuestionKind.text:
                r.texts.append(str(v))
            else:
                for item in (v if isinstance(v, list) else [v]):
                    r.counts[str(item)] = r.counts.get(str(item), 0) + 1
        if q.kind is QuestionKind.rating and values:
            r.average = sum(int(str(v)) for v in values) / len(values)
        out.append(r)
    return len(responses), out
