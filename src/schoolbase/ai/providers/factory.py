from schoolbase.ai.providers import Provider
from schoolbase.config import Settings


def provider_from_settings(settings: Settings) -> Provider:
    choice = settings.ai_provider
    if choice == "auto":
        choice = "anthropic" if settings.anthropic_api_key else "offline"
    if choice == "offline":
        from schoolbase.ai.providers.offline import OfflineProvider  # noqa: PLC0415

        return OfflineProvider()
    if settings.anthropic_api_key is None:
        raise ValueError("SCHOOLBASE_AI_PROVIDER=anthropic needs SCHOOLBASE_ANTHROPIC_API_KEY")
    from schoolbase.ai.providers.anthropic import AnthropicProvider  # noqa: PLC0415

    return AnthropicProvider(
        settings.anthropic_api_key.get_secret_value(),
        settings.anthropic_base_url,
        settings.ai_timeout_seconds,
        settings.ai_max_retries,
    )
