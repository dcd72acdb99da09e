"""A turn as a pipeline of declared stages (the engine runs `Engine.stages` in order, dialogue/engine.py):

1. `Understand`: the text that is searched and classified (a follow-up gets the previous question's subject,
   dialogue/context.py) and the message as it is stored (PII redacted once, by the storage gate);
2. `Planning`: the dialogue manager's plan (intent, flows, policy; dialogue/manager.py); flows, small talk,
   clarifications and handoffs reply here;
3. `Retrieval`: the pages that answer the question (once: the plan may already have found them);
4. `Composing`: the first composer that applies replies: nothing relevant (`NothingRelevant`), an answer from
   the pages (`FromPages`, the answer composer in its answer.mode), or a free conversation with the model when
   there is no knowledge base (`FreeConversation`).

Then the Turn (dialogue/turn.py) streams the reply through the output guard and stores everything the stages kept
in `TurnContext.later` with the reply, in one write transaction; its TurnDone (edgebot/events.py) goes to the
subscribers (metrics, tracing, the turn lock's release, shadow runs).

A stage either lets the turn go on (None) or ends it with its reply (a Turn). New behaviour is a new stage or a
new composer, not a branch inside the engine."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from edgebot.dialogue.context import MAX_LOOKBACK, contextual_query, leans_on_previous
from edgebot.dialogue.manager import NO_HUMAN, YES_HUMAN, Plan
from edgebot.dialogue.turn import FixedReply, Turn
from edgebot.events import TurnDone
from edgebot.kb import Hit
from edgebot.storage.unit import Later
from edgebot.telemetry import tracing

if TYPE_CHECKING:  # the engine runs the stages (same package)
    from edgebot.dialogue.engine import Engine

OFFER_HUMAN = "Would you like me to put you in touch with a person?"
CONTACT = "You can reach the team: {contact}"
TOPICS = "I can help with questions about {topics}."


@dataclass
class TurnContext:
    """One turn as it goes through the stages: what the visitor said and what each stage found."""

    session_id: str
    text: str
    loop: asyncio.AbstractEventLoop | None = None
    later: Later = field(default_factory=Later)  # what the turn stores with its reply, in one transaction
    query: str = ""  # what is classified and searched (a follow-up: with the previous question's subject)
    redacted: str = ""  # the message as stored (PII replaced by placeholders)
    values: dict[str, str] = field(default_factory=dict)  # the placeholders' originals (token vault only)
    plan: Plan | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # what the reply reports (decision, intent, slots, ...)
    preface: str = ""  # said before the reply (an open handoff nobody took: the bot is back)
    question: str = ""  # what the pages are asked
    hits: list[Hit] | None = None  # None: no knowledge base; []: nothing relevant


class Stage(Protocol):
    def run(self, engine: Engine, ctx: TurnContext) -> Turn | None:
        """Let the turn go on (None), or end it with its reply."""
        ...


class Composer(Protocol):
    """One way to reply once the pages were searched."""

    def applies(self, engine: Engine, ctx: TurnContext) -> bool: ...

    def reply(self, engine: Engine, ctx: TurnContext) -> Turn: ...


class Understand:
    def run(self, engine: Engine, ctx: TurnContext) -> Turn | None:
        # a follow-up ("and on Sundays?") is searched with the previous question's subject; the transcript is read
        # for those only
        ctx.query = (contextual_query(engine.sessions.messages(ctx.session_id, last=2 * MAX_LOOKBACK), ctx.text)
                     if leans_on_previous(ctx.text) else ctx.text)
        ctx.redacted, ctx.values = engine.split(ctx.text)  # once: for storage and for the model's prompt
        return None


class Planning:
    def run(self, engine: Engine, ctx: TurnContext) -> Turn | None:
        if engine.dialogue is None:
            return None
        plan = ctx.plan = engine.dialogue.plan(ctx.session_id, ctx.text, ctx.query, ctx.later)
        if plan.classification is not None and engine.drift is not None and not plan.answers_bot:
            intent, confidence = plan.classification.best
            engine.drift.observe(ctx.session_id, ctx.redacted, None if plan.classification.oos else intent,
                                 confidence, plan.classification.oos, plan.embedding, ctx.later)
        ctx.preface = plan.preface
        ctx.meta = {"decision": plan.decision, "intent": plan.intent, "confidence": plan.confidence,
                    "quick_replies": plan.quick_replies, "handoff_id": plan.handoff_id, "actions": plan.actions,
                    "slots": plan.slots, "outcome": plan.outcome}
        if plan.kind == "answer":
            return None
        engine.store_user(ctx)
        if plan.kind == "relay":  # a person has the conversation: no bot reply
            return engine.turn(ctx, FixedReply("", "handoff"), store_reply=False)
        return engine.turn(ctx, FixedReply(plan.text, "stop"))


class Retrieval:
    def run(self, engine: Engine, ctx: TurnContext) -> Turn | None:
        plan = ctx.plan
        ctx.question = plan.query if plan is not None and plan.query else ctx.query
        ctx.hits = (plan.hits if plan is not None and plan.hits
                    else engine.retrieve(ctx.question, plan.vector if plan is not None else None))
        return None


class Composing:
    def __init__(self, composers: tuple[Composer, ...] | None = None) -> None:
        self.composers = composers or (NothingRelevant(), FromPages(), FreeConversation())

    def run(self, engine: Engine, ctx: TurnContext) -> Turn | None:
        composer = next(c for c in self.composers if c.applies(engine, ctx))
        return composer.reply(engine, ctx)


class NothingRelevant:
    """The pages were searched and nothing answers: say so, and offer a person where someone can take the
    conversation, else say what the pages cover and how to reach the team (from the pages)."""

    def applies(self, engine: Engine, ctx: TurnContext) -> bool:
        return ctx.hits is not None and not ctx.hits

    def reply(self, engine: Engine, ctx: TurnContext) -> Turn:
        engine.store_user(ctx)
        ctx.meta["decision"] = "dont_know"
        if engine.dialogue is not None and engine.dialogue.agents():
            engine.dialogue.offer_human(ctx.session_id, "nothing relevant in the knowledge base",
                                        ctx.plan.state if ctx.plan is not None else None, ctx.later)
            ctx.meta["quick_replies"] = [YES_HUMAN, NO_HUMAN]
            return engine.turn(ctx, FixedReply(f"{engine.dont_know()} {OFFER_HUMAN}"))
        found = engine.contact()
        covered = engine.topics() if engine.dialogue is None else ""  # a catalog says it in its own `help`
        reply = " ".join(part for part in (engine.dont_know(), TOPICS.format(topics=covered) if covered else "",
                                           CONTACT.format(contact=found) if found else "") if part)
        return engine.turn(ctx, FixedReply(reply))


class FromPages:
    """An answer from the relevant pages, by the answer composer (dialogue/answer/) in its answer.mode."""

    def applies(self, engine: Engine, ctx: TurnContext) -> bool:
        return bool(ctx.hits)

    def reply(self, engine: Engine, ctx: TurnContext) -> Turn:
        assert ctx.hits
        shown = engine.shown(ctx)
        route = engine.route(ctx)
        composing = tracing.start("compose", variant=route.name)
        answer = engine.composer.compose(
            ctx.question, shown, ctx.hits, vector=ctx.plan.vector if ctx.plan is not None else None,
            instructions=route.instructions, meta=ctx.meta, focus=ctx.text if ctx.question != ctx.text else "",
            submit=lambda messages, options: route.scheduler.submit(messages, options, ctx.loop))
        engine.store_user(ctx)
        return engine.turn(ctx, answer.source, answer.citations, guard=route.guard, observer=engine.ending(composing))


class FreeConversation:
    """No knowledge base: the model answers from the conversation (the system prompt and recent history)."""

    def applies(self, engine: Engine, ctx: TurnContext) -> bool:
        return ctx.hits is None

    def reply(self, engine: Engine, ctx: TurnContext) -> Turn:
        shown = engine.shown(ctx)
        route = engine.route(ctx)
        messages = engine.build_prompt(ctx.session_id, shown, instructions=route.instructions, scheduler=route.scheduler)
        generating = tracing.start("generate", variant=route.name)
        job = route.scheduler.submit(messages, engine.options, ctx.loop)
        engine.store_user(ctx)
        ended = engine.ending(generating)

        def observer(done: TurnDone) -> None:
            ended(done)
            if engine.shadow is not None and done.finish_reason in ("stop", "length"):
                engine.shadow.after(ctx.session_id, shown, messages, done.text)
        return engine.turn(ctx, job, guard=route.guard, observer=observer)


STAGES: tuple[Stage, ...] = (Understand(), Planning(), Retrieval(), Composing())
