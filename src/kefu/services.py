"""The running parts of one kefu instance, built once at start-up and handed to the routes."""

from __future__ import annotations

from dataclasses import dataclass

from kefu.conversation.pipeline import Pipeline
from kefu.engines.base import Engine
from kefu.knowledge.service import KnowledgeBase
from kefu.ops.settings import Settings
from kefu.store.repo import Store


@dataclass
class Services:
    settings: Settings
    store: Store
    kb: KnowledgeBase
    engine: Engine
    pipeline: Pipeline
