"""Build the configured engine from settings."""

from __future__ import annotations

from pydantic import SecretStr

from kefu.engines.base import Engine, SamplingParams
from kefu.ops.settings import EngineSettings


def build_engine(cfg: EngineSettings) -> Engine:
    if cfg.backend == "openai":
        from kefu.engines.openai_compat import OpenAICompatEngine

        if not cfg.base_url:
            raise ValueError("KEFU_ENGINE__BASE_URL is required for the openai back-end")
        return OpenAICompatEngine(cfg.base_url, cfg.model, _secret(cfg.api_key), timeout_s=cfg.timeout_s)
    if cfg.backend == "ollama":
        from kefu.engines.ollama_native import OllamaEngine

        return OllamaEngine(
            cfg.base_url or "http://127.0.0.1:11434", cfg.model, cfg.context_window, timeout_s=cfg.timeout_s
        )
    from kefu.engines.llamacpp import LlamaCppEngine

    return LlamaCppEngine(cfg.model, cfg.model_path, cfg.context_window, cfg.n_threads, timeout_s=cfg.timeout_s)


def sampling(cfg: EngineSettings) -> SamplingParams:
    return SamplingParams(temperature=cfg.temperature, top_p=cfg.top_p, max_tokens=cfg.max_tokens)


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None
