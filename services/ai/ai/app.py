"""Composition root of the ai service: wiring only."""

from __future__ import annotations

from fastapi import FastAPI
from leadflow.bus import Bus
from leadflow.bus.topology import AI_CLASSIFY, AI_LIVIA, AI_RPC, by_event_type, on
from leadflow.events import TRANSCRIBE_METHOD, LeadCreated, LeadUpdated, LiviaTurnRequested
from leadflow.http import ops_router
from leadflow.rpc import rpc_dispatcher
from leadflow.service import Service
from leadflow.settings import Settings

from ai.classifier import Classifier
from ai.config import AiSettings
from ai.groq_gateway import GroqJson, GroqSpeech
from ai.handlers import AiHandlers
from ai.livia.brain import Livia


def build(settings: Settings, bus: Bus) -> Service:
    config = AiSettings.of(settings)
    groq = (
        GroqJson(
            api_key=config.groq_api_key,
            base_url=config.groq_base_url,
            model=config.groq_model,
            timeout=config.groq_timeout_s,
        )
        if config.groq_api_key
        else None
    )
    rates = {
        "property": config.livia_property_monthly_rate,
        "vehicle": config.livia_vehicle_monthly_rate,
    }
    speech = GroqSpeech(groq.client, config.groq_stt_model) if groq is not None else None
    handlers = AiHandlers(
        bus=bus,
        classifier=Classifier(groq),
        livia=Livia(groq, rates),
        speech=speech,
        # Answer before the caller's own deadline, so it always hears "not transcribed".
        transcribe_deadline_s=max(config.rpc_timeout_s - 0.5, 0.5),
    )
    bus.consume(
        AI_CLASSIFY,
        by_event_type(
            on(LeadCreated, handlers.on_lead_event), on(LeadUpdated, handlers.on_lead_event)
        ),
    )
    bus.consume(AI_LIVIA, by_event_type(on(LiviaTurnRequested, handlers.on_turn_requested)))
    bus.serve(AI_RPC, rpc_dispatcher({TRANSCRIBE_METHOD: handlers.transcribe}))

    async def closed() -> None:
        if groq is not None:
            await groq.close()

    app = FastAPI(title="leadflow ai", openapi_url=None)
    app.include_router(ops_router("ai", {"broker": bus.ping}))
    return Service(name="ai", app=app, on_stop=[closed])
